//! The `newspipe` binary: parse flags, resolve one configuration, run.

mod cli;
mod exit_codes;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use newspipe::config::{LogFormat, Progress, Settings};
use newspipe::pipeline::{self, RunExtras};
use newspipe::sink::jsonl::JsonlSink;

use crate::cli::{Cli, Command, EvalArgs, RunArgs, TrainArgs};
use crate::exit_codes::Exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout and usage errors to stderr.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            }
            .into();
        }
    };
    let settings = match Settings::load(cli.config.as_deref(), std::env::vars(), &cli.overrides()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("newspipe: {e}");
            return Exit::Usage.into();
        }
    };
    init_logging(&settings);
    match dispatch(&cli, &settings) {
        Ok(code) => code.into(),
        Err(e) => {
            if is_broken_pipe(&e) {
                // `newspipe run dir | head` is a normal way to stop early.
                return Exit::Success.into();
            }
            eprintln!("newspipe: error: {e:#}");
            let config_error = e
                .downcast_ref::<newspipe::error::Error>()
                .is_some_and(|e| matches!(e, newspipe::error::Error::Config(_)));
            if config_error {
                Exit::Usage.into()
            } else {
                Exit::Failure.into()
            }
        }
    }
}

fn dispatch(cli: &Cli, settings: &Settings) -> anyhow::Result<Exit> {
    match &cli.command {
        Command::Run(args) => run(args, settings, cli.quiet),
        Command::Serve(_) => serve(settings),
        Command::Kafka(_) => kafka(settings),
        Command::TrainTagger(args) => train_tagger(args),
        Command::EvalTagger(args) => eval_tagger(args, settings),
        Command::CheckConfig => {
            let toml = toml::to_string(settings).context("cannot print the configuration")?;
            println!("# newspipe configuration: valid; resolved from every layer\n\n{toml}");
            Ok(Exit::Success)
        }
    }
}

fn run(args: &RunArgs, settings: &Settings, quiet: bool) -> anyhow::Result<Exit> {
    let sink_options = newspipe::sink::SinkOptions::from_config(&settings.output);
    let sink = newspipe::sink::open_with(&settings.output.path, &sink_options)
        .with_context(|| format!("cannot open output {}", settings.output.path))?;
    let rejects = match settings.rejects_path() {
        Some(p) => Some(
            JsonlSink::create(&p)
                .with_context(|| format!("cannot open rejects file {}", p.display()))?,
        ),
        None => None,
    };
    let show_progress = match settings.log.progress {
        Progress::Always => true,
        Progress::Never => false,
        Progress::Auto => std::io::stderr().is_terminal(),
    };
    let progress = show_progress.then(progress_bar);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let summary = runtime.block_on(async {
        pipeline::run(
            settings,
            args.inputs.clone(),
            sink,
            RunExtras { rejects, progress },
            shutdown_signal(),
        )
        .await
    })?;
    if let Some(path) = &args.summary_json {
        let json = serde_json::to_vec_pretty(&summary).context("cannot serialize summary")?;
        std::fs::write(path, json)
            .with_context(|| format!("cannot write summary to {}", path.display()))?;
    }
    if !quiet {
        eprint!("{}", summary.render());
    }
    Ok(if summary.interrupted {
        Exit::Interrupted
    } else if summary.rejected_total() > 0 {
        Exit::PartialRejects
    } else {
        Exit::Success
    })
}

fn train_tagger(args: &TrainArgs) -> anyhow::Result<Exit> {
    use newspipe::ner::{train, TrainOptions};
    let mut opts = TrainOptions::default();
    if let Some(e) = args.epochs {
        opts.epochs = e;
    }
    let started = std::time::Instant::now();
    let bytes = train(&args.train, Some(&args.dev), &opts, |r| {
        let f1 = r.dev.as_ref().map_or(f64::NAN, |d| d.overall_f1());
        eprintln!(
            "epoch {:>2}: {} sentences wrong, dev F1 {f1:.4} ({:.1?})",
            r.epoch,
            r.mistakes,
            started.elapsed()
        );
    })
    .with_context(|| format!("cannot train on {}", args.train.display()))?;
    newspipe::serve::state::write_atomic(&args.output, &bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!(
        "wrote {} ({} bytes) in {:.1?}",
        args.output.display(),
        bytes.len(),
        started.elapsed()
    );
    Ok(Exit::Success)
}

fn eval_tagger(args: &EvalArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let tagger = newspipe::stage::entities::load_tagger(&settings.entities)?;
    let report = newspipe::ner::evaluate(&tagger, &args.file)
        .with_context(|| format!("cannot evaluate on {}", args.file.display()))?;
    println!("{report}");
    match args.min_f1 {
        Some(min) if report.overall_f1() < min => {
            eprintln!(
                "newspipe: overall F1 {:.4} is below --min-f1 {min}",
                report.overall_f1()
            );
            Ok(Exit::Failure)
        }
        _ => Ok(Exit::Success),
    }
}

fn serve(settings: &Settings) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async { newspipe::serve::run(settings, shutdown_signal()).await })?;
    Ok(Exit::Success)
}

#[cfg(feature = "kafka")]
fn kafka(settings: &Settings) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async { newspipe::kafka::run(settings, shutdown_signal()).await })?;
    Ok(Exit::Success)
}

#[cfg(not(feature = "kafka"))]
fn kafka(settings: &Settings) -> anyhow::Result<Exit> {
    settings.kafka.validate()?;
    Err(newspipe::error::Error::Config(
        "this newspipe was built without Kafka support; rebuild with `cargo build --release --features kafka`"
            .into(),
    )
    .into())
}

/// Install SIGINT/SIGTERM handlers now (a signal that arrives during startup
/// must not kill the process) and return a future that resolves on either.
/// Must be called inside the runtime.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                // No handler: never resolve; the default action still applies.
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(term) => {}
            () = wait(int) => {}
        }
    }
}

fn progress_bar() -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    let style =
        indicatif::ProgressStyle::with_template("{spinner} {pos} articles  {msg}  [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    pb.set_style(style);
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    // A second init (tests calling main twice) fails harmlessly.
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.without_time().try_init(),
    };
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

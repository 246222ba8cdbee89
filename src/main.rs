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

use crate::cli::{Cli, Command, RunArgs};
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
            Exit::Failure.into()
        }
    }
}

fn dispatch(cli: &Cli, settings: &Settings) -> anyhow::Result<Exit> {
    match &cli.command {
        Command::Run(args) => run(args, settings, cli.quiet),
        Command::CheckConfig => {
            println!(
                "{}",
                newspipe::config::DEFAULT_TOML
                    .lines()
                    .next()
                    .unwrap_or_default()
            );
            println!("{settings:#?}");
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
    let summary = runtime.block_on(pipeline::run(
        settings,
        args.inputs.clone(),
        sink,
        RunExtras { rejects, progress },
        async {
            // If the handler cannot be installed, never resolve: the default
            // SIGINT behaviour (exit) still applies.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        },
    ))?;
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

//! The `newspipe` binary: parse flags, resolve one configuration, run.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod cli;
mod exit_codes;

use std::io::IsTerminal;
use std::process::ExitCode;

use std::path::Path;

use anyhow::Context;
use clap::Parser;
use newspipe::batch::{BatchSink, Learning};
use newspipe::config::{LogFormat, Progress, Settings};
use newspipe::error::ErrorKind;
use newspipe::pipeline::Core;
use newspipe::sink::parquet::ParquetOptions;
use newspipe::summary::Summary;

use crate::cli::{
    BoilerplateCommand, Cli, Command, EvalArgs, LearnArgs, RunArgs, SparkCommand, TrainArgs,
};
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
            return exit_for_library_error(&e).into();
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
            e.chain()
                .find_map(|c| c.downcast_ref::<newspipe::error::Error>())
                .map_or(Exit::Failure, exit_for_library_error)
                .into()
        }
    }
}

/// The exit code a library error means: see [`newspipe::error::Error::kind`].
fn exit_for_library_error(e: &newspipe::error::Error) -> Exit {
    match e.kind() {
        ErrorKind::Config => Exit::Usage,
        ErrorKind::Runtime => Exit::Failure,
    }
}

fn dispatch(cli: &Cli, settings: &Settings) -> anyhow::Result<Exit> {
    match &cli.command {
        Command::Run(args) => run(args, settings, cli.quiet),
        Command::Serve(args) => serve(args.summary_json.as_deref(), settings, cli.quiet),
        Command::Kafka(args) => kafka(args.summary_json.as_deref(), settings, cli.quiet),
        Command::TrainTagger(args) => train_tagger(args, cli.quiet),
        Command::EvalTagger(args) => eval_tagger(args, settings),
        Command::Boilerplate(BoilerplateCommand::Learn(args)) => boilerplate_learn(args, settings),
        Command::Spark(command) => spark(command, settings),
        Command::CheckConfig => {
            // Load the rules file and the model too: a bad one is a bad configuration.
            build_core(settings)?;
            let toml = toml::to_string(settings).context("cannot print the configuration")?;
            println!("# newspipe configuration: valid; resolved from every layer\n\n{toml}");
            Ok(Exit::Success)
        }
    }
}

/// Build the stages (rules file, model) before any mode opens an output or
/// touches its state.
fn build_core(settings: &Settings) -> newspipe::error::Result<Core> {
    Core::build(&settings.pipeline, settings.stages())
}

/// Refuse to start when standard output was closed (`newspipe run DIR >&-`):
/// the records would go nowhere and be reported as written. Rust's runtime
/// opens `/dev/null` read-write on a standard descriptor it finds closed at
/// start, so that is what a closed stdout looks like here; a shell's
/// `>/dev/null` opens it write-only, and is left alone.
fn stdout_is_open() -> anyhow::Result<()> {
    use rustix::fs::{fstat, stat, FileType, OFlags};
    use std::os::fd::AsFd;
    let stdout = std::io::stdout();
    let fd = stdout.as_fd();
    // Python's `subprocess.DEVNULL` also opens /dev/null read-write: the
    // message says how to discard the records on purpose.
    let closed = anyhow::anyhow!(
        "standard output is closed (or is /dev/null opened read-write, which looks the same); \
         give -o FILE, or -o /dev/null to discard the records"
    );
    let st = fstat(fd).map_err(|_| anyhow::anyhow!("standard output is closed"))?;
    let is_null = FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
        && stat("/dev/null").is_ok_and(|null| null.st_rdev == st.st_rdev);
    let read_write =
        rustix::fs::fcntl_getfl(fd).is_ok_and(|fl| fl & OFlags::ACCMODE == OFlags::RDWR);
    if is_null && read_write {
        return Err(closed);
    }
    Ok(())
}

/// The async runtime, and the shutdown future of [`shutdown_signal`] with
/// its handlers already installed, before any slow start-up work.
fn runtime_with_signals() -> anyhow::Result<(
    tokio::runtime::Runtime,
    impl std::future::Future<Output = ()>,
)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let shutdown = {
        let _inside = runtime.enter();
        shutdown_signal()
    };
    Ok((runtime, shutdown))
}

/// Write `--summary-json` (through a temporary file: never a partial or
/// empty one, and a device or link target is written, not replaced) and
/// print the summary unless quiet.
fn report(summary: &Summary, json_path: Option<&Path>, quiet: bool) -> anyhow::Result<()> {
    if let Some(path) = json_path {
        use std::io::Write;
        let json = serde_json::to_vec_pretty(summary).context("cannot serialize summary")?;
        let mut file = newspipe::sink::OutputFile::create(path)?;
        file.write_all(&json)
            .map_err(anyhow::Error::from)
            .and_then(|()| file.commit().map_err(anyhow::Error::from))
            .with_context(|| format!("cannot write summary to {}", path.display()))?;
    }
    if !quiet {
        eprint!("{}", summary.render());
    }
    Ok(())
}

fn run(args: &RunArgs, settings: &Settings, quiet: bool) -> anyhow::Result<Exit> {
    newspipe::batch::check_outputs(
        &args.inputs,
        &settings.output,
        args.summary_json.as_deref(),
        args.force,
    )?;
    let config_error = |msg: String| anyhow::anyhow!(newspipe::error::Error::Config(msg));
    let learning = if settings.boilerplate.learning() {
        Learning::prepare(&settings.output.path, &args.against, args.force)?
    } else {
        Learning::default()
    };
    let dedup_key = newspipe::stage::dedup::Deduplicator::config_key(&settings.dedup);
    let against = if settings.dedup.enabled {
        let mut all = Vec::new();
        for a in &args.against {
            all.extend(newspipe::signatures::read_against(a, &dedup_key)?);
        }
        all
    } else {
        if !args.against.is_empty() && !settings.boilerplate.learning() {
            return Err(config_error(
                "--against needs dedup or boilerplate learning on: with both off there is \
                 nothing to continue from"
                    .into(),
            ));
        }
        Vec::new()
    };
    let listed = match &args.files_from {
        None => None,
        Some(list) => {
            if args.inputs.len() != 1 || !args.inputs[0].is_dir() {
                return Err(config_error(
                    "--files-from needs exactly one INPUT, the directory the paths are in".into(),
                ));
            }
            Some(read_listing(list)?)
        }
    };
    let verdicts = match &args.verdicts {
        None => None,
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open --verdicts {}", path.display()))?;
            Some(newspipe::cluster::read_verdicts(
                &mut std::io::BufReader::new(file),
            )?)
        }
    };
    let start = newspipe::batch::Start {
        learning,
        against,
        verdicts,
        listed,
    };
    if settings.output.path == "-" {
        stdout_is_open()?;
    }
    // Signal handlers first: from here on a SIGINT stops the run cleanly.
    let (runtime, shutdown) = runtime_with_signals()?;
    let core = build_core(settings)?;
    let mut sink = BatchSink::open(&settings.output)
        .with_context(|| format!("cannot open output {}", settings.output.path))?;
    if let Some(dest) = signatures_path(settings) {
        let writer = newspipe::signatures::SignatureWriter::create(
            &dest,
            &dedup_key,
            settings.dedup.near_params().cloned(),
        )
        .with_context(|| format!("cannot write dedup signatures to {}", dest.display()))?;
        sink = sink.with_signatures(writer);
    }
    let show_progress = match settings.log.progress {
        Progress::Always => true,
        Progress::Never => false,
        Progress::Auto => std::io::stderr().is_terminal(),
    };
    let progress = show_progress.then(progress_bar);
    let summary = runtime.block_on(async {
        newspipe::batch::run(
            &core,
            args.inputs.clone(),
            &settings.input,
            sink,
            progress,
            shutdown,
            start,
        )
        .await
    })?;
    if args.force && !summary.interrupted {
        remove_stale_beside(settings)?;
    }
    report(&summary, args.summary_json.as_deref(), quiet)?;
    Ok(if summary.interrupted {
        Exit::Interrupted
    } else if summary.rejected_total() > 0 {
        Exit::PartialRejects
    } else {
        Exit::Success
    })
}

/// Where a run writes its dedup signatures: beside a regular output file,
/// when dedup is on and `output.signatures` is not off.
fn signatures_path(settings: &Settings) -> Option<std::path::PathBuf> {
    let out = &settings.output;
    let special = std::fs::metadata(&out.path).is_ok_and(|m| !m.is_file());
    let plain_file =
        out.path != "-" && !special && out.partition_by == newspipe::sink::PartitionBy::None;
    (out.signatures && settings.dedup.enabled && plain_file).then(|| {
        newspipe::signatures::signatures_dir(Path::new(&out.path))
            .join(newspipe::signatures::DEDUP_FILE)
    })
}

/// After a `--force` run: remove what an earlier run left beside `-o`
/// and this one did not replace (its learned boilerplate when this run
/// learned none, its signatures when this one wrote none), so the
/// signatures directory describes this output only.
fn remove_stale_beside(settings: &Settings) -> anyhow::Result<()> {
    let out = &settings.output;
    let special = std::fs::metadata(&out.path).is_ok_and(|m| !m.is_file());
    if out.path == "-" || special || out.partition_by != newspipe::sink::PartitionBy::None {
        return Ok(());
    }
    let dir = newspipe::signatures::signatures_dir(Path::new(&out.path));
    let stale = [
        (
            newspipe::signatures::DEDUP_FILE,
            signatures_path(settings).is_none(),
        ),
        (
            newspipe::batch::LEARNED_FILE,
            !settings.boilerplate.learning(),
        ),
    ];
    for (name, _) in stale.iter().filter(|(_, stale)| *stale) {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!("removed the earlier run's {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!(
                    "cannot remove the earlier run's {}",
                    path.display()
                )))
            }
        }
    }
    Ok(())
}

/// The paths of a `--files-from` file (or `-n`ewline-separated JSON strings,
/// as `newspipe spark list` prints them).
fn read_listing(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --files-from {}", path.display()))?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            if l.starts_with('"') {
                serde_json::from_str::<String>(l)
                    .with_context(|| format!("--files-from {}: bad line {l}", path.display()))
            } else {
                Ok(l.to_owned())
            }
        })
        .collect()
}

/// `newspipe spark ...`: the per-article steps of a cluster run.
fn spark(command: &SparkCommand, settings: &Settings) -> anyhow::Result<Exit> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let near = settings
        .dedup
        .near_params()
        .filter(|_| settings.dedup.enabled);
    match command {
        SparkCommand::List { input } => {
            if !input.is_dir() {
                anyhow::bail!(newspipe::error::Error::Config(format!(
                    "spark list: {} is not a directory",
                    input.display()
                )));
            }
            for rel in newspipe::cluster::list(input, &settings.input) {
                serde_json::to_writer(&mut out, &rel)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
        SparkCommand::Fingerprint { input } => {
            if settings.boilerplate.learning() {
                anyhow::bail!(newspipe::error::Error::Config(
                    "spark: boilerplate learning is not available on a cluster yet; \
                     set boilerplate.learn = false"
                        .into()
                ));
            }
            let mut stages = settings.clone();
            // Entities come after the verdict: the writing run tags them.
            stages.entities.enabled = false;
            let core = build_core(&stages)?;
            let mut listing = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut listing)
                .context("cannot read the file list on standard input")?;
            let rels = listing
                .lines()
                .filter(|l| !l.is_empty())
                .map(serde_json::from_str::<String>)
                .collect::<Result<Vec<_>, _>>()
                .context("the file list must be JSON strings, one per line")?;
            newspipe::cluster::fingerprint(&core, input, &rels, &settings.input, &mut out)?;
        }
        SparkCommand::Verify => {
            newspipe::cluster::verify(near, &mut std::io::stdin().lock(), &mut out)?;
        }
        SparkCommand::Resolve => {
            let stats = newspipe::cluster::resolve(near, &mut std::io::stdin().lock(), &mut out)?;
            tracing::info!(
                "resolved {} components of {} members, the largest {}",
                stats.components,
                stats.members,
                stats.largest
            );
        }
    }
    Ok(Exit::Success)
}

/// `newspipe boilerplate learn`: the learning pass alone, printed as rules.
fn boilerplate_learn(args: &LearnArgs, settings: &Settings) -> anyhow::Result<Exit> {
    if args
        .inputs
        .iter()
        .any(|i| i.as_os_str() == newspipe::source::STDIN)
    {
        // Learning reads its inputs in a pass of its own; a stream read once
        // would teach nothing, and an empty report would look like a verdict.
        return Err(newspipe::error::Error::Config(
            "boilerplate learn: standard input (`-`) cannot be learned from; give files or directories"
                .to_owned(),
        )
        .into());
    }
    newspipe::batch::check_inputs(&args.inputs)?;
    let earlier = args
        .against
        .iter()
        .map(|a| newspipe::batch::load_learned(a))
        .collect::<newspipe::error::Result<Vec<_>>>()?;
    let (runtime, shutdown) = runtime_with_signals()?;
    let core = build_core(settings)?;
    let mut shutdown = Box::pin(shutdown);
    let learned = runtime.block_on(newspipe::batch::learn(
        &core,
        &args.inputs,
        &settings.input,
        &earlier,
        0, // nothing follows this pass: keep no input
        &mut shutdown,
    ))?;
    let Some((learned, _)) = learned else {
        return Ok(Exit::Interrupted);
    };
    print!(
        "{}",
        newspipe::boilerplate::report::as_rules(&learned, args.near_misses)
    );
    let articles = |l: &newspipe::boilerplate::Learned| -> u64 {
        l.sources.values().map(|s| u64::from(s.articles)).sum()
    };
    let read = articles(&learned)
        - earlier
            .iter()
            .map(articles)
            .sum::<u64>()
            .min(articles(&learned));
    if read == 0 {
        // Every input unreadable, empty or not an article: an empty report
        // must not pass for "no chrome found".
        tracing::warn!("learned from no article: no input gave one (see `newspipe run` for why)");
        return Ok(Exit::PartialRejects);
    }
    tracing::info!("learned from {read} articles");
    Ok(Exit::Success)
}

/// `newspipe train-tagger`: one line per epoch and one for the file written,
/// on stderr; `-q` keeps only errors.
fn train_tagger(args: &TrainArgs, quiet: bool) -> anyhow::Result<Exit> {
    use crate::cli::LearnerArg;
    use newspipe::ner::{train, CrfOptions, Learner, TrainOptions};
    let mut opts = TrainOptions {
        lexicon: Some(args.lexicon.clone()),
        two_pass: !args.one_pass,
        learner: match args.learner {
            LearnerArg::Crf => Learner::Crf(CrfOptions {
                eta0: args.crf_eta0,
                c2: args.crf_c2,
            }),
            LearnerArg::Perceptron => Learner::Perceptron,
        },
        ..TrainOptions::default()
    };
    if let Some(b) = args.bits {
        opts.bits = b;
    }
    if let Some(e) = args.epochs {
        opts.epochs = e;
    }
    if let Some(s) = args.seed {
        opts.seed = s;
    }
    if let Some(p) = args.prune {
        opts.prune = p;
    }
    let started = std::time::Instant::now();
    let bytes = train(&args.train, Some(&args.dev), &opts, |r| {
        if quiet {
            return;
        }
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
    if !quiet {
        eprintln!(
            "wrote {} ({} bytes) in {:.1?}",
            args.output.display(),
            bytes.len(),
            started.elapsed()
        );
    }
    Ok(Exit::Success)
}

fn eval_tagger(args: &EvalArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let tagger = newspipe::stage::entities::load_tagger(&settings.entities)?;
    let context = || format!("cannot evaluate on {}", args.file.display());
    let (report, split) = match &args.seen_in {
        None => (
            newspipe::ner::evaluate(&tagger, &args.file).with_context(context)?,
            None,
        ),
        Some(train) => {
            let (report, split) =
                newspipe::ner::evaluate_split(&tagger, &args.file, train).with_context(context)?;
            (report, Some(split))
        }
    };
    println!("{report}");
    if let Some(split) = split {
        println!("{split}");
    }
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

fn serve(summary_json: Option<&Path>, settings: &Settings, quiet: bool) -> anyhow::Result<Exit> {
    let (runtime, shutdown) = runtime_with_signals()?;
    let core = build_core(settings)?;
    let options = newspipe::serve::ServeOptions {
        input: &settings.input,
        parquet: ParquetOptions {
            row_group_rows: settings.output.parquet_row_group_rows,
            ..ParquetOptions::default()
        },
        metrics: &settings.metrics,
    };
    let mut summary = runtime.block_on(async {
        newspipe::serve::run(&core, &settings.serve, options, shutdown).await
    })?;
    summary.long_lived = true;
    report(&summary, summary_json, quiet)?;
    Ok(Exit::Success)
}

#[cfg(feature = "kafka")]
fn kafka(summary_json: Option<&Path>, settings: &Settings, quiet: bool) -> anyhow::Result<Exit> {
    let (runtime, shutdown) = runtime_with_signals()?;
    let core = build_core(settings)?;
    let options = newspipe::kafka::KafkaOptions {
        input: &settings.input,
        metrics: &settings.metrics,
    };
    let mut summary = runtime.block_on(async {
        newspipe::kafka::run(&core, &settings.kafka, options, shutdown).await
    })?;
    summary.long_lived = true;
    report(&summary, summary_json, quiet)?;
    Ok(Exit::Success)
}

#[cfg(not(feature = "kafka"))]
fn kafka(_: Option<&Path>, settings: &Settings, _: bool) -> anyhow::Result<Exit> {
    settings.kafka.require()?;
    Err(newspipe::error::Error::Config(
        "this newspipe was built without Kafka support; rebuild with `cargo build --release --features kafka`"
            .into(),
    )
    .into())
}

/// Install SIGINT/SIGTERM handlers now (a signal that arrives during startup
/// must not kill the process) and return a future that resolves on the
/// first. A second signal ends the process at once with exit code 130,
/// removing output files still under their temporary names: nothing is
/// committed. Must be called inside the runtime.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    async fn either(term: &mut Option<Signal>, int: &mut Option<Signal>) {
        async fn one(s: &mut Option<Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                // No handler: never resolve; the default action still applies.
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = one(term) => {}
            () = one(int) => {}
        }
    }
    async move {
        either(&mut term, &mut int).await;
        tokio::spawn(async move {
            either(&mut term, &mut int).await;
            newspipe::sink::remove_temporaries();
            eprintln!("newspipe: second signal: stopping at once; nothing committed");
            std::process::exit(130);
        });
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

//! Command-line interface. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use newspipe::config::{LogFormat, Overrides, Progress};
use newspipe::source::InputFormat;

/// Streaming ingestion for news articles: normalize text, strip boilerplate,
/// mark duplicates, tag entities, write JSONL.
///
/// Configuration comes from config/default.toml (built in), then --config FILE,
/// then environment variables NEWSPIPE__SECTION__KEY (e.g.
/// NEWSPIPE__DEDUP__ENABLED=false), then the flags below; later wins.
///
/// Exit codes: 0 success; 1 runtime error (I/O, output); 2 usage or
/// configuration error; 3 finished, but some inputs were rejected (see the
/// summary and logs); 130 interrupted.
#[derive(Debug, Parser)]
#[command(
    name = "newspipe",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Configuration file (TOML); see config/default.toml for every key.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log format on stderr [config: log.format].
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,

    /// More log output (-v debug, -vv trace) [config: log.level].
    #[arg(long, short, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr; no progress bar and no summary.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process files, directories (recursively) or stdin (`-`) and write one
    /// JSONL record per article, in input order.
    ///
    /// Examples:
    ///   newspipe run seeds/                  JSONL on stdout
    ///   newspipe run ~/articles -o out.jsonl
    ///   cat article.txt | newspipe run -
    ///   newspipe run feed.jsonl              one JSON article per line
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// Run as a daemon: process the files already in a directory, then every
    /// new one, into rolling JSONL segments; survives kill -9 without losing
    /// or repeating an article. Stops cleanly on SIGTERM/SIGINT.
    ///
    /// Example:
    ///   newspipe serve --watch /data/in --output-dir /data/out --state-dir /var/lib/newspipe
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Consume articles from a Kafka topic in a consumer group and produce
    /// one record per article to another topic, keyed by `id`; runs until
    /// SIGTERM/SIGINT. Offsets are committed only after the output is
    /// acknowledged, so a killed instance's batch is redone (identically) by
    /// the group. Needs a binary built with `--features kafka`.
    ///
    /// Example:
    ///   newspipe kafka --brokers 127.0.0.1:9092 --input-topic in --output-topic out --group g
    #[command(verbatim_doc_comment)]
    Kafka(KafkaArgs),
    /// Check the configuration and print it resolved, then exit.
    CheckConfig,
    /// Train the entity tagger on CoNLL-2003 files and write the model.
    ///
    /// With the defaults this reproduces models/tagger.bin byte for byte.
    TrainTagger(TrainArgs),
    /// Score the entity tagger on a CoNLL-format file: precision, recall and
    /// F1 per label and overall (exact span and label, as conlleval counts).
    EvalTagger(EvalArgs),
    /// Boilerplate tools.
    #[command(subcommand)]
    Boilerplate(BoilerplateCommand),
    /// The steps a Spark job (deploy/spark/run.sh) runs in the newspipe
    /// binary on its workers; see deploy/spark/README.md.
    #[command(subcommand)]
    Spark(SparkCommand),
}

/// Subcommands of `newspipe spark`: the per-article work of a cluster run.
#[derive(Debug, Subcommand)]
pub enum SparkCommand {
    /// Print the files of INPUT in the order `run` reads them, one JSON
    /// string per line (paths relative to INPUT).
    List {
        /// The input directory.
        input: PathBuf,
    },
    /// Read the files listed on stdin (as `list` prints them) under INPUT and
    /// print one JSON line per article that reaches the dedup verdict: its
    /// `seq`, `id`, exact key, MinHash and LSH bucket keys.
    Fingerprint {
        /// The input directory.
        input: PathBuf,
    },
    /// Read candidate pairs on stdin (JSON arrays `[a, b, minhash_a,
    /// minhash_b]`) and print `[a, b]` for each that passes verification.
    Verify,
    /// Decide the articles on stdin (JSON lines of fingerprints grouped by
    /// connected component, each group in input order, earlier runs'
    /// signatures first) as one run would, and print the verdict of each
    /// duplicate: `{"part", "seq", "dedup"}`.
    Resolve,
}

/// Subcommands of `newspipe boilerplate`.
#[derive(Debug, Subcommand)]
pub enum BoilerplateCommand {
    /// Print, per source, the lines that would be learned as chrome from
    /// INPUTs (with the stories each was seen in, and near misses), as TOML
    /// rules that can be reviewed and pinned into a rules file.
    ///
    /// Example:
    ///   newspipe boilerplate learn ~/articles > learned.toml
    #[command(verbatim_doc_comment)]
    Learn(LearnArgs),
}

/// Arguments of `newspipe boilerplate learn`.
#[derive(Debug, Args)]
pub struct LearnArgs {
    /// Files or directories (not standard input: learning reads them in a
    /// pass of its own).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Start from what an earlier run learned (as `run --against`).
    #[arg(long, value_name = "PATH")]
    pub against: Vec<PathBuf>,
    /// Also list templates seen in at least this many stories that are
    /// not chrome, as comments.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub near_misses: u32,
}

/// Arguments of `newspipe run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Files, directories, or `-` for standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output file; `-` for stdout. The file appears only when the run
    /// completes; a name ending .parquet, .zst or .gz picks Parquet or
    /// compressed JSONL [config: output.path, output.format].
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<String>,

    /// Also write rejected inputs (path, line, reason) as JSONL to FILE
    /// [config: output.rejects_path].
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<String>,

    /// Write the run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// Replace output files an earlier run left (-o, --rejects,
    /// --summary-json, and the signatures beside -o); without it, a run
    /// that would overwrite one is refused before it starts.
    #[arg(long)]
    pub force: bool,

    /// How to read inputs; `auto` goes by name and content: *.jsonl/*.ndjson
    /// as JSONL, *.json as a JSON document, *.html/*.htm/*.xhtml and files
    /// that open like a web page as HTML, *.warc as WARC, .gz/.zst read
    /// through, anything else (and stdin) as text [config: input.format].
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormat>,

    /// Worker threads; 0 means one per core [config: pipeline.threads].
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    /// Follow symbolic links that lead out of an input directory; without
    /// it they are rejected unread [config: input.follow_links].
    #[arg(long)]
    pub follow_links: bool,

    /// Reject files larger than this many bytes (for JSONL each line, for WARC
    /// each record) [config: input.max_file_bytes].
    #[arg(long, value_name = "BYTES")]
    pub max_file_bytes: Option<u64>,

    /// Leave duplicates out of the output; they are still counted
    /// [config: dedup.drop_duplicates].
    #[arg(long)]
    pub drop_duplicates: bool,

    /// Keep the first line as body text [config: title.enabled = false].
    #[arg(long)]
    pub no_title: bool,

    /// Keep boilerplate lines [config: boilerplate.enabled = false].
    #[arg(long)]
    pub no_boilerplate: bool,

    /// Learn each source's chrome in a first pass over the inputs and
    /// remove it [config: boilerplate.learn = true].
    #[arg(long, conflicts_with = "no_learn")]
    pub learn: bool,

    /// Apply the rules only: no first pass learning each source's chrome
    /// [config: boilerplate.learn = false].
    #[arg(long)]
    pub no_learn: bool,

    /// Continue from an earlier run: its articles count as read before these
    /// (duplicates of them are marked, and learned chrome is kept). PATH is
    /// the earlier output file, the `FILE.signatures` directory beside it,
    /// or a Spark run's output directory. Repeatable, oldest first.
    #[arg(long, value_name = "PATH")]
    pub against: Vec<PathBuf>,

    /// Write no dedup signatures beside the output
    /// [config: output.signatures = false].
    #[arg(long)]
    pub no_signatures: bool,

    /// Read only the paths listed in FILE (one per line, relative to the one
    /// INPUT directory, in that order), as a walk of it would: a cluster
    /// task's share of the input (see deploy/spark/).
    #[arg(long, value_name = "FILE", hide = true)]
    pub files_from: Option<PathBuf>,

    /// Take the dedup verdicts from FILE (JSONL `{"seq": N, "dedup": {...}}`,
    /// as `newspipe spark resolve` writes them) instead of deciding.
    #[arg(long, value_name = "FILE", hide = true, requires = "files_from")]
    pub verdicts: Option<PathBuf>,

    /// Skip duplicate detection [config: dedup.enabled = false].
    #[arg(long)]
    pub no_dedup: bool,

    /// Detect exact duplicates only [config: dedup.near = false].
    #[arg(long)]
    pub no_near_dedup: bool,

    /// Skip entity tagging [config: entities.enabled = false].
    #[arg(long)]
    pub no_entities: bool,

    /// Progress bar on stderr [config: log.progress].
    #[arg(long, value_enum)]
    pub progress: Option<Progress>,
}

/// Arguments of `newspipe train-tagger`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training file (CoNLL-2003 format).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "../shared/data/conll2003/eng.train"
    )]
    pub train: PathBuf,
    /// Development file: the epoch with the best F1 on it is kept.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "../shared/data/conll2003/eng.testa"
    )]
    pub dev: PathBuf,
    /// Where to write the model.
    #[arg(long, short, value_name = "FILE", default_value = "models/tagger.bin")]
    pub output: PathBuf,
    /// Passes over the training data (the best by dev F1 is kept).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Directory with the word-class tables `en_lexeme_cluster.json.gz` and
    /// `en_lexeme_prob.json.gz` (spacy-lookups-data 1.0.5), compiled into
    /// the model.
    #[arg(long, value_name = "DIR", default_value = "../shared/data/lexicon")]
    pub lexicon: PathBuf,
    /// Feature table size as a power of two.
    #[arg(long, value_name = "BITS")]
    pub bits: Option<u32>,
    /// Train a model that decodes once, without the second pass that sees
    /// every other mention's first-pass label (faster tagging, lower F1 on
    /// eng.testa; the shipped model decodes twice).
    #[arg(long)]
    pub one_pass: bool,
    /// Seed of the document shuffling (the shipped model uses the default).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Drop the features whose every weight, quantized to i16 against the
    /// largest, is below this (the shipped model uses the default, 128).
    #[arg(long, value_name = "Q")]
    pub prune: Option<i16>,
    /// Learner: a CRF fitted by SGD (the shipped model) or the averaged
    /// perceptron of earlier models.
    #[arg(long, value_enum, default_value = "crf")]
    pub learner: LearnerArg,
    /// The CRF's initial SGD learning rate.
    #[arg(long, value_name = "ETA0", default_value_t = 0.1)]
    pub crf_eta0: f64,
    /// The CRF's L2 penalty over the training set.
    #[arg(long, value_name = "C2", default_value_t = 0.3)]
    pub crf_c2: f64,
}

/// Learner choices of `newspipe train-tagger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LearnerArg {
    /// Linear-chain CRF, SGD with an L2 penalty.
    Crf,
    /// Averaged structured perceptron.
    Perceptron,
}

/// Arguments of `newspipe eval-tagger`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// CoNLL-format file with gold labels (e.g. eng.testa).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Model to score; the built-in one when absent [config: entities.model].
    #[arg(long, value_name = "FILE")]
    pub model: Option<String>,
    /// Exit with code 1 when overall F1 is below this.
    #[arg(long, value_name = "F1")]
    pub min_f1: Option<f64>,
    /// Also score apart the entities whose words all occur in this training
    /// file (e.g. eng.train) and those with a word it never saw.
    #[arg(long, value_name = "TRAIN_FILE")]
    pub seen_in: Option<PathBuf>,
}

/// Arguments of `newspipe serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory to watch [config: serve.watch_dir].
    #[arg(long, value_name = "DIR")]
    pub watch: Option<String>,
    /// Directory for committed segments [config: serve.output_dir].
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<String>,
    /// Directory for the daemon's state [config: serve.state_dir].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<String>,
    /// Address for /metrics and /healthz; "" disables [config: metrics.addr].
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Worker threads; 0 means one per core [config: pipeline.threads].
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Write the run summary as JSON to FILE when the daemon stops.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

/// Arguments of `newspipe kafka`.
#[derive(Debug, Args)]
pub struct KafkaArgs {
    /// Bootstrap brokers, host:port[,...] [config: kafka.brokers].
    #[arg(long, value_name = "HOSTS")]
    pub brokers: Option<String>,
    /// Topic to consume articles from [config: kafka.input_topic].
    #[arg(long, value_name = "TOPIC")]
    pub input_topic: Option<String>,
    /// Topic to produce records to [config: kafka.output_topic].
    #[arg(long, value_name = "TOPIC")]
    pub output_topic: Option<String>,
    /// Topic for rejected messages [config: kafka.rejects_topic].
    #[arg(long, value_name = "TOPIC")]
    pub rejects_topic: Option<String>,
    /// Consumer group [config: kafka.group].
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Worker threads; 0 means one per core [config: pipeline.threads].
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Address for /metrics and /healthz; "" disables [config: metrics.addr].
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Write the run summary as JSON to FILE when the consumer stops.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

impl Cli {
    /// The configuration layer the flags form.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::default();
        if let Some(f) = self.log_format {
            o.set(
                "log.format",
                match f {
                    LogFormat::Text => "text",
                    LogFormat::Json => "json",
                },
            );
        }
        match (self.quiet, self.verbose) {
            (true, _) => {
                o.set("log.level", "error");
                o.set("log.progress", "never");
            }
            (false, 0) => {}
            (false, 1) => {
                o.set("log.level", "debug");
            }
            (false, _) => {
                o.set("log.level", "trace");
            }
        }
        match &self.command {
            Command::Run(run) => run.add_overrides(&mut o),
            Command::Serve(serve) => {
                o.set_opt("serve.watch_dir", serve.watch.clone());
                o.set_opt("serve.output_dir", serve.output_dir.clone());
                o.set_opt("serve.state_dir", serve.state_dir.clone());
                o.set_opt("metrics.addr", serve.metrics_addr.clone());
                o.set_opt("pipeline.threads", serve.threads.map(|n| n as u64));
            }
            Command::Kafka(k) => {
                o.set_opt("kafka.brokers", k.brokers.clone());
                o.set_opt("kafka.input_topic", k.input_topic.clone());
                o.set_opt("kafka.output_topic", k.output_topic.clone());
                o.set_opt("kafka.rejects_topic", k.rejects_topic.clone());
                o.set_opt("kafka.group", k.group.clone());
                o.set_opt("metrics.addr", k.metrics_addr.clone());
                o.set_opt("pipeline.threads", k.threads.map(|n| n as u64));
            }
            Command::EvalTagger(e) => {
                o.set_opt("entities.model", e.model.clone());
            }
            Command::CheckConfig
            | Command::TrainTagger(_)
            | Command::Boilerplate(_)
            | Command::Spark(_) => {}
        }
        o
    }
}

impl RunArgs {
    fn add_overrides(&self, o: &mut Overrides) {
        o.set_opt("output.path", self.output.clone());
        o.set_opt("output.rejects_path", self.rejects.clone());
        o.set_opt(
            "input.format",
            self.input_format.map(|f| match f {
                InputFormat::Auto => "auto",
                InputFormat::Text => "text",
                InputFormat::Jsonl => "jsonl",
                InputFormat::Json => "json",
                InputFormat::Html => "html",
                InputFormat::Warc => "warc",
            }),
        );
        o.set_opt("pipeline.threads", self.threads.map(|n| n as u64));
        o.set_opt("input.max_file_bytes", self.max_file_bytes);
        o.set_opt(
            "log.progress",
            self.progress.map(|p| match p {
                Progress::Auto => "auto",
                Progress::Always => "always",
                Progress::Never => "never",
            }),
        );
        let flags = [
            (self.drop_duplicates, "dedup.drop_duplicates", true),
            (self.follow_links, "input.follow_links", true),
            (self.no_title, "title.enabled", false),
            (self.no_boilerplate, "boilerplate.enabled", false),
            (self.learn, "boilerplate.learn", true),
            (self.no_learn, "boilerplate.learn", false),
            (self.no_dedup, "dedup.enabled", false),
            (self.no_near_dedup, "dedup.near", false),
            (self.no_entities, "entities.enabled", false),
            (self.no_signatures, "output.signatures", false),
        ];
        for (given, key, value) in flags {
            if given {
                o.set(key, value);
            }
        }
    }
}

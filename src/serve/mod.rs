//! Daemon mode: watch a directory, write rolling segments, survive `kill -9`.
//!
//! The one driver ([`crate::pipeline::drive`]) runs the stages between a
//! [`watch`] source and a [`SegmentWriter`]. Output, the rejects, the
//! processed-file ledger and the dedup index advance together, one segment
//! at a time ([`state`]), so after any crash the daemon redoes exactly the
//! work that was not committed, and decides duplicates as an uninterrupted
//! run would.

pub mod learned;
pub mod state;
pub mod watch;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tracing::{error, info};

use crate::error::{Error, Result};
use crate::metrics::{Endpoint, Metrics, MetricsConfig};
use crate::pipeline::{drive, Core, DriveOptions, Ending, OutcomeSink};
use crate::record::Article;
use crate::sink::parquet::ParquetOptions;
use crate::sink::{FileWriter, OutputFormat, Record};
use crate::source::{Emitter, Input, InputConfig, Rejected};
use crate::stage::dedup::Deduplicator;
use crate::summary::Summary;
use state::{Counts, DeltaEntry, Layout, State};

/// `[serve]` config section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Directory to watch.
    pub watch_dir: String,
    /// Directory for committed segments.
    pub output_dir: String,
    /// Directory for the crash-safe state.
    pub state_dir: String,
    /// Quiet time after which a file is complete, in milliseconds.
    pub settle_ms: u64,
    /// Full rescan interval, in seconds.
    pub rescan_secs: u64,
    /// Use filesystem events as well as rescans.
    pub watch_events: bool,
    /// Segment size that triggers a commit.
    pub segment_max_bytes: u64,
    /// Segment age that triggers a commit, in milliseconds.
    pub segment_max_age_ms: u64,
    /// Drain deadline on shutdown, in seconds.
    pub shutdown_timeout_secs: u64,
    /// Segment format: jsonl, jsonl.zst, jsonl.gz or parquet.
    pub format: OutputFormat,
}

/// Smallest segment size: below it every record would be a commit (an
/// fsync and three renames).
pub const MIN_SEGMENT_BYTES: u64 = 4096;
/// Largest segment size (16 GiB).
pub const MAX_SEGMENT_BYTES: u64 = 1 << 34;
/// Longest times: a day for settling, rescans and segment age, an hour to drain.
const MAX_MS: u64 = 86_400_000;

impl ServeConfig {
    /// Check the values, naming the key. Runs for every command, so
    /// `check-config` refuses what `serve` would; whether the directories
    /// are given is checked by [`ServeConfig::require`] when the daemon starts.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: String| {
            Err(Error::Config(format!(
                "invalid value for `serve.{key}`: {why}"
            )))
        };
        if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&self.segment_max_bytes) {
            return bad(
                "segment_max_bytes",
                format!("must be {MIN_SEGMENT_BYTES} to {MAX_SEGMENT_BYTES}"),
            );
        }
        for (key, v) in [
            ("segment_max_age_ms", self.segment_max_age_ms),
            ("settle_ms", self.settle_ms.max(1)),
            ("rescan_secs", self.rescan_secs.saturating_mul(1000)),
        ] {
            if v == 0 || v > MAX_MS {
                return bad(key, "must be at least 1 and at most a day".into());
            }
        }
        if self.shutdown_timeout_secs == 0 || self.shutdown_timeout_secs > 3600 {
            return bad("shutdown_timeout_secs", "must be 1 to 3600".into());
        }
        if self.format == OutputFormat::Auto {
            return bad(
                "format",
                "must be jsonl, jsonl.zst, jsonl.gz or parquet".into(),
            );
        }
        Ok(())
    }

    /// Check what only the daemon needs: its three directories.
    pub fn require(&self) -> Result<()> {
        for (key, v) in [
            ("serve.watch_dir", &self.watch_dir),
            ("serve.output_dir", &self.output_dir),
            ("serve.state_dir", &self.state_dir),
        ] {
            if v.is_empty() {
                return Err(Error::Config(format!(
                    "`{key}` is not set (give it in the config or with its flag)"
                )));
            }
        }
        if !Path::new(&self.watch_dir).is_dir() {
            return Err(Error::Config(format!(
                "`serve.watch_dir`: {} is not a directory",
                self.watch_dir
            )));
        }
        Ok(())
    }
}

/// What the daemon needs besides the built stages and `[serve]`.
pub struct ServeOptions<'a> {
    /// `[input]`: the file size limit.
    pub input: &'a InputConfig,
    /// Parquet tuning, for Parquet segments.
    pub parquet: ParquetOptions,
    /// `[metrics]`.
    pub metrics: &'a MetricsConfig,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Run the daemon until `shutdown` resolves; then stop taking files, drain,
/// commit and return the run's summary.
pub async fn run(
    core: &Core,
    cfg: &ServeConfig,
    options: ServeOptions<'_>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Summary> {
    cfg.require()?;
    // Before anything is written: the directories must not overlap, and
    // only one daemon may use a state directory (held until we return).
    state::check_disjoint(&[
        ("serve.watch_dir", Path::new(&cfg.watch_dir)),
        ("serve.output_dir", Path::new(&cfg.output_dir)),
        ("serve.state_dir", Path::new(&cfg.state_dir)),
    ])?;
    let _lock = state::lock(Path::new(&cfg.state_dir))?;
    let layout = Layout {
        state_dir: PathBuf::from(&cfg.state_dir),
        output_dir: PathBuf::from(&cfg.output_dir),
        extension: cfg.format.extension().into(),
    };
    let stages = core.stages();
    let learn_key = if stages.learning() {
        stages.learn_key()
    } else {
        String::new()
    };
    let mut recovered = state::recover(
        &layout,
        &Deduplicator::config_key(core.dedup_config()),
        &learn_key,
    )?;
    for path in &recovered.discarded {
        info!("discarded uncommitted {}", path.display());
    }
    let online = if stages.learning() {
        let saved = match recovered.learned.take() {
            Some((path, bytes)) => Some(learned::decode(&bytes).ok_or_else(|| Error::State {
                path,
                message: "corrupt learned boilerplate (bad checksum or truncated)".into(),
            })?),
            None => None,
        };
        let online = learned::Online::start(
            Arc::clone(stages.chrome_slot()),
            stages.learn_params(),
            stages.learn_bounds(),
            stages.learn_refresh(),
            recovered.state.inputs,
            saved,
        );
        info!(
            "learning boilerplate from input {}: {} sources known",
            online.position(),
            online.sources()
        );
        Some(online)
    } else {
        None
    };
    // From the next commit on, the state says what it was learned with.
    recovered.state.learn_config = learn_key;
    let mut dedup = core.deduplicator(true);
    if let Some(d) = dedup.as_mut() {
        for e in &recovered.entries {
            if let Some((id, fp)) = &e.article {
                d.replay(id, fp, e.ingested_at);
            }
        }
    }
    info!(
        "recovered state: {} segments retained, next segment {}, {} inputs in the ledger",
        recovered.state.segments.len(),
        recovered.state.next_segment,
        recovered.ledger.len()
    );

    let metrics = Arc::new(Metrics::new("serve"));
    if let Some(d) = &dedup {
        metrics.index(d.len(), d.heap_bytes());
    }
    let endpoint = Endpoint::start(options.metrics, &metrics).await?;

    let watch_cfg = watch::WatchConfig {
        dir: PathBuf::from(&cfg.watch_dir),
        settle: Duration::from_millis(cfg.settle_ms),
        rescan: Duration::from_secs(cfg.rescan_secs),
        input: options.input.clone(),
        events: cfg.watch_events,
    };
    let ledger = recovered.ledger;
    let gate = online.as_ref().map(|o| (o.gate(), o.position()));
    let mut writer = SegmentWriter::new(
        layout,
        recovered.state,
        cfg,
        core.dedup_config().retention_secs(),
        options.parquet,
        Arc::clone(&metrics),
    );
    writer.learning = online;
    let driven = drive(
        core,
        move |emitter| match gate {
            None => watch::watch(watch_cfg, ledger, emitter),
            // Each input waits for its block's learned chrome (see `learned`).
            Some((gate, base)) => {
                let stop = emitter.stop_flag();
                let mut push = |input: Input| {
                    gate.wait(base + input.seq(), stop);
                    emitter.emit(input)
                };
                watch::watch(watch_cfg, ledger, &mut Emitter::new(&mut push, stop));
            }
        },
        writer,
        DriveOptions {
            dedup,
            deadline: Some((
                Duration::from_secs(cfg.shutdown_timeout_secs),
                "serve.shutdown_timeout_secs",
            )),
            progress: None,
            metrics: Some(Arc::clone(&metrics)),
        },
        shutdown,
    )
    .await;
    if let Some(e) = endpoint {
        e.stop().await;
    }
    let driven = driven?;
    info!("stopped cleanly");
    Ok(driven.summary)
}

/// An I/O error on `path`, so that a full disk or a read-only remount says
/// which file (and so which filesystem) it hit.
fn io_at(source: std::io::Error, op: &'static str, path: &Path) -> Error {
    Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// [`io_at`] for the writer's own errors: its bare output errors get the
/// path; the rest (already named, or not I/O) pass as they are.
fn at(e: Error, op: &'static str, path: &Path) -> Error {
    match e {
        Error::Output(source) => io_at(source, op, path),
        Error::Parquet { op: what, message } => io_at(
            std::io::Error::other(format!("parquet: {what}: {message}")),
            op,
            path,
        ),
        other => other,
    }
}

/// The daemon's outcome sink: writes records into the open segment and
/// rejects into its rejects file, and commits both when the segment is big
/// or old enough, or at shutdown.
pub struct SegmentWriter {
    layout: Layout,
    state: State,
    max_bytes: u64,
    max_age: Duration,
    retention_secs: u64,
    format: OutputFormat,
    parquet: ParquetOptions,
    metrics: Arc<Metrics>,
    file: Option<FileWriter<BufWriter<std::fs::File>>>,
    rejects_file: Option<BufWriter<std::fs::File>>,
    records: u64,
    rejects: u64,
    bytes: u64,
    opened: Option<Instant>,
    entries: Vec<DeltaEntry>,
    /// The learner, when `boilerplate.learn` is on.
    learning: Option<learned::Online>,
}

impl SegmentWriter {
    fn new(
        layout: Layout,
        state: State,
        cfg: &ServeConfig,
        retention_secs: u64,
        parquet: ParquetOptions,
        metrics: Arc<Metrics>,
    ) -> Self {
        SegmentWriter {
            format: cfg.format,
            parquet,
            layout,
            state,
            max_bytes: cfg.segment_max_bytes,
            max_age: Duration::from_millis(cfg.segment_max_age_ms),
            retention_secs,
            metrics,
            file: None,
            rejects_file: None,
            records: 0,
            rejects: 0,
            bytes: 0,
            opened: None,
            entries: Vec::new(),
            learning: None,
        }
    }

    fn note(&mut self, article: &Article) {
        self.opened.get_or_insert_with(Instant::now);
        self.entries.push(DeltaEntry {
            path_hash: watch::path_hash(&article.source.path),
            input_hash: article.source.input_hash,
            // The time dedup saw, so a replay puts it in the same generation.
            ingested_at: article.source.clock_secs(),
            article: article
                .fingerprint
                .as_ref()
                .map(|fp| (article.id.clone(), fp.clone())),
        });
        if let Some(l) = self.learning.as_mut() {
            l.fold(Some(article));
        }
    }

    fn create(path: PathBuf, what: &'static str) -> Result<BufWriter<std::fs::File>> {
        let f = std::fs::File::create(&path).map_err(|source| Error::Io {
            op: what,
            path,
            source,
        })?;
        Ok(BufWriter::with_capacity(1 << 16, f))
    }

    fn commit_if_due(&mut self) -> Result<()> {
        let old = self.opened.is_some_and(|t| t.elapsed() >= self.max_age);
        if self.bytes >= self.max_bytes || old {
            self.commit()?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        let seq = self.state.next_segment;
        if let Some(f) = self.file.take() {
            let path = self.layout.segment_tmp(seq);
            let f = f
                .finish()
                .map_err(|e| at(e, "cannot finish segment", &path))?;
            let f = f
                .into_inner()
                .map_err(|e| io_at(e.into_error(), "cannot write segment", &path))?;
            f.sync_all()
                .map_err(|e| io_at(e, "cannot sync segment", &path))?;
        }
        if let Some(f) = self.rejects_file.take() {
            let path = self.layout.rejects_tmp(seq);
            let f = f
                .into_inner()
                .map_err(|e| io_at(e.into_error(), "cannot write rejects file", &path))?;
            f.sync_all()
                .map_err(|e| io_at(e, "cannot sync rejects file", &path))?;
        }
        let counts = Counts {
            records: self.records,
            rejects: self.rejects,
        };
        let learned = self.learning.as_ref().map(learned::Online::encode);
        state::commit(
            &self.layout,
            &mut self.state,
            seq,
            counts,
            &self.entries,
            learned.as_deref(),
            unix_now(),
            self.retention_secs,
        )
        .inspect_err(|e| error!("commit of segment {seq} failed: {e}"))?;
        // Ingest times have whole-second resolution, and so do these latencies.
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let latencies: Vec<f64> = self
            .entries
            .iter()
            .map(|e| (now - e.ingested_at as f64).max(0.0))
            .collect();
        self.metrics.committed(self.bytes, &latencies);
        info!(
            "committed segment {seq}: {} records, {} rejected, {} inputs",
            self.records,
            self.rejects,
            self.entries.len()
        );
        if let (Some(l), Some(bytes)) = (&self.learning, &learned) {
            let sources = l.sources().max(1) as u64;
            info!(
                "learned boilerplate after input {}: {} sources, {} bytes, {} bytes per source",
                l.position(),
                l.sources(),
                bytes.len(),
                bytes.len() as u64 / sources
            );
        }
        self.records = 0;
        self.rejects = 0;
        self.bytes = 0;
        self.opened = None;
        self.entries.clear();
        Ok(())
    }
}

impl OutcomeSink for SegmentWriter {
    fn record(&mut self, article: &Article, json: &[u8]) -> Result<()> {
        self.note(article);
        if self.file.is_none() {
            let path = self.layout.segment_tmp(self.state.next_segment);
            let out = Self::create(path.clone(), "cannot create segment")?;
            let writer = FileWriter::new(out, self.format, self.parquet)
                .map_err(|e| at(e, "cannot start segment", &path))?;
            self.file = Some(writer);
        }
        if let Some(f) = self.file.as_mut() {
            f.write(Record { article, json }).map_err(|e| {
                at(
                    e,
                    "cannot write segment",
                    &self.layout.segment_tmp(self.state.next_segment),
                )
            })?;
        }
        self.records += 1;
        self.bytes += json.len() as u64 + 1;
        self.commit_if_due()
    }

    fn dropped(&mut self, article: &Article) -> Result<()> {
        self.note(article);
        self.commit_if_due()
    }

    fn rejected(&mut self, r: &Rejected) -> Result<()> {
        self.opened.get_or_insert_with(Instant::now);
        self.entries.push(DeltaEntry {
            path_hash: watch::path_hash(&r.path),
            input_hash: r.input_hash,
            ingested_at: unix_now(),
            article: None,
        });
        if let Some(l) = self.learning.as_mut() {
            l.fold(None);
        }
        if self.rejects_file.is_none() {
            let path = self.layout.rejects_tmp(self.state.next_segment);
            self.rejects_file = Some(Self::create(path, "cannot create rejects file")?);
        }
        if let Some(f) = self.rejects_file.as_mut() {
            let line = serde_json::to_vec(r).map_err(|e| Error::Output(e.into()))?;
            f.write_all(&line)
                .and_then(|()| f.write_all(b"\n"))
                .map_err(|e| {
                    io_at(
                        e,
                        "cannot write rejects file",
                        &self.layout.rejects_tmp(self.state.next_segment),
                    )
                })?;
        }
        self.rejects += 1;
        self.commit_if_due()
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(50).min(self.max_age))
    }

    fn tick(&mut self) -> Result<()> {
        self.commit_if_due()
    }

    fn finish(mut self: Box<Self>, ending: Ending) -> Result<()> {
        match ending {
            // What was taken before the stop is committed; a failed run's
            // open segment is left uncommitted and redone at the next start.
            Ending::Complete | Ending::Interrupted if self.opened.is_some() => self.commit(),
            _ => Ok(()),
        }
    }
}

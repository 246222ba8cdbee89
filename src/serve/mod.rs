//! Daemon mode: watch a directory, write rolling segments, survive `kill -9`.
//!
//! The same stages as a batch run ([`crate::pipeline::start`]) sit between a
//! [`watch`] source and a segment-writing consumer. Output, the
//! processed-file ledger and the dedup index advance together, one segment at
//! a time ([`state`]), so after any crash the daemon redoes exactly the work
//! that was not committed, and decides duplicates as an uninterrupted run would.

pub mod metrics;
pub mod state;
pub mod watch;

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tracing::{error, info, warn};

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::pipeline::{self, Outcome};
use crate::record::Article;
use crate::sink::parquet::ParquetOptions;
use crate::sink::{FileWriter, OutputFormat, Record};
use crate::stage::dedup::{ingested_secs, Deduplicator};
use metrics::Metrics;
use state::{DeltaEntry, Layout, State};

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
    /// Dedup look-back, in days.
    pub retention_days: u64,
    /// `/metrics` and `/healthz` address; empty disables.
    pub metrics_addr: String,
    /// Drain deadline on shutdown, in seconds.
    pub shutdown_timeout_secs: u64,
    /// Segment format: jsonl, jsonl.zst, jsonl.gz or parquet.
    pub format: OutputFormat,
}

impl ServeConfig {
    /// Check the values a daemon needs, naming the key.
    pub fn validate(&self) -> Result<()> {
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
        if self.segment_max_bytes == 0 || self.segment_max_age_ms == 0 {
            return Err(Error::Config(
                "`serve.segment_max_bytes` and `serve.segment_max_age_ms` must be at least 1"
                    .into(),
            ));
        }
        if self.format == OutputFormat::Auto {
            return Err(Error::Config(
                "`serve.format` must be jsonl, jsonl.zst, jsonl.gz or parquet".into(),
            ));
        }
        if self.rescan_secs == 0 {
            return Err(Error::Config(
                "`serve.rescan_secs` must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Run the daemon until `shutdown` resolves; then stop taking files, drain,
/// commit and return.
pub async fn run(
    settings: &Settings,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let cfg = settings.serve.clone();
    cfg.validate()?;
    let layout = Layout {
        state_dir: PathBuf::from(&cfg.state_dir),
        output_dir: PathBuf::from(&cfg.output_dir),
        extension: cfg.format.extension().into(),
    };
    let recovered = state::recover(&layout, &Deduplicator::config_key(&settings.dedup))?;
    for path in &recovered.discarded {
        info!("discarded uncommitted {}", path.display());
    }
    let retention = cfg.retention_days.saturating_mul(86_400);
    let mut dedup = settings
        .dedup
        .enabled
        .then(|| Deduplicator::with_retention(&settings.dedup, retention));
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

    let metrics = Arc::new(Metrics::default());
    if let Some(d) = &dedup {
        metrics.index(d.len(), d.heap_bytes());
    }
    let (http_stop_tx, http_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let http = if cfg.metrics_addr.is_empty() {
        None
    } else {
        let listener = tokio::net::TcpListener::bind(&cfg.metrics_addr)
            .await
            .map_err(|source| Error::Io {
                op: "cannot listen for metrics on",
                path: PathBuf::from(&cfg.metrics_addr),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_or_else(|_| cfg.metrics_addr.clone(), |a| a.to_string());
        info!("metrics on http://{addr}/metrics");
        let m = Arc::clone(&metrics);
        Some(tokio::spawn(metrics::serve_http(listener, m, async {
            let _ = http_stop_rx.await;
        })))
    };

    let stop = Arc::new(AtomicBool::new(false));
    let watch_cfg = watch::WatchConfig {
        dir: PathBuf::from(&cfg.watch_dir),
        settle: Duration::from_millis(cfg.settle_ms),
        rescan: Duration::from_secs(cfg.rescan_secs),
        max_file_bytes: settings.input.max_file_bytes,
        events: cfg.watch_events,
    };
    let ledger = recovered.ledger;
    let mut stream = pipeline::start(
        settings,
        move |emitter| watch::watch(watch_cfg, &ledger, emitter),
        dedup,
        Arc::clone(&stop),
    )?;
    metrics.set_queues(std::mem::take(&mut stream.queues));

    let consumer = {
        let outcomes = stream.outcomes.clone();
        let metrics = Arc::clone(&metrics);
        let stop = Arc::clone(&stop);
        let parquet = ParquetOptions {
            row_group_rows: settings.output.parquet_row_group_rows,
            ..ParquetOptions::default()
        };
        let mut writer = SegmentWriter::new(layout, recovered.state, &cfg, parquet);
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let result = writer.consume(&outcomes, &metrics, &handle);
            if result.is_err() {
                // Stop the source; what is in flight is redone at the next start.
                stop.store(true, Ordering::Relaxed);
                while outcomes.recv_blocking().is_ok() {}
            }
            result
        })
    };

    tokio::pin!(consumer);
    let consumed = tokio::select! {
        r = &mut consumer => Some(r),
        () = shutdown => None,
    };
    let consumed = match consumed {
        Some(r) => r,
        None => {
            info!("shutting down: no new files; draining and committing");
            stop.store(true, Ordering::Relaxed);
            let limit = Duration::from_secs(cfg.shutdown_timeout_secs);
            match tokio::time::timeout(limit, &mut consumer).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(Error::Task(format!(
                        "shutdown did not finish within {}s (serve.shutdown_timeout_secs); \
                         uncommitted work will be redone at the next start",
                        cfg.shutdown_timeout_secs
                    )))
                }
            }
        }
    };
    let consumed = consumed.map_err(|e| Error::Task(format!("segment writer: {e}")))?;
    let finished = stream.finish().await;
    let _ = http_stop_tx.send(());
    if let Some(h) = http {
        let _ = h.await;
    }
    consumed?;
    finished?;
    info!("stopped cleanly");
    Ok(())
}

/// The consumer: writes records into the open segment and commits it when it
/// is big or old enough, or at shutdown.
struct SegmentWriter {
    layout: Layout,
    state: State,
    max_bytes: u64,
    max_age: Duration,
    retention_secs: u64,
    format: OutputFormat,
    parquet: ParquetOptions,
    file: Option<FileWriter<BufWriter<std::fs::File>>>,
    records: u64,
    bytes: u64,
    opened: Option<Instant>,
    entries: Vec<DeltaEntry>,
}

impl SegmentWriter {
    fn new(layout: Layout, state: State, cfg: &ServeConfig, parquet: ParquetOptions) -> Self {
        SegmentWriter {
            format: cfg.format,
            parquet,
            layout,
            state,
            max_bytes: cfg.segment_max_bytes,
            max_age: Duration::from_millis(cfg.segment_max_age_ms),
            retention_secs: cfg.retention_days.saturating_mul(86_400),
            file: None,
            records: 0,
            bytes: 0,
            opened: None,
            entries: Vec::new(),
        }
    }

    fn consume(
        &mut self,
        outcomes: &async_channel::Receiver<Outcome>,
        metrics: &Metrics,
        rt: &tokio::runtime::Handle,
    ) -> Result<()> {
        let tick = Duration::from_millis(50).min(self.max_age);
        loop {
            let next = rt.block_on(async { tokio::time::timeout(tick, outcomes.recv()).await });
            match next {
                Ok(Ok(outcome)) => self.add(outcome, metrics)?,
                Ok(Err(_closed)) => break,
                Err(_timeout) => {}
            }
            let old = self.opened.is_some_and(|t| t.elapsed() >= self.max_age);
            if self.bytes >= self.max_bytes || old {
                self.commit(metrics)?;
            }
        }
        if self.opened.is_some() {
            self.commit(metrics)?;
        }
        Ok(())
    }

    fn note(&mut self, article: &Article) {
        self.opened.get_or_insert_with(Instant::now);
        self.entries.push(DeltaEntry {
            path_hash: watch::path_hash(&article.source.path),
            input_hash: article.source.input_hash,
            // The time dedup saw, so a replay puts it in the same generation.
            ingested_at: ingested_secs(article.source.ingested_at.as_deref()),
            article: article
                .fingerprint
                .as_ref()
                .map(|fp| (article.id.clone(), fp.clone())),
        });
    }

    fn add(&mut self, outcome: Outcome, metrics: &Metrics) -> Result<()> {
        match outcome {
            Outcome::Record {
                article,
                json,
                stats,
            } => {
                self.note(&article);
                if self.file.is_none() {
                    let path = self.layout.segment_tmp(self.state.next_segment);
                    let f = std::fs::File::create(&path).map_err(|source| Error::Io {
                        op: "cannot create segment",
                        path,
                        source,
                    })?;
                    let out = BufWriter::with_capacity(1 << 16, f);
                    self.file = Some(FileWriter::new(out, self.format, self.parquet)?);
                }
                if let Some(f) = self.file.as_mut() {
                    f.write(Record {
                        article: &article,
                        json: &json,
                    })?;
                }
                self.records += 1;
                self.bytes += json.len() as u64 + 1;
                metrics.article(&stats, true);
            }
            Outcome::Dropped { article, stats } => {
                self.note(&article);
                metrics.article(&stats, false);
            }
            Outcome::Rejected(r) => {
                warn!("rejected {}: {}", r.location(), r.reason);
                self.opened.get_or_insert_with(Instant::now);
                self.entries.push(DeltaEntry {
                    path_hash: watch::path_hash(&r.path),
                    input_hash: r.input_hash,
                    ingested_at: unix_now(),
                    article: None,
                });
                metrics.rejected(r.kind, r.bytes);
            }
        }
        Ok(())
    }

    fn commit(&mut self, metrics: &Metrics) -> Result<()> {
        let seq = self.state.next_segment;
        if let Some(f) = self.file.take() {
            let f = f.finish()?;
            let f = f.into_inner().map_err(|e| Error::Output(e.into_error()))?;
            f.sync_all().map_err(Error::Output)?;
        }
        state::commit(
            &self.layout,
            &mut self.state,
            seq,
            self.records,
            &self.entries,
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
        metrics.committed(self.bytes, &latencies);
        info!(
            "committed segment {seq}: {} records, {} inputs",
            self.records,
            self.entries.len()
        );
        self.records = 0;
        self.bytes = 0;
        self.opened = None;
        self.entries.clear();
        Ok(())
    }
}

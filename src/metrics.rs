//! Live metrics for the long-running modes (daemon and Kafka): `GET /metrics`
//! in the Prometheus text format and `GET /healthz`.
//!
//! [`Metrics`] keeps a [`prometheus_client`] registry. Values that arrive as
//! events (commits, commit latencies, dedup index size) are the crate's own
//! counter, gauge and histogram types; the run totals arrive as whole
//! [`Summary`] snapshots and are exported by a collector that turns successive
//! snapshots into counters that never go down; queue depths are read from
//! probes at scrape time.
//!
//! [`serve_http`] answers on an [`axum`] router driven by hyper's HTTP/1
//! connection directly, rather than `axum::serve`, because `axum::serve`
//! installs no timer and so leaves hyper's header read timeout inert: here a
//! client that connects and never finishes a request head is cut off.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{prometheus_text, DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower_http::timeout::TimeoutLayer;
use tracing::{debug, warn};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::summary::Summary;

/// `[metrics]` config section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `host:port` for `/metrics` and `/healthz` in `serve` and `kafka`; empty disables.
    pub addr: String,
}

impl MetricsConfig {
    /// Check the value, naming the key.
    pub fn validate(&self) -> Result<()> {
        if !self.addr.is_empty() && self.addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(Error::Config(format!(
                "invalid value for `metrics.addr`: {:?} is not host:port with a numeric host (e.g. 127.0.0.1:9464), nor empty",
                self.addr
            )));
        }
        Ok(())
    }
}

/// Upper bounds (seconds) of the commit-latency histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// A queue-depth probe: the queue's name and a closure returning how many
/// articles wait in it now.
pub type QueueProbe = (&'static str, Box<dyn Fn() -> usize + Send + Sync>);

/// Counters shared by a long-running mode (daemon or Kafka) and the HTTP endpoint.
pub struct Metrics {
    registry: Registry,
    totals: Arc<Mutex<RunTotals>>,
    queues: Arc<Mutex<Vec<QueueProbe>>>,
    commits: Counter,
    output_bytes: Counter,
    index_articles: Gauge<u64, AtomicU64>,
    index_bytes: Gauge<u64, AtomicU64>,
    index_bytes_per_article: Gauge<f64, AtomicU64>,
    commit_latency: Histogram,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// Lock a mutex; a poisoned lock only means a panic elsewhere mid-update, and
/// every value behind these locks stays usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Metrics {
    /// `mode` is "serve" or "kafka"; exported as the info metric
    /// `newspipe_info{mode=".."} 1`.
    pub fn new(mode: &'static str) -> Self {
        let totals = Arc::new(Mutex::new(RunTotals::default()));
        let queues = Arc::new(Mutex::new(Vec::new()));
        let commits = Counter::default();
        let output_bytes = Counter::default();
        let index_articles = Gauge::<u64, AtomicU64>::default();
        let index_bytes = Gauge::<u64, AtomicU64>::default();
        let index_bytes_per_article = Gauge::<f64, AtomicU64>::default();
        let commit_latency = Histogram::new(LATENCY_BUCKETS);

        let mut registry = Registry::default();
        registry.register(
            "newspipe_up",
            "1 while the process runs",
            ConstGauge::new(1i64),
        );
        registry.register(
            "newspipe",
            "How this process runs",
            Info::new([("mode", mode)]),
        );
        registry.register_collector(Box::new(TotalsCollector(Arc::clone(&totals))));
        registry.register(
            "newspipe_commits",
            "Commits that made output durable (daemon segments or Kafka offset commits)",
            commits.clone(),
        );
        registry.register(
            "newspipe_output_bytes",
            "Bytes of output made durable by commits",
            output_bytes.clone(),
        );
        registry.register(
            "newspipe_dedup_index_articles",
            "Articles held by the dedup index",
            index_articles.clone(),
        );
        registry.register(
            "newspipe_dedup_index_bytes",
            "Heap bytes of the dedup index",
            index_bytes.clone(),
        );
        registry.register(
            "newspipe_dedup_index_bytes_per_article",
            "Heap bytes of the dedup index per article held (0 when empty)",
            index_bytes_per_article.clone(),
        );
        registry.register_collector(Box::new(QueueCollector(Arc::clone(&queues))));
        registry.register(
            "newspipe_commit_latency_seconds",
            "Time from taking an input to the commit that made its output durable",
            commit_latency.clone(),
        );

        Metrics {
            registry,
            totals,
            queues,
            commits,
            output_bytes,
            index_articles,
            index_bytes,
            index_bytes_per_article,
            commit_latency,
        }
    }

    /// Replace the run totals with a fresh snapshot (the driver calls this
    /// every ~50 ms and at the end).
    ///
    /// The exported counters grow by what the snapshot adds to the previous
    /// one. A snapshot with any total below the previous one is taken as a new
    /// run: its whole totals are added, so the counters never go down.
    pub fn publish(&self, summary: &Summary) {
        let seen = Totals::from_summary(summary);
        let mut run = lock(&self.totals);
        let RunTotals { last, exported } = &mut *run;
        if seen.covers(last) {
            exported.add_growth(last, &seen);
        } else {
            exported.add_growth(&Totals::default(), &seen);
        }
        *last = seen;
    }

    /// Register queue-depth probes: (name, closure returning the current
    /// depth in articles). Replaces the probes registered before.
    pub fn set_queues(&self, probes: Vec<QueueProbe>) {
        *lock(&self.queues) = probes;
    }

    /// Dedup index gauges.
    pub fn index(&self, articles: usize, bytes: usize) {
        let per_article = if articles == 0 {
            0.0
        } else {
            bytes as f64 / articles as f64
        };
        self.index_articles
            .set(u64::try_from(articles).unwrap_or(u64::MAX));
        self.index_bytes
            .set(u64::try_from(bytes).unwrap_or(u64::MAX));
        self.index_bytes_per_article.set(per_article);
    }

    /// A commit (daemon segment or Kafka offset commit) that made
    /// `output_bytes` durable, with the latency in seconds of each input it
    /// covered (time from taking the input to its commit).
    pub fn committed(&self, output_bytes: u64, latencies: &[f64]) {
        self.commits.inc();
        self.output_bytes.inc_by(output_bytes);
        for &l in latencies {
            self.commit_latency.observe(l);
        }
    }

    /// The body of GET /metrics: the Prometheus text format, version 0.0.4
    /// (content type [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail, and the collectors return no
        // errors of their own; should the crate ever report one, serve what
        // was encoded rather than nothing.
        if let Err(e) = prometheus_text::encode(&mut out, &self.registry) {
            warn!("encoding metrics: {e}");
        }
        out
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The totals of one [`Summary`] that are exported as counters.
#[derive(Debug, Default, Clone, PartialEq)]
struct Totals {
    inputs: u64,
    input_bytes: u64,
    written: u64,
    exact_duplicates: u64,
    near_duplicates: u64,
    dropped_duplicates: u64,
    rejected: BTreeMap<String, u64>,
    boilerplate: BTreeMap<String, u64>,
    entities: BTreeMap<String, u64>,
    stage_seconds: BTreeMap<String, f64>,
}

impl Totals {
    fn from_summary(s: &Summary) -> Self {
        Totals {
            inputs: s.inputs,
            input_bytes: s.input_bytes,
            written: s.written,
            exact_duplicates: s.exact_duplicates,
            near_duplicates: s.near_duplicates,
            dropped_duplicates: s.dropped_duplicates,
            rejected: s.rejected.clone(),
            boilerplate: s.boilerplate.clone(),
            entities: s.entities.clone(),
            stage_seconds: s
                .stages
                .iter()
                .map(|(name, t)| {
                    let secs = if t.seconds.is_finite() && t.seconds > 0.0 {
                        t.seconds
                    } else {
                        0.0
                    };
                    (name.clone(), secs)
                })
                .collect(),
        }
    }

    /// True when no total is below `prev`'s, i.e. this snapshot continues the
    /// run `prev` was taken from.
    fn covers(&self, prev: &Totals) -> bool {
        fn map_covers<V: PartialOrd + Default>(
            new: &BTreeMap<String, V>,
            prev: &BTreeMap<String, V>,
        ) -> bool {
            prev.iter()
                .all(|(k, p)| new.get(k).is_some_and(|n| n >= p) || *p <= V::default())
        }
        self.inputs >= prev.inputs
            && self.input_bytes >= prev.input_bytes
            && self.written >= prev.written
            && self.exact_duplicates >= prev.exact_duplicates
            && self.near_duplicates >= prev.near_duplicates
            && self.dropped_duplicates >= prev.dropped_duplicates
            && map_covers(&self.rejected, &prev.rejected)
            && map_covers(&self.boilerplate, &prev.boilerplate)
            && map_covers(&self.entities, &prev.entities)
            && map_covers(&self.stage_seconds, &prev.stage_seconds)
    }

    /// Add what `new` has beyond `base` (which `new` covers).
    fn add_growth(&mut self, base: &Totals, new: &Totals) {
        fn grow_map(
            into: &mut BTreeMap<String, u64>,
            base: &BTreeMap<String, u64>,
            new: &BTreeMap<String, u64>,
        ) {
            for (k, n) in new {
                let b = base.get(k).copied().unwrap_or(0);
                *into.entry(k.clone()).or_default() += n.saturating_sub(b);
            }
        }
        self.inputs += new.inputs.saturating_sub(base.inputs);
        self.input_bytes += new.input_bytes.saturating_sub(base.input_bytes);
        self.written += new.written.saturating_sub(base.written);
        self.exact_duplicates += new.exact_duplicates.saturating_sub(base.exact_duplicates);
        self.near_duplicates += new.near_duplicates.saturating_sub(base.near_duplicates);
        self.dropped_duplicates += new
            .dropped_duplicates
            .saturating_sub(base.dropped_duplicates);
        grow_map(&mut self.rejected, &base.rejected, &new.rejected);
        grow_map(&mut self.boilerplate, &base.boilerplate, &new.boilerplate);
        grow_map(&mut self.entities, &base.entities, &new.entities);
        for (k, n) in &new.stage_seconds {
            let b = base.stage_seconds.get(k).copied().unwrap_or(0.0);
            *self.stage_seconds.entry(k.clone()).or_default() += (n - b).max(0.0);
        }
    }
}

/// The last snapshot published and the monotonic totals exported from it.
#[derive(Debug, Default)]
struct RunTotals {
    last: Totals,
    exported: Totals,
}

/// Encodes the run totals at scrape time, all from one consistent state.
#[derive(Debug)]
struct TotalsCollector(Arc<Mutex<RunTotals>>);

impl Collector for TotalsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let run = lock(&self.0);
        let t = &run.exported;
        let mut counter = |name: &str, help: &str, v: u64| -> Result<(), fmt::Error> {
            let m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(v).encode(m)
        };
        counter(
            "newspipe_inputs",
            "Inputs taken (files, JSONL lines, messages).",
            t.inputs,
        )?;
        counter(
            "newspipe_input_bytes",
            "Bytes of inputs taken, rejected ones included.",
            t.input_bytes,
        )?;
        counter(
            "newspipe_records_written",
            "Records written to the output (committed or about to be).",
            t.written,
        )?;
        counter(
            "newspipe_dropped_duplicates",
            "Duplicates left out of the output.",
            t.dropped_duplicates,
        )?;

        let mut dups = encoder.encode_descriptor(
            "newspipe_duplicates",
            "Articles marked as duplicates, by kind.",
            None,
            MetricType::Counter,
        )?;
        for (kind, v) in [("exact", t.exact_duplicates), ("near", t.near_duplicates)] {
            ConstCounter::new(v).encode(dups.encode_family(&[("kind", kind)])?)?;
        }

        for (name, help, label, map) in [
            (
                "newspipe_rejected",
                "Inputs rejected, by reason.",
                "reason",
                &t.rejected,
            ),
            (
                "newspipe_entities",
                "Entities tagged, by label.",
                "label",
                &t.entities,
            ),
            (
                "newspipe_boilerplate_spans",
                "Boilerplate spans removed, by rule.",
                "rule",
                &t.boilerplate,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (value, n) in map {
                ConstCounter::new(*n).encode(family.encode_family(&[(label, value.as_str())])?)?;
            }
        }

        let mut stages = encoder.encode_descriptor(
            "newspipe_stage_seconds",
            "CPU seconds spent in each stage, summed over workers.",
            None,
            MetricType::Counter,
        )?;
        for (stage, secs) in &t.stage_seconds {
            ConstCounter::new(*secs).encode(stages.encode_family(&[("stage", stage.as_str())])?)?;
        }
        Ok(())
    }
}

/// Reads the queue probes at scrape time.
struct QueueCollector(Arc<Mutex<Vec<QueueProbe>>>);

impl fmt::Debug for QueueCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = lock(&self.0).iter().map(|(n, _)| *n).collect();
        f.debug_tuple("QueueCollector").field(&names).finish()
    }
}

impl Collector for QueueCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let depths: Vec<(&'static str, u64)> = lock(&self.0)
            .iter()
            .map(|(name, probe)| (*name, u64::try_from(probe()).unwrap_or(u64::MAX)))
            .collect();
        let mut family = encoder.encode_descriptor(
            "newspipe_queue_depth",
            "Articles waiting in each queue between stages.",
            None,
            MetricType::Gauge,
        )?;
        for (queue, depth) in depths {
            ConstGauge::new(depth).encode(family.encode_family(&[("queue", queue)])?)?;
        }
        Ok(())
    }
}

/// Bounds on the HTTP endpoint.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Connections served at once; further clients wait in the listen backlog.
    max_connections: usize,
    /// Time a connection gets to deliver a complete request head, counted from
    /// when the server starts waiting for it: on a new connection, and again
    /// after each response on a kept-alive one.
    header_read: Duration,
    /// Time a handler gets to produce its response (408 after that).
    request: Duration,
    /// After shutdown, time in-flight requests get to finish before their
    /// connections are dropped.
    drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: MAX_CONNECTIONS,
            header_read: Duration::from_secs(5),
            request: Duration::from_secs(5),
            drain: Duration::from_secs(5),
        }
    }
}

/// File descriptors kept for the pipeline whatever the endpoint does: the
/// file being read, the open segment and rejects file, state writes and
/// directory syncs, the inotify instance and a rescan's directory walk, the
/// runtime's own, stdio, with room to spare. The endpoint gets what is left
/// under `RLIMIT_NOFILE`, up to [`MAX_CONNECTIONS`].
pub const FD_RESERVE: u64 = 32;
/// Most connections served at once, however high the fd limit.
pub const MAX_CONNECTIONS: usize = 64;
/// Fewest connections worth serving: below this the fd limit is too low to
/// run both the pipeline and the endpoint.
const MIN_CONNECTIONS: u64 = 4;

/// The soft `RLIMIT_NOFILE`; `None` when unlimited or unknown.
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// How many connections the endpoint may hold open so that, at its
/// limit, [`FD_RESERVE`] descriptors are still free for the pipeline: a flood
/// of idle clients then waits in the kernel's listen backlog (which costs no
/// descriptor) instead of starving ingestion. Refuses a limit too low to
/// leave both their share, naming it and how to raise it.
fn connection_bound(nofile: Option<u64>) -> Result<usize> {
    let Some(limit) = nofile else {
        return Ok(MAX_CONNECTIONS);
    };
    let spare = limit.saturating_sub(FD_RESERVE);
    if spare < MIN_CONNECTIONS {
        return Err(Error::Config(format!(
            "the open-file limit (RLIMIT_NOFILE) is {limit}: the metrics endpoint needs at least \
             {} ({FD_RESERVE} kept for the pipeline, {MIN_CONNECTIONS} for connections). Raise it \
             (`ulimit -n`, systemd's LimitNOFILE=) or turn the endpoint off with `metrics.addr = \"\"`",
            FD_RESERVE + MIN_CONNECTIONS
        )));
    }
    Ok(usize::try_from(spare).map_or(MAX_CONNECTIONS, |s| s.min(MAX_CONNECTIONS)))
}

/// Pause after a failed accept (e.g. out of file descriptors) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A running `/metrics` endpoint.
pub struct Endpoint {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Endpoint {
    /// Listen on `metrics.addr` and serve `metrics`; `None` when the address
    /// is empty. Fails, naming the address, when it cannot listen.
    pub async fn start(cfg: &MetricsConfig, metrics: &Arc<Metrics>) -> Result<Option<Endpoint>> {
        if cfg.addr.is_empty() {
            return Ok(None);
        }
        let limits = Limits {
            max_connections: connection_bound(open_file_limit())?,
            ..Limits::default()
        };
        let listener = TcpListener::bind(&cfg.addr)
            .await
            .map_err(|source| Error::Io {
                op: "cannot listen for metrics on",
                path: cfg.addr.clone().into(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_or_else(|_| cfg.addr.clone(), |a| a.to_string());
        tracing::info!("metrics on http://{addr}/metrics");
        tracing::info!(
            "metrics endpoint serves at most {} connections at once ({FD_RESERVE} file descriptors kept for the pipeline)",
            limits.max_connections
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_http_with(
            listener,
            Arc::clone(metrics),
            async {
                let _ = stopped.await;
            },
            limits,
        ));
        Ok(Some(Endpoint { stop, task }))
    }

    /// Stop serving and wait for the server to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Serve /metrics and /healthz on `listener` until `shutdown` resolves.
///
/// At most 64 connections are served at once; a client has 5 s to send a
/// complete request head (on a new connection, and between requests on a
/// kept-alive one) and a handler 5 s to answer. Once `shutdown` resolves the
/// listener is closed, requests in flight get up to 5 s to finish, and every
/// connection is closed before this returns.
pub async fn serve_http(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    serve_http_with(listener, metrics, shutdown, Limits::default()).await;
}

fn router(metrics: Arc<Metrics>, request_timeout: Duration) -> Router {
    Router::new()
        .route("/metrics", get(get_metrics))
        .route("/healthz", get(healthz))
        .with_state(metrics)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
}

async fn get_metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn serve_http_with(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) {
    let service = TowerToHyperService::new(router(metrics, limits.request));
    let mut http = http1::Builder::new();
    // hyper enforces the header read timeout only with a timer installed.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        while connections.try_join_next().is_some() {}
        // Take a connection slot before accepting, so a full server leaves
        // new clients in the listen backlog instead of accepting and stalling.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    debug!("metrics: accept: {e}");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service.clone()));
        connections.spawn(async move {
            if let Err(e) = conn.await {
                debug!("metrics connection: {e}");
            }
            drop(permit);
        });
    }

    drop(listener);
    // Idle kept-alive connections close at once; a connection still waiting
    // for its first request head closes when its header read timeout fires.
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        debug!(
            "metrics: closing {} connections still open after shutdown",
            connections.len()
        );
    }
    connections.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use crate::summary::StageTime;

    /// Every family `/metrics` must expose, as the parser names them.
    const FAMILIES: [&str; 19] = [
        "newspipe_up",
        "newspipe_info",
        "newspipe_inputs_total",
        "newspipe_input_bytes_total",
        "newspipe_records_written_total",
        "newspipe_rejected_total",
        "newspipe_duplicates_total",
        "newspipe_dropped_duplicates_total",
        "newspipe_entities_total",
        "newspipe_boilerplate_spans_total",
        "newspipe_stage_seconds_total",
        "newspipe_commits_total",
        "newspipe_output_bytes_total",
        "newspipe_dedup_index_articles",
        "newspipe_dedup_index_bytes",
        "newspipe_dedup_index_bytes_per_article",
        "newspipe_queue_depth",
        "newspipe_commit_latency_seconds",
        "newspipe_commit_latency_seconds_count",
    ];

    fn summary(inputs: u64, rejected_binary: u64) -> Summary {
        let mut s = Summary::new(2, Vec::new());
        s.inputs = inputs;
        s.input_bytes = inputs * 100;
        s.written = inputs - rejected_binary;
        s.exact_duplicates = 1;
        s.near_duplicates = 2;
        s.dropped_duplicates = 0;
        s.rejected.insert("binary".into(), rejected_binary);
        s.rejected.insert("we\"ird\\re\nason".into(), 1);
        s.entities.insert("LOC".into(), 2);
        s.boilerplate.insert("cookie-banner".into(), 3);
        s.stages.insert(
            "normalize".into(),
            StageTime {
                seconds: 0.5,
                mb_per_s: 1.0,
            },
        );
        s
    }

    fn filled() -> Metrics {
        let m = Metrics::new("serve");
        m.publish(&summary(2, 1));
        m.committed(500, &[0.2, 3.0]);
        m.index(4, 1000);
        m.set_queues(vec![("source", Box::new(|| 7)), ("sink", Box::new(|| 0))]);
        m
    }

    /// Parse `text` with prometheus-parse, checking that every sample line was
    /// understood and every family is present.
    fn parse_all(text: &str) -> prometheus_parse::Scrape {
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parse");
        let sample_lines = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        let parsed: usize = scrape
            .samples
            .iter()
            .map(|s| match &s.value {
                prometheus_parse::Value::Histogram(b) => b.len(),
                _ => 1,
            })
            .sum();
        assert_eq!(parsed, sample_lines, "unparsed lines in\n{text}");
        for family in FAMILIES {
            assert!(
                scrape.samples.iter().any(|s| s.metric == family),
                "missing family {family}\n{text}"
            );
        }
        scrape
    }

    #[test]
    fn render_has_every_family_and_parses() {
        let text = filled().render();
        for line in [
            "newspipe_up 1",
            "newspipe_info{mode=\"serve\"} 1",
            "newspipe_inputs_total 2",
            "newspipe_input_bytes_total 200",
            "newspipe_records_written_total 1",
            "newspipe_rejected_total{reason=\"binary\"} 1",
            "newspipe_rejected_total{reason=\"we\\\"ird\\\\re\\nason\"} 1",
            "newspipe_duplicates_total{kind=\"exact\"} 1",
            "newspipe_duplicates_total{kind=\"near\"} 2",
            "newspipe_dropped_duplicates_total 0",
            "newspipe_entities_total{label=\"LOC\"} 2",
            "newspipe_boilerplate_spans_total{rule=\"cookie-banner\"} 3",
            "newspipe_stage_seconds_total{stage=\"normalize\"} 0.5",
            "newspipe_commits_total 1",
            "newspipe_output_bytes_total 500",
            "newspipe_dedup_index_articles 4",
            "newspipe_dedup_index_bytes 1000",
            "newspipe_dedup_index_bytes_per_article 250.0",
            "newspipe_queue_depth{queue=\"source\"} 7",
            "newspipe_queue_depth{queue=\"sink\"} 0",
            "newspipe_commit_latency_seconds_bucket{le=\"0.1\"} 0",
            "newspipe_commit_latency_seconds_bucket{le=\"0.25\"} 1",
            "newspipe_commit_latency_seconds_bucket{le=\"5\"} 2",
            "newspipe_commit_latency_seconds_bucket{le=\"300\"} 2",
            "newspipe_commit_latency_seconds_bucket{le=\"+Inf\"} 2",
            "newspipe_commit_latency_seconds_count 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        let scrape = parse_all(&text);
        let inputs = scrape
            .samples
            .iter()
            .find(|s| s.metric == "newspipe_inputs_total")
            .expect("inputs");
        assert_eq!(inputs.value, prometheus_parse::Value::Counter(2.0));
        let latency = scrape
            .samples
            .iter()
            .find(|s| s.metric == "newspipe_commit_latency_seconds")
            .expect("histogram");
        match &latency.value {
            prometheus_parse::Value::Histogram(b) => assert_eq!(b.len(), 11),
            other => panic!("not a histogram: {other:?}"),
        }
    }

    #[test]
    fn empty_index_has_zero_bytes_per_article() {
        let m = Metrics::new("kafka");
        m.index(0, 0);
        let text = m.render();
        assert!(text.lines().any(|l| l == "newspipe_info{mode=\"kafka\"} 1"));
        assert!(text
            .lines()
            .any(|l| l == "newspipe_dedup_index_bytes_per_article 0.0"));
    }

    fn value(text: &str, series: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .to_owned()
    }

    #[test]
    fn counters_follow_snapshots_and_never_go_down() {
        let m = Metrics::new("serve");
        m.publish(&summary(2, 1));
        m.publish(&summary(5, 1));
        m.publish(&summary(5, 1)); // the final publish repeats the last snapshot
        let text = m.render();
        assert_eq!(value(&text, "newspipe_inputs_total"), "5");
        assert_eq!(
            value(&text, "newspipe_rejected_total{reason=\"binary\"}"),
            "1"
        );
        // A lower snapshot is a new run: its totals add to what was exported.
        m.publish(&summary(3, 2));
        let text = m.render();
        assert_eq!(value(&text, "newspipe_inputs_total"), "8");
        assert_eq!(
            value(&text, "newspipe_rejected_total{reason=\"binary\"}"),
            "3"
        );
        assert_eq!(
            value(&text, "newspipe_stage_seconds_total{stage=\"normalize\"}"),
            "1.0"
        );
        m.publish(&summary(4, 2));
        assert_eq!(value(&m.render(), "newspipe_inputs_total"), "9");
    }

    struct Server {
        addr: SocketAddr,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Server {
        async fn start(limits: Limits) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let shutdown = async move {
                let _ = stopped.await;
            };
            let task = tokio::spawn(serve_http_with(
                listener,
                Arc::new(filled()),
                shutdown,
                limits,
            ));
            Server {
                addr,
                stop: Some(stop),
                task,
            }
        }

        async fn stop(mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            tokio::time::timeout(Duration::from_secs(2), self.task)
                .await
                .expect("serve_http resolves after shutdown")
                .expect("no panic");
        }
    }

    #[test]
    fn connection_bound_keeps_the_fd_reserve() {
        assert_eq!(connection_bound(None).unwrap(), MAX_CONNECTIONS);
        assert_eq!(connection_bound(Some(1 << 20)).unwrap(), MAX_CONNECTIONS);
        assert_eq!(connection_bound(Some(64)).unwrap(), 32);
        assert_eq!(connection_bound(Some(FD_RESERVE + 4)).unwrap(), 4);
        let err = connection_bound(Some(20)).unwrap_err().to_string();
        assert!(err.contains("RLIMIT_NOFILE") && err.contains("20"), "{err}");
    }

    fn short_limits() -> Limits {
        Limits {
            max_connections: 4,
            header_read: Duration::from_millis(150),
            request: Duration::from_secs(1),
            drain: Duration::from_secs(1),
        }
    }

    /// Send `method path` with `Connection: close`; return status and body.
    async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut raw))
            .await
            .expect("response in time")
            .expect("read");
        let raw = String::from_utf8(raw).expect("utf-8");
        let (head, body) = raw.split_once("\r\n\r\n").expect("head");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, head.to_owned(), body.to_owned())
    }

    /// Wait for the server to close `s`; return how long that took.
    async fn closed_after(s: &mut TcpStream) -> Duration {
        let start = Instant::now();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("server closes a silent connection");
        // EOF, or a reset when the server dropped unread bytes.
        assert!(matches!(read, Ok(0) | Err(_)), "unexpected {read:?}");
        start.elapsed()
    }

    #[tokio::test]
    async fn http_routes() {
        let server = Server::start(short_limits()).await;
        let (status, head, body) = request(server.addr, "GET", "/metrics").await;
        assert_eq!(status, 200);
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        parse_all(&body);
        assert!(body.contains("newspipe_queue_depth{queue=\"source\"} 7"));

        let (status, _, body) = request(server.addr, "GET", "/healthz").await;
        assert_eq!((status, body.as_str()), (200, "ok\n"));
        let (status, _, _) = request(server.addr, "GET", "/nope").await;
        assert_eq!(status, 404);
        let (status, _, _) = request(server.addr, "POST", "/metrics").await;
        assert_eq!(status, 405);
        server.stop().await;
    }

    #[tokio::test]
    async fn silent_and_slow_clients_are_cut_off() {
        let limits = short_limits();
        let server = Server::start(limits).await;
        // Connects and sends nothing.
        let mut silent = TcpStream::connect(server.addr).await.expect("connect");
        // Sends half a request head and stalls.
        let mut slow = TcpStream::connect(server.addr).await.expect("connect");
        slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: te")
            .await
            .expect("write");
        let waited = closed_after(&mut silent).await;
        assert!(waited >= limits.header_read / 2, "cut after {waited:?}");
        closed_after(&mut slow).await;
        // The server still answers.
        assert_eq!(request(server.addr, "GET", "/healthz").await.0, 200);
        server.stop().await;
    }

    #[tokio::test]
    async fn connections_beyond_the_bound_wait() {
        let limits = Limits {
            max_connections: 1,
            ..short_limits()
        };
        let server = Server::start(limits).await;
        let mut silent = TcpStream::connect(server.addr).await.expect("connect");
        // Let the server take the one slot for `silent`.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let start = Instant::now();
        let (status, _, _) = request(server.addr, "GET", "/healthz").await;
        let waited = start.elapsed();
        assert_eq!(status, 200);
        assert!(
            waited >= limits.header_read / 2,
            "second client served after {waited:?}, before the first was cut off"
        );
        closed_after(&mut silent).await;
        server.stop().await;
    }

    #[tokio::test]
    async fn shutdown_resolves_with_a_connection_open() {
        let server = Server::start(short_limits()).await;
        assert_eq!(request(server.addr, "GET", "/healthz").await.0, 200);
        let mut idle = TcpStream::connect(server.addr).await.expect("connect");
        server.stop().await;
        closed_after(&mut idle).await;
    }

    #[tokio::test]
    async fn serve_http_stops_on_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_http(
            listener,
            Arc::new(Metrics::new("serve")),
            async move {
                let _ = stopped.await;
            },
        ));
        let (status, _, body) = request(addr, "GET", "/metrics").await;
        assert_eq!(status, 200);
        assert!(body.contains("newspipe_up 1"));
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("serve_http resolves after shutdown")
            .expect("no panic");
        assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
    }
}

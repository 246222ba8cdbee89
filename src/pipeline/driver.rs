//! The one driver every mode runs through.
//!
//! [`drive`] owns what is the same for a batch run, the daemon and Kafka: the
//! stop flag, the consumer thread that folds every outcome into the
//! [`Summary`] and logs each rejection, drain-on-error, the shutdown
//! deadline, periodic ticks and live metrics. A mode brings only its source
//! (a closure feeding an [`Emitter`]) and an [`OutcomeSink`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{start, Core, Outcome};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::record::Article;
use crate::source::{Emitter, Rejected};
use crate::stage::dedup::Deduplicator;
use crate::summary::Summary;

/// How a run ended, as told to [`OutcomeSink::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The source ran dry; every input has an outcome.
    Complete,
    /// A shutdown was requested; every input read has an outcome, but the
    /// source was not read to its end.
    Interrupted,
    /// A sink call or a pipeline task failed; outcomes after the failure were
    /// counted but not handed to the sink.
    Failed,
}

/// Where a mode's outcomes go, in input order, on a thread of its own (so
/// every method may block on I/O).
///
/// The driver has already counted each outcome in the summary and logged
/// each rejection; the sink only writes. After a method returns an error the
/// driver stops the source, drains what is in flight without calling the
/// sink again, and ends with [`Ending::Failed`].
pub trait OutcomeSink: Send + 'static {
    /// A record to write; `json` is its serialized form, no newline.
    fn record(&mut self, article: &Article, json: &[u8]) -> Result<()>;
    /// A duplicate left out of the output (`dedup.drop_duplicates`).
    fn dropped(&mut self, article: &Article) -> Result<()>;
    /// An input that produced no record.
    fn rejected(&mut self, rejected: &Rejected) -> Result<()>;
    /// How often [`OutcomeSink::tick`] must run, busy or idle; `None` for
    /// never (the default).
    fn tick_every(&self) -> Option<Duration> {
        None
    }
    /// Time-driven work: commit an old segment, commit offsets.
    fn tick(&mut self) -> Result<()> {
        Ok(())
    }
    /// Called once, after the last outcome: publish or discard.
    fn finish(self: Box<Self>, ending: Ending) -> Result<()>;
}

/// What a run needs besides its source and sink.
pub struct DriveOptions {
    /// The dedup index to start from (a daemon's recovered one), if dedup is on.
    pub dedup: Option<Deduplicator>,
    /// Longest time to drain after a shutdown request; `None` waits for as
    /// long as draining takes.
    pub deadline: Option<(Duration, &'static str)>,
    /// Progress display; hidden when absent.
    pub progress: Option<indicatif::ProgressBar>,
    /// Live counters for `/metrics`.
    pub metrics: Option<Arc<Metrics>>,
}

/// What [`drive`] hands back.
pub struct Driven {
    /// Totals of the run; `interrupted` is set when a shutdown cut it short.
    pub summary: Summary,
    /// The dedup index as the run left it.
    pub dedup: Option<Deduplicator>,
}

/// Outcomes handled between two progress updates or metrics snapshots.
const REPORT_EVERY: u64 = 64;

/// Run `source` through the stages of `core` into `sink` until the source is
/// done or `shutdown` resolves. On shutdown the source stops reading and
/// everything in flight drains to the sink, within the deadline if one is
/// set. Returns the summary; a sink or task failure is the error.
pub async fn drive<S, K>(
    core: &Core,
    source: S,
    sink: K,
    options: DriveOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<Driven>
where
    S: FnOnce(&mut Emitter<'_>) + Send + 'static,
    K: OutcomeSink,
{
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut stream = start(core, source, options.dedup, Arc::clone(&stop))?;
    if let Some(m) = &options.metrics {
        m.set_queues(std::mem::take(&mut stream.queues));
    }
    let consumer = Consumer {
        summary: Summary::new(core.threads(), core.stages.names()),
        sink: Box::new(sink),
        error: None,
        progress: options
            .progress
            .unwrap_or_else(indicatif::ProgressBar::hidden),
        metrics: options.metrics.clone(),
        stop: Arc::clone(&stop),
        started,
    };
    let outcomes = stream.outcomes.clone();
    let handle = tokio::runtime::Handle::current();
    let consumer = tokio::task::spawn_blocking(move || consumer.run(&outcomes, &handle));

    tokio::pin!(consumer);
    tokio::pin!(shutdown);
    let mut interrupted = false;
    let consumed = loop {
        tokio::select! {
            r = &mut consumer => break r,
            () = &mut shutdown, if !interrupted => {
                interrupted = true;
                stop.store(true, Ordering::Relaxed);
                match options.deadline {
                    Some((limit, _)) => info!("shutting down: no new input; draining within {limit:?}"),
                    None => warn!("interrupted: finishing articles in flight"),
                }
                if let Some((limit, key)) = options.deadline {
                    match tokio::time::timeout(limit, &mut consumer).await {
                        Ok(r) => break r,
                        Err(_) => return Err(Error::ShutdownTimeout { limit, key }),
                    }
                }
            }
        }
    };
    let consumer = consumed.map_err(|e| Error::Task(format!("outcome consumer: {e}")))?;
    let finished = stream.finish().await;
    let ending = match (&consumer.error, &finished) {
        (None, Ok(_)) if interrupted => Ending::Interrupted,
        (None, Ok(_)) => Ending::Complete,
        _ => Ending::Failed,
    };
    let Consumer {
        mut summary,
        sink,
        error,
        metrics,
        ..
    } = consumer;
    let finish = tokio::task::spawn_blocking(move || sink.finish(ending))
        .await
        .map_err(|e| Error::Task(format!("outcome sink: {e}")))?;
    if let Some(e) = error {
        return Err(e);
    }
    let finished = finished?;
    finish?;
    let dedup = finished.dedup;
    summary.add_skipped(&finished.skipped);
    summary.interrupted = interrupted;
    let (len, bytes) = dedup.as_ref().map_or((0, 0), |d| (d.len(), d.heap_bytes()));
    summary.finish(started.elapsed(), len, bytes);
    if let Some(m) = &metrics {
        m.publish(&summary);
        m.index(len, bytes);
    }
    Ok(Driven { summary, dedup })
}

/// The consumer thread's state.
struct Consumer {
    summary: Summary,
    sink: Box<dyn OutcomeSink>,
    error: Option<Error>,
    progress: indicatif::ProgressBar,
    metrics: Option<Arc<Metrics>>,
    stop: Arc<AtomicBool>,
    started: Instant,
}

impl Consumer {
    /// Handle every outcome until the channel closes, ticking the sink on
    /// time; returns itself for the books.
    fn run(
        mut self,
        outcomes: &async_channel::Receiver<Outcome>,
        rt: &tokio::runtime::Handle,
    ) -> Self {
        let every = self.sink.tick_every();
        let mut last_tick = Instant::now();
        loop {
            let next = match every {
                None => outcomes.recv_blocking().ok(),
                Some(every) => {
                    let wait = every.saturating_sub(last_tick.elapsed());
                    match rt.block_on(tokio::time::timeout(wait, outcomes.recv())) {
                        Ok(Ok(outcome)) => Some(outcome),
                        Ok(Err(_closed)) => None,
                        Err(_timeout) => {
                            self.tick();
                            last_tick = Instant::now();
                            continue;
                        }
                    }
                }
            };
            let Some(outcome) = next else { break };
            self.handle(outcome);
            if every.is_some_and(|e| last_tick.elapsed() >= e) {
                self.tick();
                last_tick = Instant::now();
            }
        }
        self.progress.finish_and_clear();
        self
    }

    fn handle(&mut self, outcome: Outcome) {
        let result = match outcome {
            Outcome::Record {
                article,
                json,
                stats,
            } => {
                self.summary.add_article(&stats, true);
                self.live(|s| s.record(&article, &json))
            }
            Outcome::Dropped { article, stats } => {
                self.summary.add_article(&stats, false);
                self.live(|s| s.dropped(&article))
            }
            Outcome::Rejected(r) => {
                self.progress
                    .suspend(|| warn!("rejected {}: {}", r.location(), r.reason));
                self.summary.add_rejected(r.kind, r.bytes);
                self.live(|s| s.rejected(&r))
            }
        };
        self.fail_on(result);
        self.progress.inc(1);
        if self.summary.inputs % REPORT_EVERY == 0 {
            self.report();
        }
    }

    /// Call the sink unless it has already failed.
    fn live(&mut self, f: impl FnOnce(&mut dyn OutcomeSink) -> Result<()>) -> Result<()> {
        if self.error.is_some() {
            return Ok(());
        }
        f(&mut *self.sink)
    }

    fn tick(&mut self) {
        let result = self.live(|s| s.tick());
        self.fail_on(result);
        self.report();
    }

    /// After a failure, stop the source and keep draining, so nothing
    /// upstream blocks on a full channel.
    fn fail_on(&mut self, result: Result<()>) {
        if let Err(e) = result {
            if self.error.is_none() {
                self.stop.store(true, Ordering::Relaxed);
                self.error = Some(e);
            }
        }
    }

    fn report(&mut self) {
        let s = &self.summary;
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let mb = s.input_bytes as f64 / 1e6;
        self.progress.set_message(format!(
            "{mb:.1} MB, {:.1} MB/s, {} rejected",
            mb / secs,
            s.rejected_total()
        ));
        if let Some(m) = &self.metrics {
            let mut snapshot = s.clone();
            snapshot.finish(self.started.elapsed(), 0, 0);
            m.publish(&snapshot);
            if let Some((len, bytes)) = s.last_index {
                m.index(len, bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::tests::core;
    use crate::record::SourceInfo;
    use crate::source::Input;
    use std::sync::Mutex;

    /// What a test sink saw, shared with the test.
    #[derive(Default)]
    struct Seen {
        records: Vec<u64>,
        rejected: Vec<u64>,
        ticks: usize,
        ending: Option<Ending>,
    }

    struct TestSink {
        seen: Arc<Mutex<Seen>>,
        fail_at: Option<u64>,
        tick: Option<Duration>,
    }

    impl OutcomeSink for TestSink {
        fn record(&mut self, article: &Article, _: &[u8]) -> Result<()> {
            if self.fail_at == Some(article.seq) {
                return Err(Error::Output(std::io::Error::other("disk full")));
            }
            self.seen.lock().unwrap().records.push(article.seq);
            Ok(())
        }
        fn dropped(&mut self, _: &Article) -> Result<()> {
            Ok(())
        }
        fn rejected(&mut self, r: &Rejected) -> Result<()> {
            self.seen.lock().unwrap().rejected.push(r.seq);
            Ok(())
        }
        fn tick_every(&self) -> Option<Duration> {
            self.tick
        }
        fn tick(&mut self) -> Result<()> {
            self.seen.lock().unwrap().ticks += 1;
            Ok(())
        }
        fn finish(self: Box<Self>, ending: Ending) -> Result<()> {
            self.seen.lock().unwrap().ending = Some(ending);
            Ok(())
        }
    }

    fn options() -> DriveOptions {
        DriveOptions {
            dedup: None,
            deadline: None,
            progress: None,
            metrics: None,
        }
    }

    /// A source of `n` distinct articles, every fifth one empty (rejected).
    fn articles(n: u64) -> impl FnOnce(&mut Emitter<'_>) + Send + 'static {
        move |e: &mut Emitter<'_>| {
            for i in 0..n {
                let seq = e.next_seq();
                let text = if i % 5 == 4 {
                    String::new()
                } else {
                    format!("Story {i}\n\nThe body of story number {i} has words.")
                };
                let input = Input::Raw {
                    seq,
                    source: SourceInfo {
                        path: format!("{i}.txt"),
                        ..SourceInfo::default()
                    },
                    bytes: text.into_bytes(),
                };
                if !e.emit(input) {
                    return;
                }
            }
        }
    }

    /// A shutdown future that resolves once `done` holds of what the sink
    /// saw, or after ten seconds (and then the test's assertions fail).
    fn once(
        seen: &Arc<Mutex<Seen>>,
        done: impl Fn(&Seen) -> bool + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let seen = Arc::clone(seen);
        async move {
            let started = Instant::now();
            while !done(&seen.lock().unwrap()) && started.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    fn sink(seen: &Arc<Mutex<Seen>>, fail_at: Option<u64>, tick: Option<Duration>) -> TestSink {
        TestSink {
            seen: Arc::clone(seen),
            fail_at,
            tick,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_input_reaches_the_sink_in_order_and_the_summary() {
        let seen = Arc::default();
        let driven = drive(
            &core(2, 4),
            articles(50),
            sink(&seen, None, None),
            options(),
            std::future::pending(),
        )
        .await
        .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.records.len() + seen.rejected.len(), 50);
        assert!(seen.records.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(seen.ending, Some(Ending::Complete));
        let s = &driven.summary;
        assert_eq!((s.inputs, s.written, s.rejected_total()), (50, 40, 10));
        assert_eq!(s.rejected.get("empty"), Some(&10));
        assert!(s.stages.contains_key("normalize") && s.stages.contains_key("decode"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sink_error_stops_the_source_drains_and_fails_the_run() {
        let seen = Arc::default();
        let err = drive(
            &core(2, 2),
            articles(100_000),
            sink(&seen, Some(3), None),
            options(),
            std::future::pending(),
        )
        .await
        .err()
        .unwrap();
        assert!(err.to_string().contains("cannot write output"), "{err}");
        let seen = seen.lock().unwrap();
        // Nothing after the failure reached the sink, and the source stopped
        // long before its end.
        assert_eq!(seen.records, [0, 1, 2]);
        assert_eq!(seen.ending, Some(Ending::Failed));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_drains_what_was_read_and_says_interrupted() {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        // A source that never ends by itself: only the shutdown stops it.
        let endless = |e: &mut Emitter<'_>| {
            for i in 0.. {
                let seq = e.next_seq();
                let input = Input::Raw {
                    seq,
                    source: SourceInfo::default(),
                    bytes: format!("Story {i}\n\nBody of story {i}.").into_bytes(),
                };
                if !e.emit(input) {
                    return;
                }
            }
        };
        let shutdown = once(&seen, |s| s.ticks >= 1 && s.records.len() >= 10);
        let driven = drive(
            &core(2, 4),
            endless,
            sink(&seen, None, Some(Duration::from_millis(10))),
            options(),
            shutdown,
        )
        .await
        .unwrap();
        let seen = seen.lock().unwrap();
        assert!(driven.summary.interrupted);
        assert_eq!(seen.ending, Some(Ending::Interrupted));
        assert_eq!(driven.summary.written, seen.records.len() as u64);
        assert!(seen.ticks >= 1, "ticks run while busy");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ticks_run_while_idle() {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let idle = |e: &mut Emitter<'_>| {
            while !e.stopped() {
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        // No input arrives meanwhile.
        let shutdown = once(&seen, |s| s.ticks >= 5);
        drive(
            &core(1, 1),
            idle,
            sink(&seen, None, Some(Duration::from_millis(10))),
            options(),
            shutdown,
        )
        .await
        .unwrap();
        let seen = seen.lock().unwrap();
        assert!(seen.ticks >= 5, "{} ticks", seen.ticks);
        assert!(seen.records.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_drain_past_the_deadline_is_an_error_naming_the_key() {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        // A source that ignores the stop flag for a while, as a stuck input would.
        let stuck = |_: &mut Emitter<'_>| std::thread::sleep(Duration::from_millis(1500));
        let mut opts = options();
        opts.deadline = Some((Duration::from_millis(50), "serve.shutdown_timeout_secs"));
        let err = drive(
            &core(1, 1),
            stuck,
            sink(&seen, None, None),
            opts,
            tokio::time::sleep(Duration::from_millis(20)),
        )
        .await
        .err()
        .unwrap();
        assert!(
            err.to_string().contains("serve.shutdown_timeout_secs"),
            "{err}"
        );
    }
}

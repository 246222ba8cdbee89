//! The wiring: bounded channels between stages, one worker pool, input order.
//!
//! ```text
//!  source thread ──▶ prepare (pool) ──▶ dedup (in order) ──▶ enrich (pool) ──▶ sink thread
//!   read files        decode, normalize,   exact + near        entities,          write, count,
//!   and JSONL lines   title, boilerplate,  verdict             serialize          progress
//!                     fingerprint
//! ```
//!
//! Every arrow is a bounded `async_channel`, so a slow sink slows the source
//! (backpressure end to end) and at most a few channel-capacities of articles
//! are in memory. Between the source and the sink, articles travel in
//! batches of whatever is already queued (up to [`BATCH_ITEMS`] articles or
//! [`BATCH_BYTES`]; never waiting to fill one): a thread hand-off costs as
//! much as a few kilobytes of text take to normalize, so it is paid per
//! batch, not per article. CPU work runs on a fixed pool of OS threads,
//! never on the async reactor; [`ordered_map`] hands results on in input
//! order, which is what makes the output identical for any thread count.
//! The only sequential step is the dedup verdict, a handful of hash lookups
//! per article.
//!
//! [`start`] wires the stages; [`driver::drive`] runs them for every mode,
//! between a mode's source and its [`driver::OutcomeSink`].

pub mod driver;
pub mod learn;

pub use driver::{drive, DriveOptions, Driven, Ending, OutcomeSink};

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use async_channel::{bounded, Receiver, Sender};
use serde::Deserialize;

use crate::error::{Error, RejectReason, Result};
use crate::record::{Article, SourceInfo};
use crate::source::{Emitter, Input, Rejected};
use crate::stage::dedup::{DedupConfig, Deduplicator};
use crate::stage::{StageSettings, Stages};
use crate::summary::ArticleStats;

/// `[pipeline]` config section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Worker threads for CPU-heavy stages; 0 means one per core.
    pub threads: usize,
    /// Capacity of each bounded channel, in articles.
    pub channel_capacity: usize,
}

/// Most worker threads.
pub const MAX_THREADS: usize = 1024;
/// Largest channel capacity, in articles: with inputs of up to
/// `input.max_file_bytes` each, more would only hold memory.
pub const MAX_CHANNEL_CAPACITY: usize = 65_536;

impl PipelineConfig {
    /// The thread count with 0 resolved to the number of cores.
    pub fn effective_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    /// Check the values, naming the key.
    pub fn validate(&self) -> Result<()> {
        if self.threads > MAX_THREADS {
            return Err(Error::Config(format!(
                "invalid value for `pipeline.threads`: must be 0 (one per core) to {MAX_THREADS}"
            )));
        }
        if self.channel_capacity == 0 || self.channel_capacity > MAX_CHANNEL_CAPACITY {
            return Err(Error::Config(format!(
                "invalid value for `pipeline.channel_capacity`: must be 1 to {MAX_CHANNEL_CAPACITY}"
            )));
        }
        Ok(())
    }
}

/// What every mode runs: the stages, built (rules and model loaded) before
/// any mode touches its state, and the settings that shape the wiring.
pub struct Core {
    config: PipelineConfig,
    stages: Arc<Stages>,
    dedup: DedupConfig,
}

impl Core {
    /// Build the stages from their sections; fails on a bad rules file or model.
    pub fn build(config: &PipelineConfig, stages: StageSettings<'_>) -> Result<Core> {
        Ok(Core {
            config: config.clone(),
            stages: Arc::new(Stages::new(stages)?),
            dedup: stages.dedup.clone(),
        })
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.config.effective_threads()
    }

    /// The built stages.
    pub fn stages(&self) -> &Stages {
        &self.stages
    }

    /// The `[dedup]` section the stages were built with.
    pub fn dedup_config(&self) -> &DedupConfig {
        &self.dedup
    }

    /// A fresh dedup index when dedup is on: remembering everything
    /// (`retention_secs = None`, a batch run) or only the last
    /// `dedup.retention_days` by the articles' clock (daemon, Kafka).
    pub fn deduplicator(&self, retain: bool) -> Option<Deduplicator> {
        let retention = if retain {
            self.dedup.retention_secs()
        } else {
            u64::MAX
        };
        self.dedup
            .enabled
            .then(|| Deduplicator::with_retention(&self.dedup, retention))
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Most articles carried together between stages.
pub const BATCH_ITEMS: usize = 16;

/// Input bytes after which a batch takes no more articles.
pub const BATCH_BYTES: usize = 256 * 1024;

/// A bounded channel of batches that also counts the articles in it, so
/// queue depths are reported in articles whatever the batching.
struct BatchChannel<T> {
    tx: Sender<Vec<T>>,
    rx: Receiver<Vec<T>>,
    queued: Arc<AtomicUsize>,
}

impl<T> BatchChannel<T> {
    fn new(batches: usize) -> Self {
        let (tx, rx) = bounded(batches.max(1));
        BatchChannel {
            tx,
            rx,
            queued: Arc::default(),
        }
    }

    fn sender(&self) -> BatchSender<T> {
        BatchSender {
            tx: self.tx.clone(),
            queued: Arc::clone(&self.queued),
        }
    }

    fn receiver(&self) -> BatchReceiver<T> {
        BatchReceiver {
            rx: self.rx.clone(),
            queued: Arc::clone(&self.queued),
        }
    }

    fn probe(&self, name: &'static str) -> QueueProbe {
        let queued = Arc::clone(&self.queued);
        (name, Box::new(move || queued.load(Ordering::Relaxed)))
    }
}

/// The sending half of a [`BatchChannel`].
struct BatchSender<T> {
    tx: Sender<Vec<T>>,
    queued: Arc<AtomicUsize>,
}

impl<T> BatchSender<T> {
    /// Send a batch; false once the receivers are gone.
    async fn send(&self, batch: Vec<T>) -> bool {
        let n = batch.len();
        self.queued.fetch_add(n, Ordering::Relaxed);
        let sent = self.tx.send(batch).await.is_ok();
        if !sent {
            self.queued.fetch_sub(n, Ordering::Relaxed);
        }
        sent
    }
}

/// The receiving half of a [`BatchChannel`].
struct BatchReceiver<T> {
    rx: Receiver<Vec<T>>,
    queued: Arc<AtomicUsize>,
}

impl<T> BatchReceiver<T> {
    /// The next batch; `None` once the channel is closed and empty.
    async fn recv(&self) -> Option<Vec<T>> {
        let batch = self.rx.recv().await.ok()?;
        self.queued.fetch_sub(batch.len(), Ordering::Relaxed);
        Some(batch)
    }
}

/// Group the source's inputs into batches: wait for one, then take only
/// what is already queued, so a batch never waits to fill and a lone
/// article (a daemon's new file) goes on at once.
async fn batch_inputs(input: Receiver<Input>, output: BatchSender<Input>) {
    while let Ok(first) = input.recv().await {
        let mut bytes = input_bytes(&first);
        let mut batch = Vec::with_capacity(BATCH_ITEMS);
        batch.push(first);
        while batch.len() < BATCH_ITEMS && bytes < BATCH_BYTES {
            let Ok(next) = input.try_recv() else { break };
            bytes += input_bytes(&next);
            batch.push(next);
        }
        if !output.send(batch).await {
            break;
        }
    }
}

/// Bytes an input carries, for batch sizing.
pub(crate) fn input_bytes(input: &Input) -> usize {
    match input {
        Input::Raw { bytes, .. } => bytes.len(),
        Input::Parsed(a) => a.text.len(),
        Input::Prepared(k) => k.article.text.len(),
        Input::Rejected(_) => 0,
    }
}

/// A fixed set of OS threads running CPU-bound jobs.
///
/// Jobs never block (they compute and hand their result to a oneshot), so
/// several [`ordered_map`]s can share one pool without deadlock.
pub struct WorkerPool {
    jobs: Sender<Job>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl WorkerPool {
    /// Start `threads` workers behind a queue of `capacity` jobs.
    pub fn new(threads: usize, capacity: usize) -> Result<Self> {
        let (tx, rx) = bounded::<Job>(capacity.max(1));
        let threads = (0..threads.max(1))
            .map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("newspipe-worker-{i}"))
                    .spawn(move || {
                        while let Ok(job) = rx.recv_blocking() {
                            job();
                        }
                    })
                    .map_err(|e| Error::Task(format!("cannot start worker thread: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(WorkerPool { jobs: tx, threads })
    }

    async fn submit(&self, job: Job) -> Result<()> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| Error::Task("worker pool closed".into()))
    }

    /// Stop accepting jobs and wait for the workers to finish.
    pub fn join(self) {
        drop(self.jobs);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Apply `f` to every item of every batch of `input` on the pool, one job
/// per batch, sending result batches to `output` in input order. At most
/// `window` batches are in flight.
async fn ordered_map<I, O>(
    pool: &WorkerPool,
    input: BatchReceiver<I>,
    output: BatchSender<O>,
    window: usize,
    f: Arc<dyn Fn(I) -> O + Send + Sync>,
) -> Result<()>
where
    I: Send + 'static,
    O: Send + 'static,
{
    let (order_tx, order_rx) = bounded::<tokio::sync::oneshot::Receiver<Vec<O>>>(window.max(1));
    let dispatch = async move {
        while let Some(batch) = input.recv().await {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let f = Arc::clone(&f);
            pool.submit(Box::new(move || {
                let out = batch.into_iter().map(|item| f(item)).collect();
                // A send error means the collector is gone; the run is failing anyway.
                let _ = tx.send(out);
            }))
            .await?;
            if order_tx.send(rx).await.is_err() {
                break;
            }
        }
        Ok::<(), Error>(())
    };
    let collect = async move {
        while let Ok(pending) = order_rx.recv().await {
            let out = pending
                .await
                .map_err(|_| Error::Task("a worker died while processing an article".into()))?;
            if !output.send(out).await {
                break;
            }
        }
        Ok::<(), Error>(())
    };
    tokio::try_join!(dispatch, collect)?;
    Ok(())
}

/// What the sink receives for each input, in input order.
#[derive(Debug)]
pub enum Outcome {
    /// A record to write.
    Record {
        /// The finished article.
        article: Box<Article>,
        /// Its JSON form, no trailing newline.
        json: Vec<u8>,
        /// What it adds to the summary.
        stats: ArticleStats,
    },
    /// A duplicate left out by `--drop-duplicates`.
    Dropped {
        /// The article, for consumers that keep books on every input.
        article: Box<Article>,
        /// What it adds to the summary.
        stats: ArticleStats,
    },
    /// An input that could not be processed.
    Rejected(Rejected),
}

type Prepared = std::result::Result<(Box<Article>, ArticleStats), Rejected>;

/// An article after the dedup verdict: to enrich and write, or to leave out.
type Decided = std::result::Result<(Box<Article>, ArticleStats, bool), Rejected>;

/// A named queue whose current depth can be read (for metrics).
pub type QueueProbe = (&'static str, Box<dyn Fn() -> usize + Send + Sync>);

/// The stages between a source and a consumer, running.
pub struct Stream {
    /// Outcomes in input order; closed when the source is done and drained.
    pub outcomes: Receiver<Outcome>,
    /// Depth probes of the queues between stages, for metrics.
    pub queues: Vec<QueueProbe>,
    task: tokio::task::JoinHandle<Result<Finished>>,
}

/// What a stream leaves once every stage is done.
pub struct Finished {
    /// The dedup state, for reporting (or for a daemon to keep).
    pub dedup: Option<Deduplicator>,
    /// What the source passed over on purpose, by kind ([`Emitter::skip`]).
    pub skipped: BTreeMap<&'static str, u64>,
}

impl Stream {
    /// Wait for every stage to finish; returns the dedup state and the
    /// source's skip counts. Call after `outcomes` is drained.
    pub async fn finish(self) -> Result<Finished> {
        self.task
            .await
            .map_err(|e| Error::Task(format!("pipeline: {e}")))?
    }
}

/// Start the stages. `source` runs on a thread of its own and feeds inputs
/// through the [`Emitter`] it is given; setting `stop` makes it stop reading,
/// after which everything in flight drains to `outcomes`. `dedup` carries
/// the dedup state to start from (a daemon's recovered index), if enabled.
/// Modes call [`drive`], which calls this.
pub fn start<S>(
    core: &Core,
    source: S,
    dedup: Option<Deduplicator>,
    stop: Arc<AtomicBool>,
) -> Result<Stream>
where
    S: FnOnce(&mut Emitter<'_>) + Send + 'static,
{
    let threads = core.threads();
    let cap = core.config.channel_capacity;
    let stages = Arc::clone(&core.stages);
    let pool = WorkerPool::new(threads, threads * 2)?;
    // Channels between workers hold batches; in articles, about `cap` each.
    let batches = (cap / BATCH_ITEMS).max(2);

    let (src_tx, src_rx) = bounded::<Input>(cap);
    let (out_tx, out_rx) = bounded::<Outcome>(cap);
    let batched = BatchChannel::<Input>::new(batches);
    let prepared = BatchChannel::<Prepared>::new(batches);
    let deduped = BatchChannel::<Decided>::new(batches);
    let enriched = BatchChannel::<Outcome>::new(batches);
    // Extra receivers only read lengths; channels still close when their senders go.
    let src_probe = src_rx.clone();
    let probes = [
        batched.probe("batched"),
        prepared.probe("prepared"),
        deduped.probe("deduped"),
        enriched.probe("enriched"),
    ];

    let source = tokio::task::spawn_blocking(move || {
        let mut send = |i: Input| src_tx.send_blocking(i).is_ok();
        let mut emitter = Emitter::new(&mut send, &stop);
        source(&mut emitter);
        emitter.take_skipped()
    });

    let prepare: Arc<dyn Fn(Input) -> Prepared + Send + Sync> = {
        let stages = Arc::clone(&stages);
        Arc::new(move |input: Input| {
            let (seq, origin) = origin_of(&input);
            catch_unwind(AssertUnwindSafe(|| stages.prepare(input)))
                .unwrap_or_else(|panic| Err(internal(seq, &origin, "prepare", panic)))
        })
    };
    let enrich: Arc<dyn Fn(Decided) -> Outcome + Send + Sync> = {
        let stages = Arc::clone(&stages);
        Arc::new(move |decided: Decided| match decided {
            Err(r) => Outcome::Rejected(r),
            Ok((article, mut stats, keep)) => {
                let (seq, origin) = (article.seq, article.source.clone());
                catch_unwind(AssertUnwindSafe(|| {
                    finish_article(&stages, article, &mut stats, keep)
                }))
                .unwrap_or_else(|panic| Outcome::Rejected(internal(seq, &origin, "enrich", panic)))
            }
        })
    };

    // Each stage owns its ends, so a channel closes as soon as the stage
    // before it is done.
    let (batch_tx, batch_rx) = (batched.sender(), batched.receiver());
    let (prep_tx, prep_rx) = (prepared.sender(), prepared.receiver());
    let (dedup_tx, dedup_rx) = (deduped.sender(), deduped.receiver());
    let (enr_tx, enr_rx) = (enriched.sender(), enriched.receiver());
    drop((batched, prepared, deduped, enriched));
    let task = tokio::spawn(async move {
        let mut dedup = dedup;
        let dedup_step = async {
            while let Some(batch) = prep_rx.recv().await {
                let batch: Vec<Decided> = batch
                    .into_iter()
                    .map(|prepared| {
                        let (mut article, mut stats) = prepared?;
                        let keep = match dedup.as_mut() {
                            Some(d) => {
                                let keep = d.process(&mut article);
                                stats.dedup_index = Some((d.len(), d.heap_bytes()));
                                keep
                            }
                            None => true,
                        };
                        Ok((article, stats, keep))
                    })
                    .collect();
                if !dedup_tx.send(batch).await {
                    break;
                }
            }
            drop(dedup_tx);
            Ok::<(), Error>(())
        };
        // Consumers take outcomes one at a time, in order.
        let unbatch = async move {
            'batches: while let Some(batch) = enr_rx.recv().await {
                for outcome in batch {
                    if out_tx.send(outcome).await.is_err() {
                        break 'batches;
                    }
                }
            }
            Ok::<(), Error>(())
        };
        let result = tokio::try_join!(
            async {
                batch_inputs(src_rx, batch_tx).await;
                Ok::<(), Error>(())
            },
            ordered_map(&pool, batch_rx, prep_tx, batches, prepare),
            dedup_step,
            ordered_map(&pool, dedup_rx, enr_tx, batches, enrich),
            unbatch,
        );
        let joined = tokio::task::spawn_blocking(move || pool.join()).await;
        result?;
        joined.map_err(|e| Error::Task(format!("worker pool: {e}")))?;
        let skipped = source
            .await
            .map_err(|e| Error::Task(format!("source: {e}")))?;
        Ok(Finished { dedup, skipped })
    });
    let mut queues: Vec<QueueProbe> = vec![("source", Box::new(move || src_probe.len()))];
    queues.extend(probes);
    queues.push((
        "outcomes",
        Box::new({
            let out = out_rx.clone();
            move || out.len()
        }),
    ));
    Ok(Stream {
        outcomes: out_rx,
        queues,
        task,
    })
}

fn finish_article(
    stages: &Stages,
    mut article: Box<Article>,
    stats: &mut ArticleStats,
    keep: bool,
) -> Outcome {
    if !keep {
        stats.observe(&article);
        return Outcome::Dropped {
            article,
            stats: std::mem::take(stats),
        };
    }
    if let Err(reason) = stages.enrich(&mut article, stats) {
        return Outcome::Rejected(Rejected::new(article.seq, &article.source, reason));
    }
    stats.observe(&article);
    match serde_json::to_vec(&*article) {
        Ok(json) => Outcome::Record {
            article,
            json,
            stats: std::mem::take(stats),
        },
        Err(e) => Outcome::Rejected(Rejected::new(
            article.seq,
            &article.source,
            RejectReason::Internal(format!("cannot serialize record: {e}")),
        )),
    }
}

fn origin_of(input: &Input) -> (u64, SourceInfo) {
    match input {
        Input::Raw { seq, source, .. } => (*seq, source.clone()),
        Input::Parsed(a) => (a.seq, a.source.clone()),
        Input::Prepared(k) => (k.article.seq, k.article.source.clone()),
        Input::Rejected(r) => (
            r.seq,
            SourceInfo {
                path: r.path.clone(),
                line: r.line,
                bytes: r.bytes,
                input_hash: r.input_hash,
                ..SourceInfo::default()
            },
        ),
    }
}

fn internal(
    seq: u64,
    origin: &SourceInfo,
    step: &str,
    panic: Box<dyn std::any::Any + Send>,
) -> Rejected {
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Rejected::new(
        seq,
        origin,
        RejectReason::Internal(format!("panic in {step}: {msg}")),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::stage::{boilerplate, dedup, entities, title};
    use std::time::Duration;

    fn raw(seq: u64, text: &str) -> Input {
        Input::Raw {
            seq,
            source: SourceInfo {
                path: format!("{seq}.txt"),
                ..SourceInfo::default()
            },
            bytes: text.as_bytes().to_vec(),
        }
    }

    /// A core with every stage but the tagger (slow in debug builds).
    pub(crate) fn core(threads: usize, cap: usize) -> Core {
        let pipeline = PipelineConfig {
            threads,
            channel_capacity: cap,
        };
        let entities = entities::EntitiesConfig {
            enabled: false,
            ..entities::EntitiesConfig::default()
        };
        let stages = StageSettings {
            title: &title::TitleConfig::default(),
            boilerplate: &boilerplate::BoilerplateConfig::default(),
            dedup: &dedup::DedupConfig::default(),
            entities: &entities,
        };
        Core::build(&pipeline, stages).unwrap()
    }

    /// Articles with exact and near duplicates spread out, so the verdicts
    /// depend on input order.
    fn dup_texts() -> Vec<String> {
        (0..200)
            .map(|i| {
                let base = i % 37;
                let tail = if i % 3 == 0 { " Extra words here." } else { "" };
                format!(
                    "Headline number {base}\n\nThe council of town {base} met on Monday to \
                     discuss the budget for the coming year, and agreed on roads {base}.{tail}"
                )
            })
            .collect()
    }

    /// The records of a run over `dup_texts`, and the dedup index size.
    async fn run_start(threads: usize, cap: usize) -> (Vec<Vec<u8>>, usize) {
        let s = core(threads, cap);
        let dedup = s.deduplicator(false);
        let texts = dup_texts();
        let source = move |e: &mut Emitter<'_>| {
            for t in &texts {
                let seq = e.next_seq();
                if !e.emit(raw(seq, t)) {
                    break;
                }
            }
        };
        let stream = start(&s, source, dedup, Arc::default()).unwrap();
        let outcomes = stream.outcomes.clone();
        let got = tokio::task::spawn_blocking(move || {
            let mut got = Vec::new();
            while let Ok(o) = outcomes.recv_blocking() {
                match o {
                    Outcome::Record { json, .. } => got.push(json),
                    o => panic!("unexpected {o:?}"),
                }
            }
            got
        })
        .await
        .unwrap();
        let dedup = stream.finish().await.unwrap().dedup.unwrap();
        (got, dedup.len())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batching_does_not_change_dedup_verdicts_or_bytes() {
        let (one, len) = run_start(1, 1).await;
        assert_eq!(one.len(), 200);
        let dups = one
            .iter()
            .filter(|j| !String::from_utf8_lossy(j).contains("\"status\":\"unique\""))
            .count();
        assert!(dups >= 100, "{dups} duplicates");
        for (threads, cap) in [(2, 3), (4, 64), (3, 256)] {
            assert_eq!(run_start(threads, cap).await, (one.clone(), len));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_article_is_not_held_back_to_fill_a_batch() {
        // The source sends the next article only once the previous one has
        // come out: a pipeline that waited to fill batches would stall here.
        let s = core(2, 256);
        let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
        let source = move |e: &mut Emitter<'_>| {
            for i in 0..5 {
                let seq = e.next_seq();
                if !e.emit(raw(seq, &format!("Article {i} stands alone in its batch."))) {
                    break;
                }
                if ack_rx.recv_timeout(Duration::from_secs(20)).is_err() {
                    break;
                }
            }
        };
        let stream = start(&s, source, None, Arc::default()).unwrap();
        let outcomes = stream.outcomes.clone();
        let seqs = tokio::task::spawn_blocking(move || {
            let mut seqs = Vec::new();
            while let Ok(o) = outcomes.recv_blocking() {
                if let Outcome::Record { article, .. } = o {
                    seqs.push(article.seq);
                }
                let _ = ack_tx.send(());
            }
            seqs
        })
        .await
        .unwrap();
        stream.finish().await.unwrap();
        assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
    }
}

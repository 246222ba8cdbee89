//! The broker side of `newspipe kafka`: a librdkafka consumer as the source
//! and a producer as the [`OutcomeSink`] of the one driver
//! ([`crate::pipeline::drive`]).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tracing::{debug, info, warn};

use super::message::{to_input, Coordinates};
use super::offsets::{OffsetBook, ReadMark, TopicPartition};
use super::{KafkaConfig, KafkaOptions};
use crate::error::{Error, Result};
use crate::metrics::{Endpoint, Metrics};
use crate::pipeline::{drive, Core, DriveOptions, Ending, OutcomeSink};
use crate::record::{Article, MessageAt};
use crate::serve::learned::Online;
use crate::source::{Emitter, Input, Rejected};
use crate::summary::Summary;

fn kafka_err(op: &'static str, e: KafkaError) -> Error {
    Error::Kafka {
        op,
        message: e.to_string(),
    }
}

/// Consumer callbacks. Before partitions are revoked, the work already read
/// from them is finished and committed (see [`Handover`]), so their next
/// owner starts where this instance stopped instead of redoing a batch.
struct ConsumerCtx {
    /// What the source has read (and so handed to the pipeline), per
    /// partition. Only the consumer thread touches it: the source between
    /// polls and this callback inside one.
    read: Mutex<ReadMark>,
    handover: SyncSender<Handover>,
    /// Longest wait for the writer in a revoke.
    limit: Duration,
}

impl ClientContext for ConsumerCtx {}

impl ConsumerContext for ConsumerCtx {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                info!("partitions revoked: {}", describe(tpl));
                self.commit_before_revoke(tpl);
            }
            Rebalance::Assign(tpl) => info!("partitions assigned: {}", describe(tpl)),
            Rebalance::Error(e) => warn!("rebalance error: {e}"),
        }
    }
}

impl ConsumerCtx {
    /// Ask the writer to write, flush and commit everything read from the
    /// revoked partitions, and wait for it. Runs on the consumer thread, which
    /// reads nothing meanwhile; the pipeline and the writer keep going. A
    /// writer that is gone or too slow costs only redone work, as before.
    fn commit_before_revoke(&self, tpl: &TopicPartitionList) {
        let upto = self
            .read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .highest(tpl.elements().iter().map(|e| (e.topic(), e.partition())));
        if upto.is_empty() {
            return;
        }
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        if self.handover.send(Handover { upto, reply }).is_err() {
            debug!("revoke: the writer has stopped; nothing more to commit");
            return;
        }
        match answer.recv_timeout(self.limit) {
            Ok(Ok(done)) => info!("revoke: committed before handing over: {done}"),
            Ok(Err(e)) => warn!("revoke: could not commit before handing over: {e}"),
            Err(RecvTimeoutError::Disconnected) => {
                warn!(
                    "revoke: the writer stopped before committing; the next owner redoes the rest"
                );
            }
            Err(RecvTimeoutError::Timeout) => warn!(
                "revoke: the writer did not commit within {:?}; the next owner redoes the rest",
                self.limit
            ),
        }
    }
}

/// A request from the revoke callback to the writer: once the outcome of
/// every message up to `upto` (per partition) is handled, flush and commit,
/// then reply with what was committed.
struct Handover {
    upto: Vec<(TopicPartition, i64)>,
    reply: SyncSender<std::result::Result<String, String>>,
}

fn describe(tpl: &TopicPartitionList) -> String {
    let parts: Vec<String> = tpl
        .elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Producer callbacks: count failed deliveries, so a batch with one is never
/// committed.
#[derive(Default)]
struct DeliveryCtx {
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for DeliveryCtx {}

impl ProducerContext for DeliveryCtx {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = self.first_error.lock() {
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

type Consumer_ = BaseConsumer<ConsumerCtx>;
type Producer_ = ThreadedProducer<DeliveryCtx>;

/// Run until `shutdown` resolves: consume `kafka.input_topic` in group
/// `kafka.group`, process every message through the configured stages and
/// produce one record per article to `kafka.output_topic`, keyed by `id`.
/// On shutdown, stop polling, drain what is in flight, flush, commit, leave
/// the group, and return the run's summary.
pub async fn run(
    core: &Core,
    cfg: &KafkaConfig,
    options: KafkaOptions<'_>,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary> {
    cfg.require()?;
    let limit = Duration::from_secs(cfg.flush_timeout_secs);
    // One request at a time: the consumer thread waits for each reply.
    let (handover, handovers) = std::sync::mpsc::sync_channel(1);
    let consumer: Arc<Consumer_> = Arc::new(
        ClientConfig::new()
            .set("bootstrap.servers", &cfg.brokers)
            .set("group.id", &cfg.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", &cfg.auto_offset_reset)
            .set("session.timeout.ms", cfg.session_timeout_ms.to_string())
            .create_with_context(ConsumerCtx {
                read: Mutex::new(ReadMark::default()),
                handover,
                limit,
            })
            .map_err(|e| kafka_err("cannot create consumer", e))?,
    );
    consumer
        .subscribe(&[cfg.input_topic.as_str()])
        .map_err(|e| kafka_err("cannot subscribe", e))?;
    let producer: Arc<Producer_> = Arc::new(
        ClientConfig::new()
            .set("bootstrap.servers", &cfg.brokers)
            .set("enable.idempotence", cfg.idempotence.to_string())
            .set("linger.ms", "5")
            .create_with_context(DeliveryCtx::default())
            .map_err(|e| kafka_err("cannot create producer", e))?,
    );
    info!(
        "consuming {} as group {} from {}; producing to {}",
        cfg.input_topic, cfg.group, cfg.brokers, cfg.output_topic
    );

    let metrics = Arc::new(Metrics::new("kafka"));
    let endpoint = Endpoint::start(options.metrics, &metrics).await?;
    // Learned chrome, per instance and in memory like the dedup index: what
    // this instance read since it started, renewed every
    // `learn_refresh_articles` messages as in the daemon.
    let stages = core.stages();
    let learning = stages.learning().then(|| {
        Online::start(
            Arc::clone(stages.chrome_slot()),
            stages.learn_params(),
            stages.learn_bounds(),
            stages.learn_refresh(),
            0,
            None,
        )
    });
    if learning.is_some() {
        info!("learning boilerplate from the messages this instance reads");
    }
    let gate = learning.as_ref().map(Online::gate);
    let writer = Writer {
        learning,
        cfg: cfg.clone(),
        consumer: Arc::clone(&consumer),
        producer,
        book: OffsetBook::new(),
        handovers,
        handing_over: None,
        metrics: Arc::clone(&metrics),
        pending_bytes: 0,
        pending_times: Vec::new(),
        last_commit: Instant::now(),
        records: 0,
        rejected: 0,
        commits: 0,
    };
    let max_bytes = options.input.max_file_bytes;
    let source = {
        let consumer = Arc::clone(&consumer);
        move |emitter: &mut Emitter<'_>| match gate {
            None => consume(&consumer, max_bytes, emitter),
            // Each message waits for its block's learned chrome.
            Some(gate) => {
                let stop = emitter.stop_flag();
                let mut push = |input: Input| {
                    gate.wait(input.seq(), stop);
                    emitter.emit(input)
                };
                consume(&consumer, max_bytes, &mut Emitter::new(&mut push, stop));
            }
        }
    };
    let driven = drive(
        core,
        source,
        writer,
        DriveOptions {
            dedup: core.deduplicator(true),
            deadline: Some((limit, "kafka.flush_timeout_secs")),
            progress: None,
            metrics: Some(Arc::clone(&metrics)),
        },
        shutdown,
    )
    .await;
    consumer.unsubscribe();
    if let Some(e) = endpoint {
        e.stop().await;
    }
    let driven = driven?;
    info!("stopped cleanly");
    Ok(driven.summary)
}

/// The source: one input per message, until a shutdown is requested.
fn consume(consumer: &Consumer_, limit: u64, out: &mut Emitter<'_>) {
    while !out.stopped() {
        let input = match consumer.poll(Duration::from_millis(100)) {
            None => continue,
            Some(Err(e)) => {
                warn!("consumer: {e}");
                continue;
            }
            Some(Ok(msg)) => {
                let at = Coordinates {
                    topic: msg.topic(),
                    partition: msg.partition(),
                    offset: msg.offset(),
                    timestamp_ms: msg.timestamp().to_millis(),
                };
                let mut read = consumer
                    .context()
                    .read
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if !read.first_time(at.topic, at.partition, at.offset) {
                    continue;
                }
                let seq = out.next_seq();
                to_input(at, msg.payload().unwrap_or_default(), seq, limit)
            }
        };
        if !out.emit(input) {
            break;
        }
    }
}

/// The outcome sink: produces, and commits offsets once acknowledged.
struct Writer {
    /// The learner, when `boilerplate.learn` is on; every outcome is folded.
    learning: Option<Online>,
    cfg: KafkaConfig,
    consumer: Arc<Consumer_>,
    producer: Arc<Producer_>,
    book: OffsetBook,
    handovers: Receiver<Handover>,
    /// A revoke waiting for its partitions' outcomes.
    handing_over: Option<Handover>,
    metrics: Arc<Metrics>,
    /// Bytes produced since the last commit.
    pending_bytes: u64,
    /// Timestamps (Unix seconds) of the messages handled since the last
    /// commit, for the commit latency; at most `commit_max_messages`.
    pending_times: Vec<u64>,
    last_commit: Instant,
    records: u64,
    rejected: u64,
    commits: u64,
}

impl Writer {
    /// Note a handled message; commit when enough are pending or a revoke
    /// waits for them.
    fn handled(&mut self, at: Option<&MessageAt>, event_secs: Option<u64>) -> Result<()> {
        match at {
            Some(m) => self.book.handled(&m.topic, m.partition, m.offset),
            None => warn!("an outcome without Kafka coordinates"),
        }
        if let Some(t) = event_secs {
            self.pending_times.push(t);
        }
        if self.hand_over()? {
            return Ok(());
        }
        if self.book.pending_messages() >= self.cfg.commit_max_messages {
            self.commit()?;
        }
        Ok(())
    }

    /// Serve a revoke's [`Handover`] once every message it names is handled.
    /// True when it committed.
    fn hand_over(&mut self) -> Result<bool> {
        if self.handing_over.is_none() {
            match self.handovers.try_recv() {
                Ok(h) => self.handing_over = Some(h),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return Ok(false),
            }
        }
        let ready = self
            .handing_over
            .as_ref()
            .is_some_and(|h| self.book.has_handled(&h.upto));
        if !ready {
            return Ok(false);
        }
        let Some(h) = self.handing_over.take() else {
            return Ok(false);
        };
        let result = self.commit();
        // The callback may have given up waiting; then nobody reads the reply.
        let _ = h.reply.send(match &result {
            Ok(done) => Ok(done.clone()),
            Err(e) => Err(e.to_string()),
        });
        result.map(|_| true)
    }

    fn send(&mut self, topic: &str, key: &str, payload: &[u8]) -> Result<()> {
        self.pending_bytes += payload.len() as u64;
        let mut record = BaseRecord::to(topic).key(key).payload(payload);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // The producer's own thread drains the queue; wait for room.
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(kafka_err("cannot produce", e)),
            }
        }
    }

    /// Wait until every record sent so far is acknowledged, then commit the
    /// offsets of the messages they came from. Says what was committed.
    fn commit(&mut self) -> Result<String> {
        let limit = Duration::from_secs(self.cfg.flush_timeout_secs);
        self.producer
            .flush(limit)
            .map_err(|e| kafka_err("output not acknowledged", e))?;
        let ctx = self.producer.context();
        let failed = ctx.failed.swap(0, Ordering::Relaxed);
        if failed > 0 {
            self.book.discard_pending();
            let first = ctx
                .first_error
                .lock()
                .ok()
                .and_then(|mut f| f.take())
                .unwrap_or_default();
            return Err(Error::Kafka {
                op: "delivery",
                message: format!(
                    "{failed} record(s) were not delivered (first: {first}); \
                     their messages stay uncommitted"
                ),
            });
        }
        let offsets = self.book.acknowledge();
        self.last_commit = Instant::now();
        let bytes = std::mem::take(&mut self.pending_bytes);
        let times = std::mem::take(&mut self.pending_times);
        if offsets.is_empty() {
            return Ok("nothing new".into());
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), next) in &offsets {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*next))
                .map_err(|e| kafka_err("cannot build offset list", e))?;
        }
        let described = describe_offsets(&offsets);
        match self.consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => {
                self.commits += 1;
                // Latency from each message's timestamp to the commit of its output.
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                let latencies: Vec<f64> =
                    times.iter().map(|&t| (now - t as f64).max(0.0)).collect();
                self.metrics.committed(bytes, &latencies);
                debug!("committed {described}");
                Ok(described)
            }
            // After a rebalance the partition's new owner reads from the last
            // accepted commit and writes the same records again: not a loss.
            Err(e) => {
                warn!("commit of {described} refused ({e}); those messages will be redone");
                Ok(format!("none: commit of {described} refused ({e})"))
            }
        }
    }
}

fn describe_offsets(offsets: &[((String, i32), i64)]) -> String {
    offsets
        .iter()
        .map(|((t, p), o)| format!("{t}/{p}@{o}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl OutcomeSink for Writer {
    fn record(&mut self, article: &Article, json: &[u8]) -> Result<()> {
        let topic = self.cfg.output_topic.clone();
        self.send(&topic, &article.id, json)?;
        self.records += 1;
        if let Some(l) = self.learning.as_mut() {
            l.fold(Some(article));
        }
        self.handled(article.source.message.as_deref(), article.source.event_secs)
    }

    fn dropped(&mut self, article: &Article) -> Result<()> {
        if let Some(l) = self.learning.as_mut() {
            l.fold(Some(article));
        }
        self.handled(article.source.message.as_deref(), article.source.event_secs)
    }

    fn rejected(&mut self, r: &Rejected) -> Result<()> {
        self.rejected += 1;
        if let Some(l) = self.learning.as_mut() {
            l.fold(None);
        }
        if !self.cfg.rejects_topic.is_empty() {
            let line = serde_json::to_vec(r).map_err(|e| Error::Kafka {
                op: "cannot serialize a rejection",
                message: e.to_string(),
            })?;
            let topic = self.cfg.rejects_topic.clone();
            self.send(&topic, &r.path, &line)?;
        }
        self.handled(r.message.as_deref(), None)
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(50).min(Duration::from_millis(self.cfg.commit_interval_ms)))
    }

    fn tick(&mut self) -> Result<()> {
        if self.hand_over()? {
            return Ok(());
        }
        let interval = Duration::from_millis(self.cfg.commit_interval_ms);
        if self.book.pending_messages() > 0 && self.last_commit.elapsed() >= interval {
            self.commit()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, ending: Ending) -> Result<()> {
        // After a failure nothing more is committed; the next owner redoes it.
        if ending != Ending::Failed && self.book.pending_messages() > 0 {
            self.commit()?;
        }
        info!(
            "wrote {} records, {} rejected, {} commits",
            self.records, self.rejected, self.commits
        );
        Ok(())
    }
}

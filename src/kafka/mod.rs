//! Kafka: a consumer-group source and an idempotent producer sink
//! (`newspipe kafka`).
//!
//! ```text
//!  consumer thread ──▶ pipeline::drive (same stages as a batch run) ──▶ writer (OutcomeSink)
//!   poll, one message      in input order                               produce keyed by id,
//!   = one input                                                         flush, commit offsets
//!   revoke: "commit up to here" ──────────── one-slot channel ──────────▶ (and reply)
//! ```
//!
//! Each message is one article: a JSON object in the JSONL line format, or
//! raw text ([`message::to_input`]); its source path is
//! `topic/partition/offset`, and the same coordinates travel typed beside it
//! for the commit. The consumer never auto-commits: the writer
//! commits a partition's offset only after the producer has acknowledged the
//! output of every message up to it ([`offsets::OffsetBook`]). So a crash, or
//! a rebalance that moves a partition mid-batch, makes another instance redo
//! the unacknowledged batch: at least once, and because a record is a pure
//! function of the message (its `id` is a content hash, its source path the
//! message's coordinates, no ingest time is stamped), a record written twice
//! is the same record under the same key, so an upsert on `id` (or a
//! compacted topic) gives exactly once.
//!
//! # Commit on revoke
//!
//! A graceful rebalance (an instance joins, or leaves on SIGTERM) redoes
//! nothing. When the group revokes partitions, the consumer thread, inside
//! librdkafka's rebalance callback and so before the partitions move, sends
//! the writer the highest offset it has read from each revoked partition
//! ([`offsets::ReadMark::highest`]) over a one-slot channel and waits. The
//! writer keeps taking outcomes until those offsets are handled
//! ([`offsets::OffsetBook::has_handled`]), then flushes the producer and
//! commits as after any batch (so only acknowledged output is committed),
//! and replies. The consumer polls nothing meanwhile, which is what makes
//! "everything read" a fixed target. The wait is bounded by
//! `kafka.flush_timeout_secs`; past it, or if the writer has failed, the
//! revoke goes ahead and the new owner redoes the uncommitted rest, as after
//! a crash. A crash (SIGKILL, lost session) still redoes the last batch.
//!
//! # Why not Kafka transactions
//!
//! A transactional producer (records and consumed offsets committed
//! together, read back with `isolation.level=read_committed`) would give
//! exactly once without the upsert, but the broker we can test against,
//! tansu 0.6.0, cannot end a transaction, so `newspipe kafka` does not offer
//! a transactional mode it could not test. Measured with librdkafka 2.12.1
//! (the ignored test `broker_supports_transactions_with_offsets_and_fencing`
//! in `tests/it/kafka.rs` replays it):
//!
//! - works: InitProducerId with a `transactional.id`, produce inside a
//!   transaction (AddPartitionsToTxn), `send_offsets_to_transaction`
//!   (AddOffsetsToTxn, TxnOffsetCommit: staged, not applied), and the last
//!   stable offset: a read_committed reader does not see an open
//!   transaction's records;
//! - fails: `commit_transaction` and `abort_transaction`, each with
//!   "Transaction error: EndTxnRequest (KIP-98) not supported by broker,
//!   requires broker version >= 0.11.0". tansu does not serve EndTxn (API
//!   key 26: its broker registers no route for it, so ApiVersions leaves it
//!   out) and librdkafka refuses locally; the producer is then stuck in
//!   that transaction (a later abort: "Conflicting commit_transaction API
//!   call is already in progress"), and the group's offset never moves;
//! - also wrong: when a new producer with the same `transactional.id`
//!   takes over, tansu aborts the open transaction, but its records then
//!   become visible to read_committed readers, because its Fetch responses
//!   never list aborted transactions; and an open transaction has no
//!   timeout, so a crashed producer holds the last stable offset until its
//!   `transactional.id` comes back.
//!
//! Dedup state is per instance and in memory: a duplicate is found only
//! among the messages one instance has seen since it started, and only
//! within `dedup.retention_days` by the messages' timestamps, which keeps
//! the index of a consumer that runs for months bounded. Instances that
//! share a topic's partitions do not share an index, so cross-partition
//! duplicates are marked only when they land on the same instance; and an
//! article redone after a crash could be judged against a different history.
//!
//! The broker client (librdkafka, built with cmake) is behind the cargo
//! feature `kafka`; without it, [`KafkaConfig`] and the pure parts still
//! build and `newspipe kafka` explains how to get it.

pub mod message;
pub mod offsets;

#[cfg(feature = "kafka")]
mod client;
#[cfg(feature = "kafka")]
pub use client::run;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::metrics::MetricsConfig;
use crate::source::InputConfig;

/// What `newspipe kafka` needs besides the built stages and `[kafka]`.
pub struct KafkaOptions<'a> {
    /// `[input]`: the payload size limit.
    pub input: &'a InputConfig,
    /// `[metrics]`.
    pub metrics: &'a MetricsConfig,
}

/// `[kafka]` config section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Topic to consume articles from.
    pub input_topic: String,
    /// Topic to produce records to, keyed by `id`.
    pub output_topic: String,
    /// Topic for rejected messages (JSON, keyed by source path); empty: log only.
    pub rejects_topic: String,
    /// Consumer group; instances in one group share the input's partitions.
    pub group: String,
    /// Where a group with no committed offset starts: `earliest` or `latest`.
    pub auto_offset_reset: String,
    /// Commit at least this often while messages are flowing, in milliseconds.
    pub commit_interval_ms: u64,
    /// Commit after this many handled messages.
    pub commit_max_messages: usize,
    /// Consumer group session timeout, in milliseconds: how long a dead
    /// instance holds its partitions.
    pub session_timeout_ms: u64,
    /// Idempotent producer (no duplicates from producer retries).
    pub idempotence: bool,
    /// Longest wait for the broker to acknowledge a batch, for the commit
    /// before a revoke, and for the drain at shutdown, in seconds.
    pub flush_timeout_secs: u64,
}

impl KafkaConfig {
    /// Check the values, naming the key. Runs for every command, so
    /// `check-config` refuses what `kafka` would; whether the brokers, topics
    /// and group are given is checked by [`KafkaConfig::require`] when the
    /// mode starts.
    pub fn validate(&self) -> Result<()> {
        let topics = [
            ("kafka.input_topic", &self.input_topic),
            ("kafka.output_topic", &self.output_topic),
            ("kafka.rejects_topic", &self.rejects_topic),
        ];
        for (key, topic) in topics {
            if !topic.chars().all(valid_topic_char) || topic.len() > 249 {
                return Err(Error::Config(format!(
                    "`{key}`: {topic:?} is not a Kafka topic name (at most 249 letters, digits, `.`, `_`, `-`)"
                )));
            }
        }
        if !self.input_topic.is_empty() && self.input_topic == self.output_topic {
            return Err(Error::Config(
                "`kafka.output_topic` must differ from `kafka.input_topic`".into(),
            ));
        }
        if !matches!(self.auto_offset_reset.as_str(), "earliest" | "latest") {
            return Err(Error::Config(format!(
                "`kafka.auto_offset_reset` must be \"earliest\" or \"latest\", not {:?}",
                self.auto_offset_reset
            )));
        }
        let bounded = [
            (
                "kafka.commit_interval_ms",
                self.commit_interval_ms,
                3_600_000,
            ),
            (
                "kafka.commit_max_messages",
                self.commit_max_messages as u64,
                1_000_000,
            ),
            (
                "kafka.session_timeout_ms",
                self.session_timeout_ms,
                3_600_000,
            ),
            ("kafka.flush_timeout_secs", self.flush_timeout_secs, 3_600),
        ];
        for (key, v, max) in bounded {
            if v == 0 || v > max {
                return Err(Error::Config(format!(
                    "invalid value for `{key}`: must be 1 to {max}"
                )));
            }
        }
        Ok(())
    }

    /// Check what only `newspipe kafka` needs: brokers, topics and group.
    pub fn require(&self) -> Result<()> {
        for (key, v) in [
            ("kafka.brokers", &self.brokers),
            ("kafka.input_topic", &self.input_topic),
            ("kafka.output_topic", &self.output_topic),
            ("kafka.group", &self.group),
        ] {
            if v.trim().is_empty() {
                return Err(Error::Config(format!(
                    "`{key}` is not set (give it in the config or with its flag)"
                )));
            }
        }
        Ok(())
    }
}

/// Kafka's legal topic characters; `/` in particular would break the
/// `topic/partition/offset` source path.
fn valid_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> KafkaConfig {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            input_topic: "in".into(),
            output_topic: "out".into(),
            rejects_topic: String::new(),
            group: "g".into(),
            auto_offset_reset: "earliest".into(),
            commit_interval_ms: 1000,
            commit_max_messages: 1000,
            session_timeout_ms: 10_000,
            idempotence: true,
            flush_timeout_secs: 30,
        }
    }

    #[test]
    fn complete_config_validates() {
        assert!(cfg().validate().is_ok() && cfg().require().is_ok());
    }

    #[test]
    fn missing_topic_is_named_when_the_mode_starts_only() {
        let mut c = cfg();
        c.output_topic.clear();
        assert!(c.validate().is_ok(), "check-config accepts an unset topic");
        let msg = c.require().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("kafka.output_topic"), "{msg}");
    }

    #[test]
    fn topic_with_a_slash_is_refused() {
        let mut c = cfg();
        c.input_topic = "a/b".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn reading_and_writing_one_topic_is_refused() {
        let mut c = cfg();
        c.output_topic = "in".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn unknown_offset_reset_is_refused() {
        let mut c = cfg();
        c.auto_offset_reset = "smallest-ish".into();
        assert!(c.validate().is_err());
    }

    /// The index of a consumer that runs for months holds only the last
    /// `dedup.retention_days` of messages, by their timestamps: 2,000
    /// distinct messages an hour apart (83 days) leave about 30 days' worth.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn consumer_dedup_index_stays_bounded_under_retention() {
        use crate::pipeline::{drive, DriveOptions, Ending, OutcomeSink};
        use crate::record::Article;
        use crate::source::{Emitter, Rejected};

        struct Count(u64);
        impl OutcomeSink for Count {
            fn record(&mut self, _: &Article, _: &[u8]) -> Result<()> {
                self.0 += 1;
                Ok(())
            }
            fn dropped(&mut self, _: &Article) -> Result<()> {
                Ok(())
            }
            fn rejected(&mut self, r: &Rejected) -> Result<()> {
                Err(Error::Config(format!("unexpected rejection: {}", r.reason)))
            }
            fn finish(self: Box<Self>, _: Ending) -> Result<()> {
                Ok(())
            }
        }

        const HOUR_MS: i64 = 3_600_000;
        let source = || {
            |e: &mut Emitter<'_>| {
                for i in 0..2000_i64 {
                    let at = message::Coordinates {
                        topic: "in",
                        partition: 0,
                        offset: i,
                        timestamp_ms: Some(1_700_000_000_000 + i * HOUR_MS),
                    };
                    let payload = format!(
                        "Report {i}\n\nCouncil meeting number {i} agreed item {} and item {}.",
                        i * 7,
                        i * 13
                    );
                    let seq = e.next_seq();
                    if !e.emit(message::to_input(at, payload.as_bytes(), seq, 1 << 20)) {
                        return;
                    }
                }
            }
        };
        let core = crate::pipeline::tests::core(2, 64);
        let mut held = Vec::new();
        for retain in [true, false] {
            let driven = drive(
                &core,
                source(),
                Count(0),
                DriveOptions {
                    dedup: core.deduplicator(retain),
                    deadline: None,
                    progress: None,
                    metrics: None,
                },
                std::future::pending(),
            )
            .await
            .unwrap();
            assert_eq!(driven.summary.written, 2000);
            held.push(driven.dedup.map_or(0, |d| d.len()));
        }
        // 30 days of hourly messages is 720; generations overshoot by 1/8 at
        // most. Without retention (a batch index) every article stays.
        assert!(
            (700..=811).contains(&held[0]),
            "index holds {} articles",
            held[0]
        );
        assert_eq!(held[1], 2000);
    }
}

//! Which consumed offsets may be committed: pure book-keeping, no broker.
//!
//! Every input taken from Kafka carries its coordinates, typed, in
//! [`crate::record::SourceInfo::message`]. Outcomes arrive in input
//! order, and within one partition input order is offset order, so the
//! highest offset seen for a partition means every earlier one was handled
//! too. Offsets move from *pending* (outcome seen, output not yet
//! acknowledged) to *committable* only when the producer has confirmed the
//! batch, which is what makes a crash redo work rather than lose it.

use std::collections::BTreeMap;

/// A topic and partition.
pub type TopicPartition = (String, i32);

/// The source path of a Kafka message: `topic/partition/offset`.
pub fn location(topic: &str, partition: i32, offset: i64) -> String {
    format!("{topic}/{partition}/{offset}")
}

/// Offsets of handled messages, per partition, split by whether their
/// output is acknowledged.
#[derive(Debug, Default)]
pub struct OffsetBook {
    pending: BTreeMap<TopicPartition, i64>,
    committed: BTreeMap<TopicPartition, i64>,
    pending_messages: usize,
}

impl OffsetBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Note that the message at `offset` has been handled (written, dropped
    /// or rejected); its output is not yet acknowledged.
    pub fn handled(&mut self, topic: &str, partition: i32, offset: i64) {
        let slot = self
            .pending
            .entry((topic.to_owned(), partition))
            .or_insert(offset);
        *slot = (*slot).max(offset);
        self.pending_messages += 1;
    }

    /// Messages handled since the last [`OffsetBook::acknowledge`].
    pub fn pending_messages(&self) -> usize {
        self.pending_messages
    }

    /// The output of every pending message is acknowledged. Returns the
    /// offsets to commit (Kafka's convention: the *next* offset to read), one
    /// per partition, leaving out partitions whose commit would not advance
    /// past an earlier one (a partition re-read after a rebalance).
    pub fn acknowledge(&mut self) -> Vec<(TopicPartition, i64)> {
        self.pending_messages = 0;
        let mut out = Vec::new();
        for (tp, last) in std::mem::take(&mut self.pending) {
            let next = last + 1;
            let prev = self.committed.get(&tp).copied();
            if prev.is_none_or(|p| next > p) {
                self.committed.insert(tp.clone(), next);
                out.push((tp, next));
            }
        }
        out
    }

    /// Forget pending offsets: their output was not acknowledged, so the
    /// messages will be read again from the last commit.
    pub fn discard_pending(&mut self) {
        self.pending.clear();
        self.pending_messages = 0;
    }

    /// True when, for every `(partition, offset)` in `upto`, the message at
    /// `offset` and so every earlier one of its partition has been handled
    /// (acknowledged or still pending).
    pub fn has_handled(&self, upto: &[(TopicPartition, i64)]) -> bool {
        upto.iter().all(|(tp, offset)| {
            let pending = self.pending.get(tp).copied();
            let acknowledged = self.committed.get(tp).map(|next| next - 1);
            pending
                .max(acknowledged)
                .is_some_and(|done| done >= *offset)
        })
    }
}

/// The highest offset this process has read, per partition.
///
/// A partition that is revoked and later assigned back is read again from
/// its last commit; the messages this process already handled are skipped,
/// because their output is written (or the process fails), and processing
/// them again would let the dedup stage mark an article a duplicate of
/// itself.
#[derive(Debug, Default)]
pub struct ReadMark {
    high: BTreeMap<TopicPartition, i64>,
}

impl ReadMark {
    /// True when `offset` is past everything read from the partition so far
    /// (and records it).
    pub fn first_time(&mut self, topic: &str, partition: i32, offset: i64) -> bool {
        match self.high.get_mut(&(topic.to_owned(), partition)) {
            Some(high) if offset <= *high => false,
            Some(high) => {
                *high = offset;
                true
            }
            None => {
                self.high.insert((topic.to_owned(), partition), offset);
                true
            }
        }
    }

    /// The highest offset read from each of `partitions` that this process
    /// has read at all: what must be handled before they are handed over.
    pub fn highest<'a>(
        &self,
        partitions: impl IntoIterator<Item = (&'a str, i32)>,
    ) -> Vec<(TopicPartition, i64)> {
        partitions
            .into_iter()
            .filter_map(|(topic, partition)| {
                let tp = (topic.to_owned(), partition);
                self.high.get(&tp).map(|&high| (tp, high))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_topic_partition_offset() {
        assert_eq!(location("news.in-v2", 7, 123_456), "news.in-v2/7/123456");
    }

    #[test]
    fn commits_the_offset_after_the_highest_handled_per_partition() {
        let mut book = OffsetBook::new();
        book.handled("in", 0, 10);
        book.handled("in", 1, 3);
        book.handled("in", 0, 11);
        assert_eq!(book.pending_messages(), 3);
        let mut got = book.acknowledge();
        got.sort();
        assert_eq!(
            got,
            vec![(("in".to_owned(), 0), 12), (("in".to_owned(), 1), 4)]
        );
        assert_eq!(book.pending_messages(), 0);
        assert!(book.acknowledge().is_empty());
    }

    #[test]
    fn never_commits_backwards_after_a_partition_is_read_again() {
        let mut book = OffsetBook::new();
        book.handled("in", 0, 20);
        book.acknowledge();
        // Re-read from an older commit after a rebalance.
        book.handled("in", 0, 15);
        assert!(book.acknowledge().is_empty());
        book.handled("in", 0, 21);
        assert_eq!(book.acknowledge(), vec![(("in".to_owned(), 0), 22)]);
    }

    #[test]
    fn a_message_read_again_is_not_first_time() {
        let mut mark = ReadMark::default();
        assert!(mark.first_time("in", 0, 5));
        assert!(mark.first_time("in", 0, 6));
        assert!(mark.first_time("in", 1, 0));
        assert!(!mark.first_time("in", 0, 6));
        assert!(!mark.first_time("in", 0, 2));
        assert!(mark.first_time("in", 0, 7));
    }

    #[test]
    fn handled_means_every_named_partition_reached_its_offset() {
        let tp = |p: i32| ("in".to_owned(), p);
        let mut book = OffsetBook::new();
        assert!(book.has_handled(&[]));
        assert!(!book.has_handled(&[(tp(0), 0)]));
        book.handled("in", 0, 4);
        assert!(book.has_handled(&[(tp(0), 4)]));
        assert!(!book.has_handled(&[(tp(0), 5)]));
        assert!(!book.has_handled(&[(tp(0), 4), (tp(1), 0)]));
        // Acknowledged offsets still count as handled.
        book.acknowledge();
        assert!(book.has_handled(&[(tp(0), 4)]));
        assert!(!book.has_handled(&[(tp(0), 5)]));
        book.handled("in", 1, 0);
        assert!(book.has_handled(&[(tp(0), 4), (tp(1), 0)]));
    }

    #[test]
    fn highest_read_covers_only_partitions_read_so_far() {
        let mut mark = ReadMark::default();
        mark.first_time("in", 0, 3);
        mark.first_time("in", 0, 9);
        mark.first_time("in", 2, 1);
        assert_eq!(
            mark.highest([("in", 0), ("in", 1), ("in", 2)]),
            vec![(("in".to_owned(), 0), 9), (("in".to_owned(), 2), 1)]
        );
        assert!(mark.highest([("other", 0)]).is_empty());
    }

    #[test]
    fn discarded_offsets_are_not_committed() {
        let mut book = OffsetBook::new();
        book.handled("in", 2, 5);
        book.discard_pending();
        assert_eq!(book.pending_messages(), 0);
        assert!(book.acknowledge().is_empty());
    }
}

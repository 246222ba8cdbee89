//! One Kafka message as one pipeline input: pure, no broker.

use std::sync::Arc;

use crate::error::RejectReason;
use crate::record::{MessageAt, SourceInfo};
use crate::source::jsonl::parse_line;
use crate::source::{Input, Rejected};

use super::offsets::location;

/// Where a message sits in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coordinates<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Partition number.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// The message's timestamp (producer or broker time), in milliseconds
    /// since the epoch; the clock of dedup retention.
    pub timestamp_ms: Option<i64>,
}

/// Turn a message payload into an [`Input`] numbered `seq`.
///
/// A payload whose first non-blank byte is `{` is one JSON article (the
/// JSONL line format, see [`parse_line`]) and is rejected when it does not
/// parse; anything else is raw article text, decoded on a worker like a file.
/// Payloads over `limit` bytes are rejected unread. The source path is
/// `topic/partition/offset`, for readers; the same coordinates travel typed
/// in [`SourceInfo::message`], which is what the offset commit reads.
pub fn to_input(at: Coordinates<'_>, payload: &[u8], seq: u64, limit: u64) -> Input {
    let source = SourceInfo {
        path: location(at.topic, at.partition, at.offset),
        bytes: payload.len() as u64,
        input_hash: xxhash_rust::xxh3::xxh3_64(payload),
        message: Some(Arc::new(MessageAt {
            topic: Arc::from(at.topic),
            partition: at.partition,
            offset: at.offset,
        })),
        // A message without a timestamp (or one before 1970) counts as time 0:
        // it is kept until retention has moved past it.
        event_secs: Some(
            at.timestamp_ms
                .map_or(0, |ms| u64::try_from(ms / 1000).unwrap_or(0)),
        ),
        ..SourceInfo::default()
    };
    if source.bytes > limit {
        let reason = RejectReason::TooLarge {
            bytes: source.bytes,
            limit,
        };
        return Input::Rejected(Rejected::new(seq, &source, reason));
    }
    let is_json = payload
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if is_json {
        match parse_line(payload, seq, source.clone()) {
            Ok(article) => Input::Parsed(Box::new(article)),
            Err(reason) => Input::Rejected(Rejected::new(seq, &source, reason)),
        }
    } else {
        Input::Raw {
            seq,
            source,
            bytes: payload.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Coordinates<'static> = Coordinates {
        topic: "articles",
        partition: 3,
        offset: 42,
        timestamp_ms: Some(1_700_000_000_123),
    };

    #[test]
    fn json_payload_becomes_a_parsed_article_with_its_id() {
        let payload = br#"  {"id": "a-1", "text": "Body of the story.", "title": "Head"}"#;
        match to_input(AT, payload, 9, 1 << 20) {
            Input::Parsed(a) => {
                assert_eq!(a.seq, 9);
                assert_eq!(a.source.path, "articles/3/42");
                assert_eq!(a.source.id.as_deref(), Some("a-1"));
                assert_eq!(a.source.bytes, payload.len() as u64);
                let at = a.source.message.as_ref().unwrap();
                assert_eq!((&*at.topic, at.partition, at.offset), ("articles", 3, 42));
                assert_eq!(a.source.clock_secs(), 1_700_000_000);
            }
            other => panic!("expected a parsed article, got {other:?}"),
        }
    }

    #[test]
    fn plain_text_payload_is_raw_input_for_the_decoder() {
        let payload = b"Headline here\n\nThe body of the article.";
        match to_input(AT, payload, 0, 1 << 20) {
            Input::Raw { source, bytes, .. } => {
                assert_eq!(bytes, payload.to_vec());
                assert_eq!(source.path, "articles/3/42");
            }
            other => panic!("expected raw input, got {other:?}"),
        }
    }

    #[test]
    fn broken_json_payload_is_rejected_at_its_coordinates() {
        match to_input(AT, b"{\"text\": ", 1, 1 << 20) {
            Input::Rejected(r) => {
                assert_eq!(r.kind, "malformed_json");
                assert_eq!(r.path, "articles/3/42");
                assert_eq!(r.message.as_ref().map(|m| m.offset), Some(42));
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn oversized_payload_is_rejected_without_parsing() {
        match to_input(AT, b"{\"text\": \"0123456789\"}", 1, 8) {
            Input::Rejected(r) => assert_eq!(r.kind, "too_large"),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
}

//! Sinks: where records go.
//!
//! A sink receives serialized records in input order on a thread of its own
//! and makes them visible only when [`RecordSink::commit`] is called, so a
//! reader never sees a partial output.

pub mod jsonl;

use crate::error::Result;
use crate::record::Article;

/// One output record: the article, and its JSON form serialized on a worker
/// thread (so that JSON sinks need not serialize on the sink thread).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The finished article.
    pub article: &'a Article,
    /// The article as one JSON object, no trailing newline.
    pub json: &'a [u8],
}

/// A destination for records, fed in input order from one thread.
pub trait RecordSink: Send {
    /// Append one record.
    fn write(&mut self, record: Record<'_>) -> Result<()>;
    /// Flush and publish everything written; consumes the sink.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// Open the sink an output path names: `-` is JSONL on stdout; otherwise the
/// file name's extension chooses the format (JSONL for anything not listed).
pub fn open(path: &str) -> Result<Box<dyn RecordSink>> {
    Ok(Box::new(jsonl::JsonlSink::open(path)?))
}

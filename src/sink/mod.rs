//! Sinks: where records go.
//!
//! A sink receives serialized records in input order on a thread of its own
//! and makes them visible only when [`RecordSink::commit`] is called, so a
//! reader never sees a partial output.

pub mod jsonl;

use crate::error::Result;

/// A destination for serialized records.
pub trait RecordSink: Send {
    /// Append one record (a JSON object without the trailing newline).
    fn write_record(&mut self, record: &[u8]) -> Result<()>;
    /// Flush and publish everything written; consumes the sink.
    fn commit(self: Box<Self>) -> Result<()>;
}

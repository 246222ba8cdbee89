//! Sinks: where records go.

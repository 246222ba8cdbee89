//! Run counters and the end-of-run summary.

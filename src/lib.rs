//! newspipe: a streaming ingestion pipeline for news articles.
//!
//! Raw article files (or JSONL lines) go in; clean, deduplicated, entity-tagged
//! JSONL records come out, one per input article, in input order.
//!
//! # Layout
//!
//! - [`source`]: where articles come from (directory walk, stdin, JSONL) and how
//!   raw bytes become text.
//! - [`stage`]: the per-article transforms. Each is a config struct that builds a
//!   value with one synchronous `process` method; none of them knows about tokio.
//! - [`dedup`] and [`ner`]: the algorithms behind the dedup and entity stages
//!   (MinHash-LSH, the tagger), free of I/O so they are easy to test and bench.
//! - [`sink`]: where records go: JSONL (plain, zstd, gzip) or Parquet, to stdout
//!   or to files that appear only when complete; the record schema.
//! - [`pipeline`]: the wiring (bounded channels, worker pool, input order) and
//!   the one driver every mode runs through: stop flag, drain-on-error,
//!   shutdown deadline, summary.
//! - The three modes, each a source plus an outcome sink for the driver:
//!   [`batch`] (`newspipe run`), [`serve`] (the daemon: a watched directory in,
//!   committed segments out, crash-safe state) and [`kafka`] (a consumer-group
//!   source and producer sink; the broker client needs the cargo feature `kafka`).
//! - [`metrics`]: `/metrics` and `/healthz` for the long-running modes.
//! - [`config`]: the one validated [`config::Settings`] every run starts from.
//! - [`record`]: the [`record::Article`] that flows through, and the output record.
//! - [`summary`]: counters every stage reports into, printed at the end of a run.
//!
//! Dependencies point one way: `config` gathers the sections that the
//! components own and imports them; no component imports `config`.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod batch;
pub mod config;
pub mod dedup;
pub mod error;
pub mod kafka;
pub mod metrics;
pub mod ner;
pub mod pipeline;
pub mod record;
pub mod serve;
pub mod sink;
pub mod source;
pub mod stage;
pub mod summary;

//! Typed errors for the library. The binary wraps them in `anyhow` and prints the
//! whole cause chain.

use std::path::PathBuf;

/// A failure that stops a run (as opposed to a [`RejectReason`], which only
/// skips one input). [`Error::kind`] says which exit code it means.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid; the message names the source and the key.
    #[error("{0}")]
    Config(String),
    /// An I/O operation on a named path failed.
    #[error("{op} {path}")]
    Io {
        /// What was being done ("cannot read", "cannot create", ...).
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing output failed.
    #[error("cannot write output")]
    Output(#[source] std::io::Error),
    /// Encoding a Parquet file failed.
    #[error("parquet: {op}: {message}")]
    Parquet {
        /// What was being done.
        op: &'static str,
        /// The encoder's message.
        message: String,
    },
    /// A boilerplate rules file is invalid.
    #[error("boilerplate rules {path}: {message}")]
    Rules {
        /// The rules file.
        path: String,
        /// What is wrong, naming the rule.
        message: String,
    },
    /// The entity model could not be loaded.
    #[error("entity model: {0}")]
    Model(String),
    /// The daemon's state directory holds something it cannot use.
    #[error("state {path}: {message}")]
    State {
        /// The state file or delta.
        path: PathBuf,
        /// What is wrong and what to do about it.
        message: String,
    },
    /// The state was built under another dedup configuration.
    #[error("state {path}: {message}")]
    StateMismatch {
        /// The state file.
        path: PathBuf,
        /// Both configurations and how to rebuild.
        message: String,
    },
    /// A pipeline task panicked or was cancelled.
    #[error("pipeline task failed: {0}")]
    Task(String),
    /// Draining after a shutdown request took longer than allowed.
    #[error(
        "shutdown did not finish within {limit:?} (`{key}`); uncommitted work is redone at the next start"
    )]
    ShutdownTimeout {
        /// The allowed time.
        limit: std::time::Duration,
        /// The config key that sets it.
        key: &'static str,
    },
    /// The Kafka client or broker failed (`newspipe kafka`).
    #[error("kafka: {op}: {message}")]
    Kafka {
        /// What was being done ("cannot subscribe", "commit", ...).
        op: &'static str,
        /// The client's message.
        message: String,
    },
}

/// What kind of failure an [`Error`] is: decides the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad configuration, rules file, model, or a state built under another
    /// configuration: nothing was processed (exit 2).
    Config,
    /// The run started and failed (exit 1).
    Runtime,
}

impl Error {
    /// The kind of failure, for the exit code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_)
            | Error::Rules { .. }
            | Error::Model(_)
            | Error::StateMismatch { .. } => ErrorKind::Config,
            Error::Io { .. }
            | Error::Output(_)
            | Error::Parquet { .. }
            | Error::State { .. }
            | Error::Task(_)
            | Error::ShutdownTimeout { .. }
            | Error::Kafka { .. } => ErrorKind::Runtime,
        }
    }
}

/// Convenience alias for library results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one input was rejected. The run goes on; the reason is logged with the
/// path, counted in the summary under [`RejectReason::kind`], and written to the
/// rejects file when one is configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// The file has no bytes at all.
    #[error("empty file")]
    Empty,
    /// Nothing is left after normalization and boilerplate removal.
    #[error("no article text after cleaning")]
    NoText,
    /// The file exceeds `input.max_file_bytes`.
    #[error("file is {bytes} bytes, over the limit of {limit} (input.max_file_bytes)")]
    TooLarge {
        /// Size of the file.
        bytes: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The content looks binary (NUL bytes or many control characters).
    #[error("binary content: {0}")]
    Binary(String),
    /// The file could not be read.
    #[error("unreadable: {0}")]
    Unreadable(String),
    /// A JSONL line is not a valid article object.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The entry is not a regular file (a socket, a device, a broken link).
    #[error("not a regular file")]
    NotAFile,
    /// A symbolic link in an input directory leads outside it; it is read
    /// only with `--follow-links` (`input.follow_links`).
    #[error("symbolic link to {0}, outside the input directory (read with --follow-links)")]
    LinkOutside(String),
    /// A WARC response record that is not an HTML page (an image, a
    /// redirect, an error status).
    #[error("not an HTML page: {0}")]
    NotHtml(String),
    /// A web page holds no article: no paragraph of prose outside
    /// navigation, sidebars, comments and the like.
    #[error("no article content in the page")]
    NoArticle,
    /// A stage panicked on this input; the input is kept out of the output so
    /// the run can go on, and the message says where.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RejectReason {
    /// Stable short name, used as the counter key in the summary.
    pub fn kind(&self) -> &'static str {
        match self {
            RejectReason::Empty => "empty",
            RejectReason::NoText => "no_text",
            RejectReason::TooLarge { .. } => "too_large",
            RejectReason::Binary(_) => "binary",
            RejectReason::Unreadable(_) => "unreadable",
            RejectReason::MalformedJson(_) => "malformed_json",
            RejectReason::NotAFile => "not_a_file",
            RejectReason::LinkOutside(_) => "link_outside",
            RejectReason::NoArticle => "no_article",
            RejectReason::NotHtml(_) => "not_html",
            RejectReason::Internal(_) => "internal",
        }
    }
}

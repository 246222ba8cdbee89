//! Process exit codes; documented in `--help` and the README.

use std::process::ExitCode;

/// Why the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every input was processed.
    Success,
    /// A runtime error stopped the run (I/O, output, a task failure).
    Failure,
    /// Bad command line or configuration; nothing was processed.
    Usage,
    /// The run finished, but some inputs were rejected.
    PartialRejects,
    /// SIGINT/SIGTERM: in-flight work was finished but output was not committed.
    Interrupted,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::PartialRejects => 3,
            Exit::Interrupted => 130,
        })
    }
}

//! JSONL to standard output or to a file, one record per line.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{Record, RecordSink};
use crate::error::{Error, Result};

enum Target {
    Stdout(BufWriter<std::io::Stdout>),
    /// Written under a temporary name in the destination's directory and
    /// renamed over `dest` on commit; dropped (and deleted) otherwise.
    File {
        tmp: BufWriter<tempfile::NamedTempFile>,
        dest: PathBuf,
    },
}

/// A JSONL sink.
pub struct JsonlSink {
    target: Target,
}

impl JsonlSink {
    /// Records to standard output.
    pub fn stdout() -> Self {
        JsonlSink {
            target: Target::Stdout(BufWriter::with_capacity(1 << 16, std::io::stdout())),
        }
    }

    /// Records to `dest`, which appears only on commit.
    pub fn create(dest: &Path) -> Result<Self> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".newspipe-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|source| Error::Io {
                op: "cannot create a temporary file in",
                path: dir.to_path_buf(),
                source,
            })?;
        Ok(JsonlSink {
            target: Target::File {
                tmp: BufWriter::with_capacity(1 << 16, tmp),
                dest: dest.to_path_buf(),
            },
        })
    }

    /// `-` means stdout, anything else a file.
    pub fn open(path: &str) -> Result<Self> {
        if path == "-" {
            Ok(Self::stdout())
        } else {
            Self::create(Path::new(path))
        }
    }
}

impl JsonlSink {
    /// Append one line of JSON (the trailing newline is added).
    pub fn write_line(&mut self, record: &[u8]) -> Result<()> {
        let w: &mut dyn Write = match &mut self.target {
            Target::Stdout(w) => w,
            Target::File { tmp, .. } => tmp,
        };
        w.write_all(record)
            .and_then(|()| w.write_all(b"\n"))
            .map_err(Error::Output)
    }
}

impl RecordSink for JsonlSink {
    fn write(&mut self, record: Record<'_>) -> Result<()> {
        self.write_line(record.json)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        match self.target {
            Target::Stdout(mut w) => w.flush().map_err(Error::Output),
            Target::File { tmp, dest } => {
                let tmp = tmp
                    .into_inner()
                    .map_err(|e| Error::Output(e.into_error()))?;
                tmp.as_file().sync_all().map_err(Error::Output)?;
                tmp.persist(&dest).map_err(|e| Error::Io {
                    op: "cannot rename output into place at",
                    path: dest.clone(),
                    source: e.error,
                })?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jsonl");
        let mut sink = Box::new(JsonlSink::create(&dest).unwrap());
        sink.write_line(b"{\"a\":1}").unwrap();
        assert!(!dest.exists());
        sink.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "{\"a\":1}\n");
    }

    #[test]
    fn dropped_sink_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jsonl");
        {
            let mut sink = JsonlSink::create(&dest).unwrap();
            sink.write_line(b"{}").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

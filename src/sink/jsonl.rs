//! JSONL to standard output or to a file, one record per line, optionally
//! compressed with zstd or gzip.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use tempfile::NamedTempFile;

use super::{publish, temp_beside, Record, RecordSink};
use crate::error::{Error, Result};

/// Compression of a JSONL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain text.
    None,
    /// Zstandard (`.jsonl.zst`) at level 3.
    Zstd,
    /// Gzip (`.jsonl.gz`) at level 6.
    Gzip,
}

/// The compressing layer between records and the temporary file.
enum Encoder {
    Plain(BufWriter<NamedTempFile>),
    Zstd(zstd::Encoder<'static, BufWriter<NamedTempFile>>),
    Gzip(GzEncoder<BufWriter<NamedTempFile>>),
}

impl Encoder {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Encoder::Plain(w) => w,
            Encoder::Zstd(w) => w,
            Encoder::Gzip(w) => w,
        }
    }

    /// Write the compressed stream's trailer and return the file.
    fn finish(self) -> Result<NamedTempFile> {
        let buffered = match self {
            Encoder::Plain(w) => w,
            Encoder::Zstd(w) => w.finish().map_err(Error::Output)?,
            Encoder::Gzip(w) => w.finish().map_err(Error::Output)?,
        };
        buffered
            .into_inner()
            .map_err(|e| Error::Output(e.into_error()))
    }
}

enum Target {
    Stdout(BufWriter<std::io::Stdout>),
    /// Written under a temporary name in the destination's directory and
    /// renamed over `dest` on commit; dropped (and deleted) otherwise.
    File {
        tmp: Encoder,
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
        Self::create_compressed(dest, Compression::None)
    }

    /// Records to `dest`, compressed, which appears only on commit.
    pub fn create_compressed(dest: &Path, compression: Compression) -> Result<Self> {
        let file = BufWriter::with_capacity(1 << 16, temp_beside(dest)?);
        let tmp = match compression {
            Compression::None => Encoder::Plain(file),
            Compression::Zstd => Encoder::Zstd(zstd::Encoder::new(file, 3).map_err(Error::Output)?),
            Compression::Gzip => Encoder::Gzip(GzEncoder::new(file, flate2::Compression::new(6))),
        };
        Ok(JsonlSink {
            target: Target::File {
                tmp,
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
            Target::File { tmp, .. } => tmp.writer(),
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
            Target::File { tmp, dest } => publish(tmp.finish()?, &dest),
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

    fn write_compressed(compression: Compression, lines: &[&str]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let mut sink = Box::new(JsonlSink::create_compressed(&dest, compression).unwrap());
        for l in lines {
            sink.write_line(l.as_bytes()).unwrap();
        }
        sink.commit().unwrap();
        std::fs::read(&dest).unwrap()
    }

    #[test]
    fn zstd_output_decompresses_to_the_lines() {
        let lines = ["{\"a\":1}"; 500];
        let bytes = write_compressed(Compression::Zstd, &lines);
        let plain = zstd::decode_all(&bytes[..]).unwrap();
        assert_eq!(
            plain,
            lines
                .join("\n")
                .into_bytes()
                .into_iter()
                .chain(*b"\n")
                .collect::<Vec<_>>()
        );
        assert!(
            bytes.len() < plain.len() / 10,
            "compressed {} of {}",
            bytes.len(),
            plain.len()
        );
    }

    #[test]
    fn gzip_output_decompresses_to_the_lines() {
        use std::io::Read;
        let lines = ["{\"b\":2}", "{\"c\":3}"];
        let bytes = write_compressed(Compression::Gzip, &lines);
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "{\"b\":2}\n{\"c\":3}\n");
    }
}

//! JSONL to standard output or to a file, one record per line, optionally
//! compressed with zstd or gzip.

use std::io::{BufWriter, Write};
use std::path::Path;

use flate2::write::GzEncoder;

use super::{OutputFile, Record, RecordSink};
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

/// JSONL lines into any writer, through the chosen compression. Reusable
/// for one file of any kind (a segment of a rolling output, a buffer).
pub enum JsonlWriter<W: Write> {
    /// Plain text.
    Plain(BufWriter<W>),
    /// zstd frame.
    Zstd(zstd::Encoder<'static, BufWriter<W>>),
    /// gzip member.
    Gzip(GzEncoder<BufWriter<W>>),
}

impl<W: Write> JsonlWriter<W> {
    /// Start writing to `out`.
    pub fn new(out: W, compression: Compression) -> Result<Self> {
        let out = BufWriter::with_capacity(1 << 16, out);
        Ok(match compression {
            Compression::None => JsonlWriter::Plain(out),
            Compression::Zstd => {
                JsonlWriter::Zstd(zstd::Encoder::new(out, 3).map_err(Error::Output)?)
            }
            Compression::Gzip => {
                JsonlWriter::Gzip(GzEncoder::new(out, flate2::Compression::new(6)))
            }
        })
    }

    /// Append one line of JSON (the trailing newline is added).
    pub fn write_line(&mut self, line: &[u8]) -> Result<()> {
        let w: &mut dyn Write = match self {
            JsonlWriter::Plain(w) => w,
            JsonlWriter::Zstd(w) => w,
            JsonlWriter::Gzip(w) => w,
        };
        w.write_all(line)
            .and_then(|()| w.write_all(b"\n"))
            .map_err(Error::Output)
    }

    /// Write the compressed stream's trailer, flush, and return the output.
    pub fn finish(self) -> Result<W> {
        let buffered = match self {
            JsonlWriter::Plain(w) => w,
            JsonlWriter::Zstd(w) => w.finish().map_err(Error::Output)?,
            JsonlWriter::Gzip(w) => w.finish().map_err(Error::Output)?,
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
    File(JsonlWriter<OutputFile>),
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

    /// Records to `dest`, compressed, which appears only on commit (see
    /// [`OutputFile`] for devices and links).
    pub fn create_compressed(dest: &Path, compression: Compression) -> Result<Self> {
        let file = JsonlWriter::new(OutputFile::create(dest)?, compression)?;
        Ok(JsonlSink {
            target: Target::File(file),
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
        match &mut self.target {
            Target::Stdout(w) => w
                .write_all(record)
                .and_then(|()| w.write_all(b"\n"))
                .map_err(Error::Output),
            Target::File(file) => file.write_line(record),
        }
    }
}

impl RecordSink for JsonlSink {
    fn write(&mut self, record: Record<'_>) -> Result<()> {
        self.write_line(record.json)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        match self.target {
            Target::Stdout(mut w) => w.flush().map_err(Error::Output),
            Target::File(file) => file.finish()?.commit(),
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

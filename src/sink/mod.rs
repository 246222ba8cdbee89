//! Sinks: where records go.
//!
//! A sink receives serialized records in input order on a thread of its own
//! and makes them visible only when [`RecordSink::commit`] is called, so a
//! reader never sees a partial output. [`open_with`] is the one place that
//! maps an output name (and the `[output]` settings) to a sink:
//!
//! | output | format |
//! | --- | --- |
//! | `-` | JSONL on stdout |
//! | `*.parquet` | Parquet, zstd, entities as `list<struct>` ([`parquet`]) |
//! | `*.zst` (e.g. `out.jsonl.zst`) | JSONL, zstd |
//! | `*.gz` (e.g. `out.jsonl.gz`) | JSONL, gzip |
//! | anything else | JSONL |
//!
//! With `output.partition_by = "ingest_date"` the output names a directory
//! and each run adds `DIR/ingest_date=YYYY-MM-DD/part-NNNN.<ext>` (Hive-style).
//! The record layout all formats share is described once in [`schema`].

pub mod columns;
pub mod jsonl;
pub mod parquet;
pub mod schema;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::record::Article;
use jsonl::{Compression, JsonlSink, JsonlWriter};
use parquet::{ParquetOptions, ParquetSink, ParquetWriter};

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

/// `[output]` section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// `-` for stdout, else a file path.
    pub path: String,
    /// JSONL file for rejected inputs; empty for none.
    pub rejects_path: String,
    /// Output format; `auto` follows the output name.
    pub format: OutputFormat,
    /// Hive-style partitioning of file output: none, or by ingest date.
    pub partition_by: PartitionBy,
    /// Rows per Parquet row group.
    pub parquet_row_group_rows: usize,
    /// Write the run's dedup signatures beside a batch output file
    /// (`FILE.signatures/dedup.parquet`, see [`crate::signatures`]).
    pub signatures: bool,
}

/// Most rows per Parquet row group.
pub const MAX_ROW_GROUP_ROWS: usize = 1 << 24;

impl OutputConfig {
    /// Check the values, naming the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: &str| {
            Err(Error::Config(format!(
                "invalid value for `output.{key}`: {why}"
            )))
        };
        if self.path.is_empty() {
            return bad("path", "must be `-` or a file path");
        }
        if self.parquet_row_group_rows == 0 || self.parquet_row_group_rows > MAX_ROW_GROUP_ROWS {
            return bad("parquet_row_group_rows", "must be 1 to 16777216");
        }
        if self.path == "-"
            && (self.format != OutputFormat::Auto && self.format != OutputFormat::Jsonl)
        {
            return bad(
                "format",
                "standard output takes plain JSONL only; give output.path a file name",
            );
        }
        if !self.rejects_path.is_empty() && self.rejects_path == self.path {
            return bad("rejects_path", "is the same file as output.path");
        }
        Ok(())
    }

    /// The rejects file, when one is configured.
    pub fn rejects_path(&self) -> Option<PathBuf> {
        (!self.rejects_path.is_empty()).then(|| PathBuf::from(&self.rejects_path))
    }
}

/// Output format (`output.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum OutputFormat {
    /// Chosen by the output name (see the module docs).
    #[serde(rename = "auto")]
    Auto,
    /// Plain JSONL.
    #[serde(rename = "jsonl")]
    Jsonl,
    /// zstd-compressed JSONL.
    #[serde(rename = "jsonl.zst")]
    JsonlZstd,
    /// gzip-compressed JSONL.
    #[serde(rename = "jsonl.gz")]
    JsonlGzip,
    /// Parquet.
    #[serde(rename = "parquet")]
    Parquet,
}

impl OutputFormat {
    /// The format an output name implies.
    pub fn from_name(path: &str) -> OutputFormat {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".parquet") {
            OutputFormat::Parquet
        } else if lower.ends_with(".zst") {
            OutputFormat::JsonlZstd
        } else if lower.ends_with(".gz") {
            OutputFormat::JsonlGzip
        } else {
            OutputFormat::Jsonl
        }
    }

    /// File extension of this format (for partition files).
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Auto | OutputFormat::Parquet => "parquet",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::JsonlZstd => "jsonl.zst",
            OutputFormat::JsonlGzip => "jsonl.gz",
        }
    }
}

/// Hive-style partitioning of file output (`output.partition_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum PartitionBy {
    /// One file at the output path.
    #[serde(rename = "")]
    None,
    /// `DIR/ingest_date=YYYY-MM-DD/part-NNNN.<ext>`, the UTC date the run started.
    #[serde(rename = "ingest_date")]
    IngestDate,
}

/// Everything besides the path that decides which sink [`open_with`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkOptions {
    /// Format; `Auto` follows the output name.
    pub format: OutputFormat,
    /// Partitioning of file output.
    pub partition_by: PartitionBy,
    /// Parquet tuning.
    pub parquet: ParquetOptions,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            format: OutputFormat::Auto,
            partition_by: PartitionBy::None,
            parquet: ParquetOptions::default(),
        }
    }
}

impl SinkOptions {
    /// The options the `[output]` section sets.
    pub fn from_config(output: &OutputConfig) -> Self {
        SinkOptions {
            format: output.format,
            partition_by: output.partition_by,
            parquet: ParquetOptions {
                row_group_rows: output.parquet_row_group_rows,
                ..ParquetOptions::default()
            },
        }
    }
}

/// One output file of any format on any writer: what a rolling-segment
/// writer opens per segment (`FileWriter::new(file, format, ...)`, `write`
/// per record, `finish` to get the file back for `sync_all` and rename).
pub enum FileWriter<W: Write + Send> {
    /// JSONL, plain or compressed.
    Jsonl(JsonlWriter<W>),
    /// Parquet.
    Parquet(ParquetWriter<W>),
}

impl<W: Write + Send> FileWriter<W> {
    /// Start a file of `format` (`Auto` means plain JSONL) on `out`.
    pub fn new(out: W, format: OutputFormat, parquet: ParquetOptions) -> Result<Self> {
        Ok(match format {
            OutputFormat::Parquet => FileWriter::Parquet(ParquetWriter::new(out, parquet)?),
            OutputFormat::JsonlZstd => FileWriter::Jsonl(JsonlWriter::new(out, Compression::Zstd)?),
            OutputFormat::JsonlGzip => FileWriter::Jsonl(JsonlWriter::new(out, Compression::Gzip)?),
            OutputFormat::Auto | OutputFormat::Jsonl => {
                FileWriter::Jsonl(JsonlWriter::new(out, Compression::None)?)
            }
        })
    }

    /// Append one record.
    pub fn write(&mut self, record: Record<'_>) -> Result<()> {
        match self {
            FileWriter::Jsonl(w) => w.write_line(record.json),
            FileWriter::Parquet(w) => w.write(record),
        }
    }

    /// Complete the file (trailer, footer) and return the output.
    pub fn finish(self) -> Result<W> {
        match self {
            FileWriter::Jsonl(w) => w.finish(),
            FileWriter::Parquet(w) => w.finish(),
        }
    }
}

/// Open the sink an output path names, with default options: `-` is JSONL on
/// stdout; otherwise the file name's extension chooses the format.
pub fn open(path: &str) -> Result<Box<dyn RecordSink>> {
    open_with(path, &SinkOptions::default())
}

/// Open the sink for `path` and `options` (see the module docs).
pub fn open_with(path: &str, options: &SinkOptions) -> Result<Box<dyn RecordSink>> {
    let mut format = options.format;
    if path == "-" {
        return match (format, options.partition_by) {
            (OutputFormat::Auto | OutputFormat::Jsonl, PartitionBy::None) => {
                Ok(Box::new(JsonlSink::stdout()))
            }
            _ => Err(Error::Config(
                "standard output takes plain JSONL only: give output.path a file name \
                 for other formats or partitioning"
                    .into(),
            )),
        };
    }
    let dest = match options.partition_by {
        PartitionBy::None => {
            if format == OutputFormat::Auto {
                format = OutputFormat::from_name(path);
            }
            PathBuf::from(path)
        }
        PartitionBy::IngestDate => {
            // The path names a directory, so only the config can pick a format;
            // Parquet is what partitioned warehouse loads want.
            if format == OutputFormat::Auto {
                format = OutputFormat::Parquet;
            }
            let dir = Path::new(path).join(format!("ingest_date={}", utc_date_today()));
            std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
                op: "cannot create partition directory",
                path: dir.clone(),
                source,
            })?;
            next_part(&dir, format.extension())?
        }
    };
    Ok(match format {
        OutputFormat::Parquet => Box::new(ParquetSink::create(&dest, options.parquet)?),
        OutputFormat::JsonlZstd => {
            Box::new(JsonlSink::create_compressed(&dest, Compression::Zstd)?)
        }
        OutputFormat::JsonlGzip => {
            Box::new(JsonlSink::create_compressed(&dest, Compression::Gzip)?)
        }
        OutputFormat::Auto | OutputFormat::Jsonl => Box::new(JsonlSink::create(&dest)?),
    })
}

/// The first `part-NNNN.<ext>` not yet in `dir`, so that runs add files to a
/// partition instead of replacing earlier ones.
fn next_part(dir: &Path, ext: &str) -> Result<PathBuf> {
    (0..100_000)
        .map(|n| dir.join(format!("part-{n:04}.{ext}")))
        .find(|p| !p.exists())
        .ok_or_else(|| Error::Config(format!("{}: too many part files", dir.display())))
}

/// Today's date in UTC as `YYYY-MM-DD`.
fn utc_date_today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`), to avoid a date crate for one partition name.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Temporary output files not yet published, so that a second interrupt,
/// which ends the process at once, can still remove them.
static TEMPORARIES: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn temporaries() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic elsewhere mid-update leaves a usable list.
    TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Remove every output file still under its temporary name. For an exit that
/// skips destructors (the second SIGINT); safe to call at any time.
pub fn remove_temporaries() {
    for path in temporaries().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// A temporary file, listed in [`TEMPORARIES`] while it exists.
struct Temp {
    /// `None` once persisted.
    file: Option<NamedTempFile>,
    path: PathBuf,
}

impl Drop for Temp {
    fn drop(&mut self) {
        // NamedTempFile deletes itself; only the list needs updating.
        temporaries().retain(|t| *t != self.path);
    }
}

/// Where an output file's bytes go.
enum Place {
    /// A temporary file beside the destination, renamed over it on commit.
    Temp(Temp),
    /// The destination itself, written in place: a device or a pipe that
    /// exists already, which a rename would replace instead of writing to.
    Through(std::fs::File),
}

/// One output file: invisible until [`OutputFile::commit`] when it is a
/// regular file, written through when the destination is a device or a FIFO.
/// A symbolic link is followed: its target is what gets written. Write errors
/// name the destination.
pub struct OutputFile {
    place: Place,
    dest: PathBuf,
}

/// Links followed at most, as the kernel does.
const MAX_LINKS: usize = 40;

/// The file a destination path really names: symbolic links followed (even
/// when their target does not exist yet), and what is there.
pub fn resolve(dest: &Path) -> Result<(PathBuf, Option<std::fs::FileType>)> {
    let mut path = dest.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((path, None)),
            Err(source) => {
                return Err(Error::Io {
                    op: "cannot inspect output",
                    path,
                    source,
                })
            }
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&path).map_err(|source| Error::Io {
                    op: "cannot read link",
                    path: path.clone(),
                    source,
                })?;
                path = match path.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                };
            }
            Ok(m) => return Ok((path, Some(m.file_type()))),
        }
    }
    Err(Error::Config(format!(
        "output {}: too many levels of symbolic links",
        dest.display()
    )))
}

/// An absolute name for the file `dest` names, for telling whether two
/// paths are one file: links resolved, and the directory canonicalized even
/// when the file itself does not exist yet.
pub fn identity(dest: &Path) -> PathBuf {
    let path = resolve(dest).map_or_else(|_| dest.to_path_buf(), |(p, _)| p);
    if let Ok(c) = std::fs::canonicalize(&path) {
        return c;
    }
    let name = path.file_name().map(std::ffi::OsStr::to_owned);
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (std::fs::canonicalize(&parent), name) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path,
    }
}

impl OutputFile {
    /// Open `dest` for writing; see the type's docs. A directory is refused.
    pub fn create(dest: &Path) -> Result<Self> {
        Self::create_in(dest, None)
    }

    /// As [`OutputFile::create`], with the temporary file in `temp_dir`
    /// (on the destination's file system) instead of beside the
    /// destination, whose directory is then made only on commit: an
    /// interrupted run leaves no empty directory behind.
    pub fn create_in(dest: &Path, temp_dir: Option<&Path>) -> Result<Self> {
        let (path, kind) = resolve(dest)?;
        if let Some(kind) = kind {
            if kind.is_dir() {
                return Err(Error::Config(format!(
                    "output {} is a directory; give a file name",
                    dest.display()
                )));
            }
            if !kind.is_file() {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|source| Error::Io {
                        op: "cannot open output",
                        path: path.clone(),
                        source,
                    })?;
                return Ok(OutputFile {
                    place: Place::Through(file),
                    dest: path,
                });
            }
        }
        let dir = match temp_dir.or(path.parent()) {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // In the destination's directory, so the final rename stays on one
        // file system and is atomic.
        let tmp = tempfile::Builder::new()
            .prefix(".newspipe-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|source| Error::Io {
                op: "cannot create a temporary file in",
                path: dir.to_path_buf(),
                source,
            })?;
        let tmp_path = tmp.path().to_path_buf();
        temporaries().push(tmp_path.clone());
        Ok(OutputFile {
            place: Place::Temp(Temp {
                file: Some(tmp),
                path: tmp_path,
            }),
            dest: path,
        })
    }

    /// The file that is written (the link target when `dest` was a link).
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Make the bytes durable and, for a temporary file, rename it into place.
    pub fn commit(self) -> Result<()> {
        let failed = |op: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { op, path, source }
        };
        match self.place {
            Place::Through(mut f) => f.flush().map_err(failed("cannot write output", &self.dest)),
            Place::Temp(mut temp) => {
                let Some(tmp) = temp.file.take() else {
                    return Ok(());
                };
                let tmp_path = temp.path.clone();
                // Temporary files are private (0600); output is for other
                // readers too, such as a warehouse server running as its own user.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::Permissions::from_mode(0o644);
                    std::fs::set_permissions(&tmp_path, mode)
                        .map_err(failed("cannot set permissions of", &tmp_path))?;
                }
                tmp.as_file()
                    .sync_all()
                    .map_err(failed("cannot write output", &self.dest))?;
                if let Some(dir) = self.dest.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(failed("cannot create", dir))?;
                }
                tmp.persist(&self.dest)
                    .map_err(|e| e.error)
                    .map_err(failed("cannot rename output into place at", &self.dest))
                    .map(|_| ())
            }
        }
    }

    fn with_path(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(e.kind(), format!("{}: {e}", self.dest.display()))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = match &mut self.place {
            Place::Temp(Temp { file: Some(t), .. }) => t.write(buf),
            Place::Temp(_) => Ok(0),
            Place::Through(f) => f.write(buf),
        };
        written.map_err(|e| self.with_path(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = match &mut self.place {
            Place::Temp(Temp { file: Some(t), .. }) => t.flush(),
            Place::Temp(_) => Ok(()),
            Place::Through(f) => f.flush(),
        };
        flushed.map_err(|e| self.with_path(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::schema::tests::full_article;

    fn write_one(sink: &mut Box<dyn RecordSink>) {
        let a = full_article(1);
        let json = serde_json::to_vec(&a).unwrap();
        sink.write(Record {
            article: &a,
            json: &json,
        })
        .unwrap();
    }

    fn magic(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()[..4].to_vec()
    }

    #[test]
    fn output_name_chooses_the_format() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8]); 4] = [
            ("a.parquet", b"PAR1"),
            ("b.jsonl.zst", &[0x28, 0xb5, 0x2f, 0xfd]),
            ("c.jsonl.gz", &[0x1f, 0x8b, 0x08, 0x00]),
            ("d.jsonl", b"{\"sc"),
        ];
        for (name, want) in cases {
            let path = dir.path().join(name);
            let mut sink = open(path.to_str().unwrap()).unwrap();
            write_one(&mut sink);
            sink.commit().unwrap();
            assert_eq!(magic(&path), want, "{name}");
        }
    }

    #[test]
    fn configured_format_wins_over_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.data");
        let options = SinkOptions {
            format: OutputFormat::Parquet,
            ..SinkOptions::default()
        };
        let mut sink = open_with(path.to_str().unwrap(), &options).unwrap();
        write_one(&mut sink);
        sink.commit().unwrap();
        assert_eq!(magic(&path), b"PAR1");
    }

    #[test]
    fn stdout_refuses_binary_formats() {
        let options = SinkOptions {
            format: OutputFormat::Parquet,
            ..SinkOptions::default()
        };
        assert!(matches!(open_with("-", &options), Err(Error::Config(_))));
    }

    #[test]
    fn ingest_date_partitions_add_a_part_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let options = SinkOptions {
            partition_by: PartitionBy::IngestDate,
            ..SinkOptions::default()
        };
        let root = dir.path().join("warehouse");
        for _ in 0..2 {
            let mut sink = open_with(root.to_str().unwrap(), &options).unwrap();
            write_one(&mut sink);
            sink.commit().unwrap();
        }
        let part_dir = root.join(format!("ingest_date={}", utc_date_today()));
        let mut names: Vec<String> = std::fs::read_dir(&part_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["part-0000.parquet", "part-0001.parquet"]);
    }

    #[test]
    fn file_writer_completes_each_format_on_any_writer() {
        let a = full_article(5);
        let json = serde_json::to_vec(&a).unwrap();
        for (format, want) in [
            (OutputFormat::Parquet, &b"PAR1"[..]),
            (OutputFormat::JsonlZstd, &[0x28, 0xb5, 0x2f, 0xfd][..]),
            (OutputFormat::Jsonl, &json[..4]),
        ] {
            let mut w = FileWriter::new(Vec::new(), format, ParquetOptions::default()).unwrap();
            w.write(Record {
                article: &a,
                json: &json,
            })
            .unwrap();
            let bytes = w.finish().unwrap();
            assert_eq!(&bytes[..4], want, "{format:?}");
            if format == OutputFormat::Parquet {
                assert_eq!(&bytes[bytes.len() - 4..], b"PAR1", "footer written");
            }
        }
    }

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}

//! Parquet output: the JSONL record's fields as columns, entities as
//! `list<struct>`, zstd-compressed.
//!
//! [`ParquetWriter`] writes one Parquet file to any `Write`; it is what a
//! rolling-segment writer reuses, one writer per segment file.
//! [`ParquetSink`] is the batch-run sink: a file under a temporary name that
//! is renamed into place on commit.

use std::io::Write;
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use super::columns::Columns;
use super::{OutputFile, Record, RecordSink};
use crate::error::{Error, Result};
use crate::record::SCHEMA_VERSION;

/// Rows converted to Arrow at a time: small enough to bound the memory of
/// unencoded text, large enough that per-batch overhead vanishes.
const BATCH_ROWS: usize = 1024;

/// Key of the file metadata entry holding the record's schema version.
pub const SCHEMA_VERSION_KEY: &str = "newspipe.schema_version";

/// Tuning of the Parquet files written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParquetOptions {
    /// Rows per row group.
    pub row_group_rows: usize,
    /// zstd level (1 to 22).
    pub zstd_level: i32,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        // ~32k articles of a few kB each is ~100 MB of text per row group:
        // large enough for efficient scans, small enough to write in memory.
        ParquetOptions {
            row_group_rows: 32 * 1024,
            zstd_level: 3,
        }
    }
}

fn parquet_error(op: &'static str) -> impl FnOnce(String) -> Error {
    move |message| Error::Parquet { op, message }
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Writes records to one Parquet file on `W`.
pub struct ParquetWriter<W: Write + Send> {
    columns: Columns,
    writer: ArrowWriter<W>,
}

impl<W: Write + Send> ParquetWriter<W> {
    /// Start a file on `out`.
    pub fn new(out: W, options: ParquetOptions) -> Result<Self> {
        let level = ZstdLevel::try_new(options.zstd_level)
            .map_err(text)
            .map_err(parquet_error("compression level"))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_size(options.row_group_rows.max(1))
            // Bodies and headlines are nearly all distinct: a dictionary only
            // costs time before the writer falls back to plain encoding.
            .set_column_dictionary_enabled(ColumnPath::from("text"), false)
            .set_column_dictionary_enabled(ColumnPath::from("title"), false)
            .set_created_by(format!("newspipe {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                SCHEMA_VERSION_KEY.to_owned(),
                SCHEMA_VERSION.to_string(),
            )]))
            .build();
        let columns = Columns::new();
        let writer = ArrowWriter::try_new(out, columns.schema(), Some(props))
            .map_err(text)
            .map_err(parquet_error("cannot start a file"))?;
        Ok(ParquetWriter { columns, writer })
    }

    /// Append one record.
    pub fn write(&mut self, record: Record<'_>) -> Result<()> {
        let value = serde_json::to_value(record.article).map_err(|e| Error::Output(e.into()))?;
        self.columns
            .push(&value)
            .map_err(parquet_error("record does not fit the schema"))?;
        if self.columns.rows() >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<()> {
        if self.columns.rows() == 0 {
            return Ok(());
        }
        let batch = self
            .columns
            .take_batch()
            .map_err(parquet_error("cannot build a batch"))?;
        self.writer
            .write(&batch)
            .map_err(text)
            .map_err(parquet_error("cannot write a batch"))
    }

    /// Write the footer and hand back the output.
    pub fn finish(mut self) -> Result<W> {
        self.flush_batch()?;
        self.writer
            .into_inner()
            .map_err(text)
            .map_err(parquet_error("cannot write the footer"))
    }
}

/// A Parquet file that appears at its destination only on commit.
pub struct ParquetSink {
    writer: ParquetWriter<OutputFile>,
}

impl ParquetSink {
    /// Records to `dest`.
    pub fn create(dest: &Path, options: ParquetOptions) -> Result<Self> {
        Ok(ParquetSink {
            writer: ParquetWriter::new(OutputFile::create(dest)?, options)?,
        })
    }
}

impl RecordSink for ParquetSink {
    fn write(&mut self, record: Record<'_>) -> Result<()> {
        self.writer.write(record)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.writer.finish()?.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Article;
    use crate::sink::schema::tests::{bare_article, full_article};
    use arrow_array::{Array, ListArray, StringArray, StructArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn write_all(sink: &mut dyn RecordSink, articles: &[Article]) {
        for a in articles {
            let json = serde_json::to_vec(a).unwrap();
            sink.write(Record {
                article: a,
                json: &json,
            })
            .unwrap();
        }
    }

    #[test]
    fn file_appears_only_on_commit_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.parquet");
        let articles: Vec<Article> = (0..2500)
            .map(|i| {
                if i % 3 == 0 {
                    bare_article(i)
                } else {
                    full_article(i)
                }
            })
            .collect();
        let mut sink = Box::new(ParquetSink::create(&dest, ParquetOptions::default()).unwrap());
        write_all(sink.as_mut(), &articles);
        assert!(!dest.exists());
        sink.commit().unwrap();

        let file = std::fs::File::open(&dest).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let meta = builder.metadata().file_metadata();
        let version = meta
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == SCHEMA_VERSION_KEY))
            .and_then(|k| k.value.clone());
        assert_eq!(version, Some(SCHEMA_VERSION.to_string()));
        let mut ids = Vec::new();
        let mut entity_counts = Vec::new();
        for batch in builder.build().unwrap() {
            let batch = batch.unwrap();
            let id = batch.column_by_name("id").unwrap();
            let id = id.as_any().downcast_ref::<StringArray>().unwrap();
            ids.extend(id.iter().map(|s| s.unwrap().to_owned()));
            let ents = batch.column_by_name("entities").unwrap();
            let ents = ents.as_any().downcast_ref::<ListArray>().unwrap();
            entity_counts.extend((0..ents.len()).map(|i| ents.value_length(i) as usize));
            let items = ents
                .values()
                .as_any()
                .downcast_ref::<StructArray>()
                .unwrap();
            assert!(items.column_by_name("canonical").is_some());
        }
        let want_ids: Vec<String> = articles.iter().map(|a| a.id.clone()).collect();
        assert_eq!(ids, want_ids);
        let want_counts: Vec<usize> = articles.iter().map(|a| a.entities.len()).collect();
        assert_eq!(entity_counts, want_counts);
    }

    #[test]
    fn row_groups_follow_the_configured_size() {
        let mut out = Vec::new();
        let options = ParquetOptions {
            row_group_rows: 100,
            ..ParquetOptions::default()
        };
        let mut w = ParquetWriter::new(&mut out, options).unwrap();
        for i in 0..250 {
            let a = full_article(i);
            w.write(Record {
                article: &a,
                json: b"",
            })
            .unwrap();
        }
        w.finish().unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out)).unwrap();
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [100, 100, 50]);
        let col = reader.metadata().row_group(0).column(0);
        assert!(matches!(col.compression(), Compression::ZSTD(_)));
    }

    #[test]
    fn dropped_sink_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut sink =
                ParquetSink::create(&dir.path().join("x.parquet"), ParquetOptions::default())
                    .unwrap();
            write_all(&mut sink, &[full_article(1)]);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

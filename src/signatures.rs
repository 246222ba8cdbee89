//! What a run leaves beside its output for later runs to start from
//! (`--against`): the dedup signatures, as Parquet.
//!
//! A batch run writing `FILE` puts them in `FILE.signatures/dedup.parquet`;
//! a Spark run (`deploy/spark/`) writes `OUT/_signatures/dedup-NNNNN.parquet`,
//! one file per part, the parts in input order. Either way the rows are the
//! run's [`Signature`]s in input order, one per article that was not an
//! exact duplicate:
//!
//! | column | type | canonical row | alias row (a near duplicate) |
//! | --- | --- | --- | --- |
//! | `seq` | uint64 | row number in the file, from 0 | row number |
//! | `kind` | string | `canonical` | `alias` |
//! | `id` | string | the article's id | the id of its canonical |
//! | `exact` | uint64 | exact key | exact key |
//! | `minhash` | binary | MinHash values then shingle count, u32 little-endian | null |
//! | `bands` | binary | LSH bucket keys, u32 little-endian | null |
//!
//! `bands` is derived from `minhash`; it is there so that an engine without
//! newspipe's hash functions (Spark) can group articles by bucket. The file
//! metadata names the dedup configuration (`newspipe.dedup`), and a run
//! refuses signatures made under another one: they would not compare.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BinaryArray, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::dedup::{RetainingIndex, Signature};
use crate::error::{Error, Result};
use crate::record::Fingerprint;
use crate::sink::OutputFile;

/// File name of the dedup signatures in a batch run's signatures directory.
pub const DEDUP_FILE: &str = "dedup.parquet";

/// Key of the file metadata entry naming the dedup configuration.
pub const DEDUP_CONFIG_KEY: &str = "newspipe.dedup";

/// Rows buffered before they are encoded.
const BATCH_ROWS: usize = 4096;

/// The directory beside a batch output that holds what later runs can
/// start from: `FILE.signatures/`.
pub fn signatures_dir(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".signatures");
    PathBuf::from(name)
}

/// The directory an `--against PATH` names: `PATH/_signatures` for a Spark
/// run's output directory, `PATH` itself for a signatures directory, and
/// `PATH.signatures` for a batch run's output file.
pub fn resolve_against(path: &Path) -> PathBuf {
    let spark = path.join("_signatures");
    if spark.is_dir() {
        spark
    } else if path.is_dir() {
        path.to_path_buf()
    } else {
        signatures_dir(path)
    }
}

/// The dedup signature files in a signatures directory, in the order their
/// rows were decided: `dedup.parquet`, or the parts `dedup-NNNNN.parquet`
/// sorted by name.
pub fn dedup_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join(DEDUP_FILE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        op: "cannot list",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut parts: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("dedup-") && n.ends_with(".parquet"))
        })
        .collect();
    parts.sort();
    Ok(parts)
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("exact", DataType::UInt64, false),
        Field::new("minhash", DataType::Binary, true),
        Field::new("bands", DataType::Binary, true),
    ]))
}

fn parquet_error(op: &'static str) -> impl FnOnce(String) -> Error {
    move |message| Error::Parquet { op, message }
}

fn le_bytes(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn le_values(bytes: &[u8]) -> Option<Vec<u32>> {
    (bytes.len() % 4 == 0).then(|| {
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

/// Writes a run's signatures to one Parquet file, which appears only on
/// [`SignatureWriter::commit`].
pub struct SignatureWriter {
    /// Computes bucket keys; holds nothing.
    keys: RetainingIndex,
    writer: ArrowWriter<OutputFile>,
    /// Rows written so far (the next row's `seq`).
    rows: u64,
    seqs: Vec<u64>,
    kinds: Vec<&'static str>,
    ids: Vec<String>,
    exact: Vec<u64>,
    minhash: Vec<Option<Vec<u8>>>,
    bands: Vec<Option<Vec<u8>>>,
}

impl SignatureWriter {
    /// Start `dest` (its directory is made on commit) for signatures made under the
    /// dedup configuration `config_key` with near-duplicate parameters `near`.
    pub fn create(
        dest: &Path,
        config_key: &str,
        near: Option<crate::dedup::NearParams>,
    ) -> Result<Self> {
        // The temporary file goes beside the signatures directory, which
        // appears only with the file, on commit.
        let beside = dest.parent().and_then(Path::parent);
        let level = ZstdLevel::try_new(3)
            .map_err(|e| e.to_string())
            .map_err(parquet_error("compression level"))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_created_by(format!("newspipe {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                DEDUP_CONFIG_KEY.to_owned(),
                config_key.to_owned(),
            )]))
            .build();
        let file = OutputFile::create_in(dest, beside)?;
        let writer = ArrowWriter::try_new(file, schema(), Some(props))
            .map_err(|e| e.to_string())
            .map_err(parquet_error("cannot start a signatures file"))?;
        Ok(SignatureWriter {
            keys: RetainingIndex::new(near, u64::MAX),
            writer,
            rows: 0,
            seqs: Vec::new(),
            kinds: Vec::new(),
            ids: Vec::new(),
            exact: Vec::new(),
            minhash: Vec::new(),
            bands: Vec::new(),
        })
    }

    /// Append one signature.
    pub fn write(&mut self, signature: &Signature) -> Result<()> {
        self.seqs.push(self.rows);
        self.rows += 1;
        match signature {
            Signature::Canonical { id, fp } => {
                self.kinds.push("canonical");
                self.ids.push(id.clone());
                self.exact.push(fp.exact);
                self.minhash.push(Some(le_bytes(&fp.minhash)));
                self.bands
                    .push(Some(le_bytes(&self.keys.band_keys(&fp.minhash))));
            }
            Signature::Alias { exact, canonical } => {
                self.kinds.push("alias");
                self.ids.push(canonical.clone());
                self.exact.push(*exact);
                self.minhash.push(None);
                self.bands.push(None);
            }
        }
        if self.kinds.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.kinds.is_empty() {
            return Ok(());
        }
        let binary = |v: &mut Vec<Option<Vec<u8>>>| -> ArrayRef {
            let taken = std::mem::take(v);
            Arc::new(BinaryArray::from_iter(taken))
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(std::mem::take(&mut self.seqs))),
            Arc::new(StringArray::from(std::mem::take(&mut self.kinds))),
            Arc::new(StringArray::from(std::mem::take(&mut self.ids))),
            Arc::new(UInt64Array::from(std::mem::take(&mut self.exact))),
            binary(&mut self.minhash),
            binary(&mut self.bands),
        ];
        let batch = RecordBatch::try_new(schema(), columns)
            .map_err(|e| e.to_string())
            .map_err(parquet_error("cannot build a batch of signatures"))?;
        self.writer
            .write(&batch)
            .map_err(|e| e.to_string())
            .map_err(parquet_error("cannot write signatures"))
    }

    /// Write the footer and move the file into place.
    pub fn commit(mut self) -> Result<()> {
        self.flush()?;
        self.writer
            .into_inner()
            .map_err(|e| e.to_string())
            .map_err(parquet_error("cannot write the signatures footer"))?
            .commit()
    }
}

/// Read the signatures of the earlier run that `against` names (see
/// [`resolve_against`]), in their order, checking they were made under the
/// dedup configuration `config_key`. A missing or foreign file is a
/// configuration error naming the path.
pub fn read_against(against: &Path, config_key: &str) -> Result<Vec<Signature>> {
    let dir = resolve_against(against);
    let bad = |why: String| Error::Config(format!("--against {}: {why}", against.display()));
    let files = dedup_files(&dir).map_err(|e| bad(e.to_string()))?;
    if files.is_empty() {
        return Err(bad(format!(
            "no dedup signatures in {} (a run writes them beside its output unless \
             output.signatures is off)",
            dir.display()
        )));
    }
    let mut out = Vec::new();
    for file in files {
        read_file(&file, config_key, &mut out).map_err(&bad)?;
    }
    Ok(out)
}

fn read_file(
    path: &Path,
    config_key: &str,
    out: &mut Vec<Signature>,
) -> std::result::Result<(), String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| at(&e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| at(&e))?;
    let made_under = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == DEDUP_CONFIG_KEY))
        .and_then(|k| k.value.clone());
    if made_under.as_deref() != Some(config_key) {
        return Err(format!(
            "{} was made under the dedup configuration {:?}, this run has {config_key:?}; \
             dedup against it with the same [dedup] settings",
            path.display(),
            made_under.unwrap_or_default()
        ));
    }
    let reader = builder.build().map_err(|e| at(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| at(&e))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| at(&format!("no column {name}")))
        };
        let strings = |name: &str| -> std::result::Result<StringArray, String> {
            column(name)?
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| at(&format!("column {name} is not a string")))
        };
        let (kinds, ids) = (strings("kind")?, strings("id")?);
        let exact = column("exact")?
            .as_any()
            .downcast_ref::<UInt64Array>()
            .cloned()
            .ok_or_else(|| at(&"column exact is not uint64"))?;
        let minhash = column("minhash")?
            .as_any()
            .downcast_ref::<BinaryArray>()
            .cloned()
            .ok_or_else(|| at(&"column minhash is not binary"))?;
        for row in 0..batch.num_rows() {
            let (id, key) = (ids.value(row).to_owned(), exact.value(row));
            out.push(match kinds.value(row) {
                "canonical" => {
                    let minhash = if minhash.is_null(row) {
                        Vec::new()
                    } else {
                        le_values(minhash.value(row))
                            .ok_or_else(|| at(&format!("row {row}: minhash is not u32s")))?
                    };
                    Signature::Canonical {
                        id,
                        fp: Fingerprint {
                            exact: key,
                            minhash,
                        },
                    }
                }
                "alias" => Signature::Alias {
                    exact: key,
                    canonical: id,
                },
                other => return Err(at(&format!("row {row}: unknown kind {other:?}"))),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{DedupIndex, Fingerprinter, NearParams};
    use crate::record::DedupStatus;

    #[test]
    fn signatures_round_trip_and_restore_the_same_verdicts() {
        let params = NearParams::default();
        let fingerprinter = Fingerprinter::new(Some(&params));
        let base = "the harbour council approved the plan on tuesday after a long debate \
                    among residents who had asked for a vote on the new ferry terminal and \
                    the road that would lead to it from the old town centre";
        let texts = [
            base.to_owned(),
            format!("{base} officials said"),
            "an entirely different story about a football match in the north of the country \
             where the home side won by two goals to nil in front of a crowd of thousands"
                .to_owned(),
        ];
        let mut day1 = DedupIndex::new(Some(params.clone()));
        let mut sigs = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let fp = fingerprinter.fingerprint(t);
            let id = format!("a{i}");
            let info = day1.check_and_insert(&id, &fp);
            sigs.extend(Signature::of(&id, &fp, &info));
        }
        assert_eq!(sigs.len(), 3, "two canonicals and one alias: {sigs:?}");
        let dir = tempfile::tempdir().unwrap();
        let dest = signatures_dir(&dir.path().join("out.jsonl")).join(DEDUP_FILE);
        let mut w = SignatureWriter::create(&dest, "key", Some(params.clone())).unwrap();
        for s in &sigs {
            w.write(s).unwrap();
        }
        assert!(!dest.exists());
        w.commit().unwrap();
        let back = read_against(&dir.path().join("out.jsonl"), "key").unwrap();
        assert_eq!(back, sigs);
        let err = read_against(&dir.path().join("out.jsonl"), "other").unwrap_err();
        assert!(err.to_string().contains("dedup configuration"), "{err}");

        // A later text identical to the near duplicate is an exact duplicate
        // of the canonical, in the restored index as in the first one.
        let mut restored = DedupIndex::new(Some(params));
        restored.restore(&back).unwrap();
        let again = fingerprinter.fingerprint(&texts[1]);
        let a = day1.check_and_insert("later", &again);
        let b = restored.check_and_insert("later", &again);
        assert_eq!(a, b);
        assert_eq!(b.status, DedupStatus::Exact);
        assert_eq!(b.duplicate_of.as_deref(), Some("a0"));
    }

    #[test]
    fn an_alias_before_its_canonical_is_refused() {
        let mut index = DedupIndex::new(Some(NearParams::default()));
        let err = index
            .restore(&[Signature::Alias {
                exact: 1,
                canonical: "nowhere".into(),
            }])
            .unwrap_err();
        assert!(err.contains("nowhere"));
    }
}

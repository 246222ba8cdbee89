//! Records into Arrow columns, driven by [`schema::RECORD`](super::schema::RECORD).
//!
//! Each record is turned into a `serde_json::Value` by the same `Serialize`
//! impl the JSONL sink uses and then split into columns by walking the schema
//! description, so Parquet can hold neither more nor fewer fields than JSON.
//! A value the description does not allow (a missing required field, a
//! string where a number belongs) is an error naming the field.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer};
use arrow_schema::{Field, SchemaRef};
use serde_json::Value;

use super::schema::{self, Column, Kind};

enum Buf {
    Str(StringBuilder),
    U32(UInt32Builder),
    U64(UInt64Builder),
    F64(Float64Builder),
    Struct {
        cols: &'static [Column],
        children: Vec<Buf>,
        valid: NullBufferBuilder,
    },
    List {
        item_kind: Kind,
        item: Box<Buf>,
        offsets: Vec<i32>,
        valid: NullBufferBuilder,
    },
}

impl Buf {
    fn new(kind: Kind) -> Buf {
        match kind {
            Kind::Str | Kind::Enum(_) => Buf::Str(StringBuilder::new()),
            Kind::U32 => Buf::U32(UInt32Builder::new()),
            Kind::U64 => Buf::U64(UInt64Builder::new()),
            Kind::F64 => Buf::F64(Float64Builder::new()),
            Kind::Struct(cols) => Buf::Struct {
                cols,
                children: cols.iter().map(|c| Buf::new(c.kind)).collect(),
                valid: NullBufferBuilder::new(0),
            },
            Kind::ListOf(cols) => Buf::list(Kind::Struct(cols)),
            Kind::StrList => Buf::list(Kind::Str),
        }
    }

    fn list(item_kind: Kind) -> Buf {
        Buf::List {
            item_kind,
            item: Box::new(Buf::new(item_kind)),
            offsets: vec![0],
            valid: NullBufferBuilder::new(0),
        }
    }

    /// Append `value` (`None` or JSON null for a missing value). An error
    /// message starts with the path below this column (`.field`, `[i]`),
    /// which callers prefix on the way up: no path is built on success.
    fn push(&mut self, col: &Column, value: Option<&Value>) -> Result<(), String> {
        let value = value.filter(|v| !v.is_null());
        if value.is_none() && !col.nullable {
            return Err(": required field is missing".to_owned());
        }
        let bad = |v: &Value| format!(": unexpected value {v}");
        match self {
            Buf::Str(b) => match value {
                None => b.append_null(),
                Some(Value::String(s)) => {
                    if let Kind::Enum(allowed) = col.kind {
                        if !allowed.contains(&s.as_str()) {
                            return Err(bad(&Value::String(s.clone())));
                        }
                    }
                    b.append_value(s)
                }
                Some(v) => return Err(bad(v)),
            },
            Buf::U32(b) => match value {
                None => b.append_null(),
                Some(v) => {
                    let n = v.as_u64().and_then(|n| u32::try_from(n).ok());
                    b.append_value(n.ok_or_else(|| bad(v))?)
                }
            },
            Buf::U64(b) => match value {
                None => b.append_null(),
                Some(v) => b.append_value(v.as_u64().ok_or_else(|| bad(v))?),
            },
            Buf::F64(b) => match value {
                None => b.append_null(),
                Some(v) => b.append_value(v.as_f64().ok_or_else(|| bad(v))?),
            },
            Buf::Struct {
                cols,
                children,
                valid,
            } => {
                let obj = match value {
                    None => None,
                    Some(Value::Object(o)) => Some(o),
                    Some(v) => return Err(bad(v)),
                };
                valid.append(obj.is_some());
                for (c, child) in cols.iter().zip(children.iter_mut()) {
                    match obj {
                        Some(o) => child
                            .push(c, o.get(c.name))
                            .map_err(|e| format!(".{}{e}", c.name))?,
                        // Children of a null struct are masked; any value will do.
                        None => child.push_masked(),
                    }
                }
            }
            Buf::List {
                item_kind,
                item,
                offsets,
                valid,
            } => {
                let items: &[Value] = match value {
                    None => &[],
                    Some(Value::Array(a)) => a,
                    Some(v) => return Err(bad(v)),
                };
                let item_col = Column {
                    name: "item",
                    kind: *item_kind,
                    nullable: false,
                    doc: "",
                };
                for (i, v) in items.iter().enumerate() {
                    item.push(&item_col, Some(v))
                        .map_err(|e| format!("[{i}]{e}"))?;
                }
                let last = offsets.last().copied().unwrap_or(0);
                let len = i32::try_from(items.len())
                    .ok()
                    .and_then(|n| last.checked_add(n))
                    .ok_or_else(|| ": list too long for one batch".to_owned())?;
                offsets.push(len);
                valid.append(value.is_some());
            }
        }
        Ok(())
    }

    fn push_masked(&mut self) {
        match self {
            Buf::Str(b) => b.append_null(),
            Buf::U32(b) => b.append_null(),
            Buf::U64(b) => b.append_null(),
            Buf::F64(b) => b.append_null(),
            Buf::Struct {
                children, valid, ..
            } => {
                valid.append_null();
                children.iter_mut().for_each(Buf::push_masked);
            }
            Buf::List { offsets, valid, .. } => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                valid.append_null();
            }
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, String> {
        Ok(match self {
            Buf::Str(b) => Arc::new(b.finish()),
            Buf::U32(b) => Arc::new(b.finish()),
            Buf::U64(b) => Arc::new(b.finish()),
            Buf::F64(b) => Arc::new(b.finish()),
            Buf::Struct {
                cols,
                children,
                valid,
            } => {
                let arrays = children
                    .iter_mut()
                    .map(Buf::finish)
                    .collect::<Result<Vec<_>, _>>()?;
                let array =
                    StructArray::try_new(schema::arrow_fields(cols), arrays, valid.finish())
                        .map_err(|e| e.to_string())?;
                Arc::new(array)
            }
            Buf::List {
                item_kind,
                item,
                offsets,
                valid,
            } => {
                let values = item.finish()?;
                let field = Arc::new(Field::new("item", schema::arrow_type(*item_kind), false));
                let offsets = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                let array = ListArray::try_new(field, offsets, values, valid.finish())
                    .map_err(|e| e.to_string())?;
                Arc::new(array)
            }
        })
    }
}

/// Accumulates records as columns and hands them out as record batches.
pub struct Columns {
    schema: SchemaRef,
    bufs: Vec<Buf>,
    rows: usize,
}

impl Default for Columns {
    fn default() -> Self {
        Self::new()
    }
}

impl Columns {
    /// Empty columns for [`schema::RECORD`].
    pub fn new() -> Self {
        Columns {
            schema: Arc::new(schema::arrow_schema()),
            bufs: schema::RECORD.iter().map(|c| Buf::new(c.kind)).collect(),
            rows: 0,
        }
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Rows appended since the last [`Columns::take_batch`].
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Append one record given as its JSON value. On error nothing of the
    /// record must be kept, so the caller should drop these columns.
    pub fn push(&mut self, record: &Value) -> Result<(), String> {
        let Value::Object(obj) = record else {
            return Err("$: a record must be a JSON object".into());
        };
        for (c, buf) in schema::RECORD.iter().zip(self.bufs.iter_mut()) {
            buf.push(c, obj.get(c.name))
                .map_err(|e| format!("$.{}{e}", c.name))?;
        }
        self.rows += 1;
        Ok(())
    }

    /// The rows appended so far as one batch; the columns start empty again.
    pub fn take_batch(&mut self) -> Result<RecordBatch, String> {
        let arrays = self
            .bufs
            .iter_mut()
            .map(Buf::finish)
            .collect::<Result<Vec<_>, _>>()?;
        self.rows = 0;
        RecordBatch::try_new(self.schema(), arrays).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::schema::tests::{bare_article, full_article};
    use arrow_array::{Array, StringArray, UInt64Array};

    #[test]
    fn nested_entities_become_a_list_of_structs() {
        let mut cols = Columns::new();
        for a in [full_article(1), bare_article(2), full_article(3)] {
            cols.push(&serde_json::to_value(&a).unwrap()).unwrap();
        }
        let batch = cols.take_batch().unwrap();
        assert_eq!(batch.num_rows(), 3);
        let ents = batch
            .column_by_name("entities")
            .unwrap()
            .as_any()
            .downcast_ref::<ListArray>()
            .unwrap();
        assert_eq!(ents.value_offsets(), &[0, 2, 2, 4]);
        let items = ents
            .values()
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap();
        let labels = items
            .column_by_name("label")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let got: Vec<&str> = labels.iter().flatten().collect();
        assert_eq!(got, ["LOC", "ORG", "LOC", "ORG"]);
        let geo = items
            .column_by_name("geonames_id")
            .unwrap()
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        assert_eq!(geo.value(0), 2_988_507);
        assert!(geo.is_null(1));
    }

    #[test]
    fn absent_optional_fields_are_null_not_empty() {
        let mut cols = Columns::new();
        cols.push(&serde_json::to_value(bare_article(7)).unwrap())
            .unwrap();
        let batch = cols.take_batch().unwrap();
        for name in ["title", "url", "published"] {
            assert!(batch.column_by_name(name).unwrap().is_null(0), "{name}");
        }
        let source = batch
            .column_by_name("source")
            .unwrap()
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap();
        assert!(source.column_by_name("line").unwrap().is_null(0));
        assert!(!source.column_by_name("path").unwrap().is_null(0));
    }

    #[test]
    fn missing_required_field_is_an_error_naming_it() {
        let mut v = serde_json::to_value(full_article(1)).unwrap();
        v["dedup"].as_object_mut().unwrap().remove("status");
        let err = Columns::new().push(&v).unwrap_err();
        assert!(err.contains("$.dedup.status"), "{err}");
    }

    #[test]
    fn bad_value_in_a_list_item_names_its_index() {
        let mut v = serde_json::to_value(full_article(1)).unwrap();
        v["entities"][1]["label"] = serde_json::json!("PERSON");
        let err = Columns::new().push(&v).unwrap_err();
        assert!(err.starts_with("$.entities[1].label: "), "{err}");
        assert!(err.contains("PERSON"), "{err}");
    }

    #[test]
    fn batches_start_empty_after_take() {
        let mut cols = Columns::new();
        cols.push(&serde_json::to_value(full_article(1)).unwrap())
            .unwrap();
        assert_eq!(cols.take_batch().unwrap().num_rows(), 1);
        assert_eq!(cols.rows(), 0);
        cols.push(&serde_json::to_value(bare_article(2)).unwrap())
            .unwrap();
        let batch = cols.take_batch().unwrap();
        assert_eq!(batch.num_rows(), 1);
        let ents = batch.column_by_name("entities").unwrap();
        let ents = ents.as_any().downcast_ref::<ListArray>().unwrap();
        assert_eq!(ents.value_offsets(), &[0, 0]);
    }
}

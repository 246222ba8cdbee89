//! The output record's layout, described once.
//!
//! [`RECORD`] lists every field of the serialized [`Article`](crate::record::Article)
//! with its type and nullability. The Arrow schema of the Parquet sink, the
//! JSON Schema and the DuckDB and ClickHouse DDL under `schema/` are all
//! generated from it, and tests check the committed files against the
//! generated text and real serialized records against the JSON Schema. A new
//! record field is added here (and to `record.rs`), then
//! `NEWSPIPE_BLESS=1 cargo test --lib sink::schema` rewrites `schema/`.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema};
use serde_json::{json, Map, Value};

use crate::record::SCHEMA_VERSION;

/// The type of one field.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// UTF-8 text.
    Str,
    /// Text restricted to the listed values.
    Enum(&'static [&'static str]),
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
    /// 64-bit float.
    F64,
    /// A nested object with the listed fields.
    Struct(&'static [Column]),
    /// A list of nested objects with the listed fields.
    ListOf(&'static [Column]),
    /// A list of UTF-8 strings.
    StrList,
}

/// One field of the record, or of a nested object.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The JSON key, also the column name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether the value may be null or absent.
    pub nullable: bool,
    /// One-line description, carried into the JSON Schema and the DDL.
    pub doc: &'static str,
}

const fn col(name: &'static str, kind: Kind, doc: &'static str) -> Column {
    Column {
        name,
        kind,
        nullable: false,
        doc,
    }
}

const fn opt(name: &'static str, kind: Kind, doc: &'static str) -> Column {
    Column {
        name,
        kind,
        nullable: true,
        doc,
    }
}

/// Labels an entity can have.
pub const LABELS: &[&str] = &["PER", "ORG", "LOC", "MISC"];
/// Values of `dedup.status`.
pub const DEDUP_STATUSES: &[&str] = &["unique", "exact", "near"];
/// Values of `source.format`.
pub const SOURCE_FORMATS: &[&str] = &["text", "jsonl", "html", "warc"];
/// Values of `dedup.relation`.
pub const DEDUP_RELATIONS: &[&str] = &["resembles", "contained_in", "contains"];

/// Fields of `source`.
pub const SOURCE: &[Column] = &[
    col(
        "path",
        Kind::Str,
        "Path relative to the input root (`-` for stdin).",
    ),
    opt("line", Kind::U64, "1-based line number for JSONL inputs."),
    col("bytes", Kind::U64, "Size of the raw input in bytes."),
    col(
        "encoding",
        Kind::Str,
        "How the raw bytes were decoded: utf-8, utf-8-bom, utf-8-lossy (invalid bytes replaced), utf-16le, utf-16be, or a detected legacy encoding's WHATWG name in lower case (windows-1252, shift_jis, gbk, ...).",
    ),
    col(
        "format",
        Kind::Enum(SOURCE_FORMATS),
        "How the input was read: text, jsonl (a JSON article, its text or html field), html (a web page) or warc (an HTTP response in a WARC file).",
    ),
    opt("id", Kind::Str, "Identifier supplied by the input itself."),
    opt(
        "ingested_at",
        Kind::Str,
        "When the daemon took the input (RFC 3339, UTC); absent in batch runs.",
    ),
];

/// Fields of each `boilerplate` item.
pub const REMOVED: &[Column] = &[
    col("rule", Kind::Str, "Identifier of the rule that matched."),
    col(
        "text",
        Kind::Str,
        "The removed line or lines, joined by a newline.",
    ),
    opt(
        "stories",
        Kind::U32,
        "For a learned removal (rule `learned:<source>`): distinct stories of the source the line was seen in.",
    ),
];

/// Fields of `dedup`.
pub const DEDUP: &[Column] = &[
    col(
        "status",
        Kind::Enum(DEDUP_STATUSES),
        "Unique, exact or near duplicate.",
    ),
    opt(
        "duplicate_of",
        Kind::Str,
        "`id` of the first-seen article of the cluster.",
    ),
    opt(
        "similarity",
        Kind::F64,
        "Estimated Jaccard similarity to that article.",
    ),
    opt(
        "containment",
        Kind::F64,
        "Estimated share of the shorter text's shingles found in the longer (this article or that one).",
    ),
    opt(
        "relation",
        Kind::Enum(DEDUP_RELATIONS),
        "For near duplicates: resembles, contained_in (a shortened copy) or contains (a longer version).",
    ),
];

/// Fields of each item of `entities` and `title_entities`.
pub const ENTITY: &[Column] = &[
    col("text", Kind::Str, "The covered text."),
    col("label", Kind::Enum(LABELS), "Entity type."),
    col("start", Kind::U64, "First code point of the span."),
    col(
        "end",
        Kind::U64,
        "One past the last code point of the span.",
    ),
    opt("canonical", Kind::Str, "Full form of a short mention."),
    opt("geonames_id", Kind::U64, "GeoNames id of a known place."),
    opt(
        "country",
        Kind::Str,
        "ISO 3166-1 alpha-2 country code of a known place.",
    ),
];

/// The record, top-level fields in output order.
pub const RECORD: &[Column] = &[
    col(
        "schema_version",
        Kind::U32,
        "Version of this record layout.",
    ),
    col(
        "id",
        Kind::Str,
        "Content identifier (hex xxh3-128 of the normalized article).",
    ),
    col(
        "source",
        Kind::Struct(SOURCE),
        "Where the article came from.",
    ),
    opt("title", Kind::Str, "Headline."),
    col(
        "text",
        Kind::Str,
        "Clean body text, paragraphs separated by a blank line.",
    ),
    opt(
        "url",
        Kind::Str,
        "The input's own URL: JSONL `url` or WARC-Target-URI; null otherwise (a page's canonical link is canonical_url).",
    ),
    opt(
        "published",
        Kind::Str,
        "Publication date, ISO 8601: YYYY-MM-DD, or RFC 3339 with its offset when a time is known; as given when it does not parse.",
    ),
    col(
        "authors",
        Kind::StrList,
        "Author names found in the page; when it names no one, the publisher (site_name, else the copyright holder or the site its title names; since schema_version 4); empty when none is known.",
    ),
    opt(
        "canonical_url",
        Kind::Str,
        "The page's canonical link or og:url.",
    ),
    opt(
        "site_name",
        Kind::Str,
        "og:site_name or the JSON-LD publisher's name.",
    ),
    col(
        "lang",
        Kind::Str,
        "Primary language subtag (ISO 639-1, `en`): `<html lang>` or detected; `und` when unknown.",
    ),
    col(
        "boilerplate",
        Kind::ListOf(REMOVED),
        "Spans removed as boilerplate.",
    ),
    col("dedup", Kind::Struct(DEDUP), "Duplicate status."),
    col("entities", Kind::ListOf(ENTITY), "Entities over `text`."),
    col(
        "title_entities",
        Kind::ListOf(ENTITY),
        "Entities over `title`.",
    ),
];

/// Name of the table the DDL creates.
pub const TABLE: &str = "articles";

/// The Arrow type of a value of `kind`.
pub fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Kind::Str | Kind::Enum(_) => DataType::Utf8,
        Kind::U32 => DataType::UInt32,
        Kind::U64 => DataType::UInt64,
        Kind::F64 => DataType::Float64,
        Kind::Struct(cols) => DataType::Struct(arrow_fields(cols)),
        Kind::ListOf(cols) => DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(arrow_fields(cols)),
            false,
        ))),
        Kind::StrList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
    }
}

/// Arrow fields for `cols`.
pub fn arrow_fields(cols: &[Column]) -> Fields {
    cols.iter()
        .map(|c| Field::new(c.name, arrow_type(c.kind), c.nullable))
        .collect()
}

/// The Arrow schema of a record batch, as the Parquet sink writes it.
pub fn arrow_schema() -> Schema {
    Schema::new(arrow_fields(RECORD))
}

fn json_type(c: &Column) -> Value {
    let mut v = match c.kind {
        Kind::Str => json!({"type": "string"}),
        Kind::Enum(values) => json!({"type": "string", "enum": values}),
        Kind::U32 | Kind::U64 => json!({"type": "integer", "minimum": 0}),
        Kind::F64 => json!({"type": "number"}),
        Kind::Struct(cols) => json_object(cols),
        Kind::ListOf(cols) => json!({"type": "array", "items": json_object(cols)}),
        Kind::StrList => json!({"type": "array", "items": {"type": "string"}}),
    };
    if c.nullable {
        if let Some(t) = v.get("type").cloned() {
            v["type"] = json!([t, "null"]);
        }
        if let Some(Value::Array(values)) = v.get_mut("enum") {
            values.push(Value::Null);
        }
    }
    v["description"] = json!(c.doc);
    v
}

fn json_object(cols: &[Column]) -> Value {
    let props: Map<String, Value> = cols
        .iter()
        .map(|c| (c.name.to_owned(), json_type(c)))
        .collect();
    let required: Vec<&str> = cols
        .iter()
        .filter(|c| !c.nullable)
        .map(|c| c.name)
        .collect();
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// The JSON Schema (draft 2020-12) of one output record.
pub fn json_schema() -> Value {
    let mut schema = json_object(RECORD);
    schema["properties"]["schema_version"]["const"] = json!(SCHEMA_VERSION);
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("urn:newspipe:record:v{SCHEMA_VERSION}"),
        "title": format!("newspipe record, schema_version {SCHEMA_VERSION}"),
        "description": "One article as newspipe writes it: a JSONL line, or a Parquet row with the same fields.",
    });
    if let (Value::Object(root), Value::Object(body)) = (&mut root, schema) {
        root.extend(body);
    }
    root
}

fn duckdb_type(kind: Kind) -> String {
    match kind {
        Kind::Str | Kind::Enum(_) => "VARCHAR".to_owned(),
        Kind::U32 => "UINTEGER".to_owned(),
        Kind::U64 => "UBIGINT".to_owned(),
        Kind::F64 => "DOUBLE".to_owned(),
        Kind::Struct(cols) => duckdb_struct(cols),
        Kind::ListOf(cols) => format!("{}[]", duckdb_struct(cols)),
        Kind::StrList => "VARCHAR[]".to_owned(),
    }
}

fn duckdb_struct(cols: &[Column]) -> String {
    let fields: Vec<String> = cols
        .iter()
        .map(|c| format!("\"{}\" {}", c.name, duckdb_type(c.kind)))
        .collect();
    format!("STRUCT({})", fields.join(", "))
}

/// DuckDB DDL: the `articles` table (upsert key `id`) and a table macro
/// `newspipe_jsonl(path)` that reads JSONL output (plain, `.zst` or `.gz`)
/// with exactly these column types.
pub fn duckdb_ddl() -> String {
    let mut s = format!(
        "-- newspipe record, schema_version {SCHEMA_VERSION}, for DuckDB.\n\
         -- Generated from src/sink/schema.rs; do not edit by hand.\n\n\
         CREATE TABLE IF NOT EXISTS {TABLE} (\n"
    );
    for (i, c) in RECORD.iter().enumerate() {
        let null = if c.nullable { "" } else { " NOT NULL" };
        let key = if c.name == "id" { " PRIMARY KEY" } else { "" };
        let sep = if i + 1 < RECORD.len() { "," } else { "" };
        let _ = writeln!(
            s,
            "    \"{}\" {}{null}{key}{sep}  -- {}",
            c.name,
            duckdb_type(c.kind),
            c.doc
        );
    }
    s.push_str(");\n\n");
    s.push_str(
        "-- JSONL output with the table's types; compression follows the file name.\n\
         CREATE OR REPLACE MACRO newspipe_jsonl(path) AS TABLE\n    \
         SELECT * FROM read_json(path, format = 'newline_delimited', columns = {\n",
    );
    for (i, c) in RECORD.iter().enumerate() {
        let sep = if i + 1 < RECORD.len() { "," } else { "" };
        let _ = writeln!(s, "        '{}': '{}'{sep}", c.name, duckdb_type(c.kind));
    }
    s.push_str("    });\n");
    s
}

fn clickhouse_type(c: &Column) -> String {
    let t = match c.kind {
        Kind::Str => "String".to_owned(),
        Kind::Enum(_) => "LowCardinality(String)".to_owned(),
        Kind::U32 => "UInt32".to_owned(),
        Kind::U64 => "UInt64".to_owned(),
        Kind::F64 => "Float64".to_owned(),
        Kind::Struct(cols) => clickhouse_tuple(cols),
        Kind::ListOf(cols) => format!("Array({})", clickhouse_tuple(cols)),
        Kind::StrList => "Array(String)".to_owned(),
    };
    match (c.nullable, c.kind) {
        (true, Kind::Enum(_)) => "LowCardinality(Nullable(String))".to_owned(),
        (true, _) => format!("Nullable({t})"),
        (false, _) => t,
    }
}

fn clickhouse_tuple(cols: &[Column]) -> String {
    let fields: Vec<String> = cols
        .iter()
        .map(|c| format!("`{}` {}", c.name, clickhouse_type(c)))
        .collect();
    format!("Tuple({})", fields.join(", "))
}

/// ClickHouse DDL: the `articles` table as a `ReplacingMergeTree` keyed on
/// `id`, so that re-inserting a record replaces it (query with `FINAL`).
pub fn clickhouse_ddl() -> String {
    let mut s = format!(
        "-- newspipe record, schema_version {SCHEMA_VERSION}, for ClickHouse.\n\
         -- Generated from src/sink/schema.rs; do not edit by hand.\n\n\
         CREATE TABLE IF NOT EXISTS {TABLE}\n(\n"
    );
    for (i, c) in RECORD.iter().enumerate() {
        let sep = if i + 1 < RECORD.len() { "," } else { "" };
        let doc = c.doc.replace('\'', "''");
        let _ = writeln!(
            s,
            "    `{}` {} COMMENT '{doc}'{sep}",
            c.name,
            clickhouse_type(c)
        );
    }
    s.push_str(")\nENGINE = ReplacingMergeTree\nORDER BY id;\n");
    s
}

/// Check `value` against the JSON Schema subset [`json_schema`] uses
/// (`type`, `const`, `enum`, `minimum`, `properties`, `required`,
/// `additionalProperties: false`, `items`). Returns the path and reason of
/// the first violation.
pub fn check_json(schema: &Value, value: &Value) -> Result<(), String> {
    check_at(schema, value, "$")
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        _ => false,
    }
}

fn check_at(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    match schema.get("type") {
        Some(Value::String(t)) if !type_matches(t, value) => {
            return Err(format!("{at}: expected {t}, got {value}"));
        }
        Some(Value::Array(ts))
            if !ts
                .iter()
                .any(|t| t.as_str().is_some_and(|t| type_matches(t, value))) =>
        {
            return Err(format!("{at}: expected one of {ts:?}, got {value}"));
        }
        _ => {}
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            return Err(format!("{at}: expected {c}, got {value}"));
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n < min {
            return Err(format!("{at}: {n} is below {min}"));
        }
    }
    if let Value::Object(obj) = value {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(key) {
                    return Err(format!("{at}: missing required `{key}`"));
                }
            }
        }
        for (key, v) in obj {
            match props.and_then(|p| p.get(key)) {
                Some(sub) => check_at(sub, v, &format!("{at}.{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: unexpected key `{key}`"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check_at(item_schema, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Files under `schema/` and the text each must hold.
pub fn schema_files() -> Vec<(String, String)> {
    let json = serde_json::to_string_pretty(&json_schema()).unwrap_or_default() + "\n";
    vec![
        (format!("record.v{SCHEMA_VERSION}.schema.json"), json),
        ("duckdb.sql".to_owned(), duckdb_ddl()),
        ("clickhouse.sql".to_owned(), clickhouse_ddl()),
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::{
        Article, DedupInfo, DedupStatus, Entity, Label, Relation, Removed, SourceInfo,
    };

    /// A record with every optional field set, nested lists non-empty.
    pub(crate) fn full_article(i: u64) -> Article {
        let source = SourceInfo {
            path: format!("news/{i:03}.jsonl"),
            line: Some(i + 1),
            bytes: 1000 + i,
            encoding: "utf-8".into(),
            // Not `id`, so `..default()` is needed and fields added later still compile.
            ..SourceInfo::default()
        };
        let mut a = Article::new(i, source, format!("Body {i} about Paris and Acme Corp."));
        a.source.id = Some(format!("given-{i}"));
        a.id = format!("{i:032x}");
        a.title = Some(format!("Headline {i}"));
        a.url = Some(format!("https://example.org/{i}"));
        a.published = Some("2024-05-01T10:00:00Z".into());
        a.authors = vec!["Ana Lima".into(), "Bo Chen".into()];
        a.canonical_url = Some(format!("https://example.org/c/{i}"));
        a.site_name = Some("Example News".into());
        a.boilerplate = vec![Removed {
            rule: "also_read".into(),
            text: "Also Read: elsewhere\nwrapped".into(),
            stories: Some(12),
        }];
        a.dedup = DedupInfo {
            status: DedupStatus::Near,
            duplicate_of: Some(format!("{:032x}", 0)),
            similarity: Some(0.875),
            containment: Some(0.9375),
            relation: Some(Relation::ContainedIn),
        };
        a.entities = vec![
            Entity {
                text: "Paris".into(),
                label: Label::Loc,
                start: 14,
                end: 19,
                canonical: None,
                geonames_id: Some(2_988_507),
                country: Some("FR".into()),
            },
            Entity {
                text: "Acme Corp".into(),
                label: Label::Org,
                start: 24,
                end: 33,
                canonical: Some("Acme Corporation".into()),
                geonames_id: None,
                country: None,
            },
        ];
        a.title_entities = vec![];
        a
    }

    /// A record with every optional field empty.
    pub(crate) fn bare_article(i: u64) -> Article {
        let mut a = Article::new(
            i,
            SourceInfo {
                path: format!("{i}.txt"),
                bytes: 10,
                encoding: "windows-1252".into(),
                ..SourceInfo::default()
            },
            "Plain text.".into(),
        );
        a.id = format!("{i:032x}");
        a
    }

    #[test]
    fn serialized_records_satisfy_the_json_schema() {
        let schema = json_schema();
        for a in [full_article(3), bare_article(4)] {
            let v = serde_json::to_value(&a).unwrap();
            check_json(&schema, &v).unwrap_or_else(|e| panic!("{e}\n{v:#}"));
        }
    }

    #[test]
    fn json_schema_rejects_unknown_keys_and_bad_labels() {
        let schema = json_schema();
        let mut v = serde_json::to_value(full_article(1)).unwrap();
        v["entities"][0]["salience"] = json!(0.5);
        assert!(check_json(&schema, &v).unwrap_err().contains("salience"));
        let mut v = serde_json::to_value(full_article(1)).unwrap();
        v["entities"][1]["label"] = json!("PERSON");
        assert!(check_json(&schema, &v).unwrap_err().contains("PERSON"));
        let mut v = serde_json::to_value(full_article(1)).unwrap();
        v["schema_version"] = json!(SCHEMA_VERSION + 1);
        assert!(check_json(&schema, &v).is_err());
    }

    #[test]
    fn every_serialized_key_is_described() {
        // A field added to record.rs but not here would be dropped from Parquet.
        fn walk(cols: &[Column], v: &Value, at: &str) {
            let Value::Object(obj) = v else { return };
            for (k, sub) in obj {
                let c = cols
                    .iter()
                    .find(|c| c.name == k)
                    .unwrap_or_else(|| panic!("{at}.{k} is not in sink::schema"));
                match (c.kind, sub) {
                    (Kind::Struct(inner), _) => walk(inner, sub, &format!("{at}.{k}")),
                    (Kind::ListOf(inner), Value::Array(items)) => {
                        for item in items {
                            walk(inner, item, &format!("{at}.{k}[]"));
                        }
                    }
                    _ => {}
                }
            }
        }
        walk(RECORD, &serde_json::to_value(full_article(2)).unwrap(), "$");
    }

    #[test]
    fn labels_and_statuses_match_the_record_enums() {
        let labels: Vec<String> = Label::ALL.iter().map(|l| l.to_string()).collect();
        assert_eq!(labels, LABELS);
        for (status, name) in [
            (DedupStatus::Unique, "unique"),
            (DedupStatus::Exact, "exact"),
            (DedupStatus::Near, "near"),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), json!(name));
            assert!(DEDUP_STATUSES.contains(&name));
        }
        let relations = [
            Relation::Resembles,
            Relation::ContainedIn,
            Relation::Contains,
        ];
        let names: Vec<serde_json::Value> = relations
            .iter()
            .map(|r| serde_json::to_value(r).unwrap())
            .collect();
        assert_eq!(
            names,
            DEDUP_RELATIONS.iter().map(|n| json!(n)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn ddl_quotes_reserved_names_and_lists_every_column() {
        let duck = duckdb_ddl();
        let ch = clickhouse_ddl();
        for c in RECORD {
            assert!(duck.contains(&format!("\"{}\" ", c.name)), "{}", c.name);
            assert!(ch.contains(&format!("`{}` ", c.name)), "{}", c.name);
        }
        assert!(duck.contains("\"end\" UBIGINT"));
        assert!(ch.contains("`geonames_id` Nullable(UInt64)"));
        assert!(ch.contains("ORDER BY id"));
    }

    #[test]
    fn committed_schema_files_match_the_description() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        let bless = std::env::var_os("NEWSPIPE_BLESS").is_some();
        for (name, text) in schema_files() {
            let path = dir.join(&name);
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
                continue;
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "schema/{name} is stale: run NEWSPIPE_BLESS=1 cargo test --lib sink::schema"
            );
        }
    }
}

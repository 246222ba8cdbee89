-- newspipe record, schema_version 3, for DuckDB.
-- Generated from src/sink/schema.rs; do not edit by hand.

CREATE TABLE IF NOT EXISTS articles (
    "schema_version" UINTEGER NOT NULL,  -- Version of this record layout.
    "id" VARCHAR NOT NULL PRIMARY KEY,  -- Content identifier (hex xxh3-128 of the normalized article).
    "source" STRUCT("path" VARCHAR, "line" UBIGINT, "bytes" UBIGINT, "encoding" VARCHAR, "id" VARCHAR, "ingested_at" VARCHAR) NOT NULL,  -- Where the article came from.
    "title" VARCHAR,  -- Headline.
    "text" VARCHAR NOT NULL,  -- Clean body text, paragraphs separated by a blank line.
    "url" VARCHAR,  -- Source URL.
    "published" VARCHAR,  -- Publication time as the input supplied it.
    "lang" VARCHAR NOT NULL,  -- ISO 639-1 language code.
    "boilerplate" STRUCT("rule" VARCHAR, "text" VARCHAR, "stories" UINTEGER)[] NOT NULL,  -- Spans removed as boilerplate.
    "dedup" STRUCT("status" VARCHAR, "duplicate_of" VARCHAR, "similarity" DOUBLE, "containment" DOUBLE, "relation" VARCHAR) NOT NULL,  -- Duplicate status.
    "entities" STRUCT("text" VARCHAR, "label" VARCHAR, "start" UBIGINT, "end" UBIGINT, "canonical" VARCHAR, "geonames_id" UBIGINT, "country" VARCHAR)[] NOT NULL,  -- Entities over `text`.
    "title_entities" STRUCT("text" VARCHAR, "label" VARCHAR, "start" UBIGINT, "end" UBIGINT, "canonical" VARCHAR, "geonames_id" UBIGINT, "country" VARCHAR)[] NOT NULL  -- Entities over `title`.
);

-- JSONL output with the table's types; compression follows the file name.
CREATE OR REPLACE MACRO newspipe_jsonl(path) AS TABLE
    SELECT * FROM read_json(path, format = 'newline_delimited', columns = {
        'schema_version': 'UINTEGER',
        'id': 'VARCHAR',
        'source': 'STRUCT("path" VARCHAR, "line" UBIGINT, "bytes" UBIGINT, "encoding" VARCHAR, "id" VARCHAR, "ingested_at" VARCHAR)',
        'title': 'VARCHAR',
        'text': 'VARCHAR',
        'url': 'VARCHAR',
        'published': 'VARCHAR',
        'lang': 'VARCHAR',
        'boilerplate': 'STRUCT("rule" VARCHAR, "text" VARCHAR, "stories" UINTEGER)[]',
        'dedup': 'STRUCT("status" VARCHAR, "duplicate_of" VARCHAR, "similarity" DOUBLE, "containment" DOUBLE, "relation" VARCHAR)',
        'entities': 'STRUCT("text" VARCHAR, "label" VARCHAR, "start" UBIGINT, "end" UBIGINT, "canonical" VARCHAR, "geonames_id" UBIGINT, "country" VARCHAR)[]',
        'title_entities': 'STRUCT("text" VARCHAR, "label" VARCHAR, "start" UBIGINT, "end" UBIGINT, "canonical" VARCHAR, "geonames_id" UBIGINT, "country" VARCHAR)[]'
    });

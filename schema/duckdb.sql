-- newspipe record, schema_version 4, for DuckDB.
-- Generated from src/sink/schema.rs; do not edit by hand.

CREATE TABLE IF NOT EXISTS articles (
    "schema_version" UINTEGER NOT NULL,  -- Version of this record layout.
    "id" VARCHAR NOT NULL PRIMARY KEY,  -- Content identifier (hex xxh3-128 of the normalized article).
    "source" STRUCT("path" VARCHAR, "line" UBIGINT, "bytes" UBIGINT, "encoding" VARCHAR, "format" VARCHAR, "id" VARCHAR, "ingested_at" VARCHAR) NOT NULL,  -- Where the article came from.
    "title" VARCHAR,  -- Headline.
    "text" VARCHAR NOT NULL,  -- Clean body text, paragraphs separated by a blank line.
    "url" VARCHAR,  -- The input's own URL: JSONL `url` or WARC-Target-URI; null otherwise (a page's canonical link is canonical_url).
    "published" VARCHAR,  -- Publication date, ISO 8601: YYYY-MM-DD, or RFC 3339 with its offset when a time is known; as given when it does not parse.
    "authors" VARCHAR[] NOT NULL,  -- Author names found in the page; when it names no one, the publisher (site_name, else the copyright holder or the site its title names; since schema_version 4); empty when none is known.
    "canonical_url" VARCHAR,  -- The page's canonical link or og:url.
    "site_name" VARCHAR,  -- og:site_name or the JSON-LD publisher's name.
    "lang" VARCHAR NOT NULL,  -- Primary language subtag (ISO 639-1, `en`): `<html lang>` or detected; `und` when unknown.
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
        'source': 'STRUCT("path" VARCHAR, "line" UBIGINT, "bytes" UBIGINT, "encoding" VARCHAR, "format" VARCHAR, "id" VARCHAR, "ingested_at" VARCHAR)',
        'title': 'VARCHAR',
        'text': 'VARCHAR',
        'url': 'VARCHAR',
        'published': 'VARCHAR',
        'authors': 'VARCHAR[]',
        'canonical_url': 'VARCHAR',
        'site_name': 'VARCHAR',
        'lang': 'VARCHAR',
        'boilerplate': 'STRUCT("rule" VARCHAR, "text" VARCHAR, "stories" UINTEGER)[]',
        'dedup': 'STRUCT("status" VARCHAR, "duplicate_of" VARCHAR, "similarity" DOUBLE, "containment" DOUBLE, "relation" VARCHAR)',
        'entities': 'STRUCT("text" VARCHAR, "label" VARCHAR, "start" UBIGINT, "end" UBIGINT, "canonical" VARCHAR, "geonames_id" UBIGINT, "country" VARCHAR)[]',
        'title_entities': 'STRUCT("text" VARCHAR, "label" VARCHAR, "start" UBIGINT, "end" UBIGINT, "canonical" VARCHAR, "geonames_id" UBIGINT, "country" VARCHAR)[]'
    });

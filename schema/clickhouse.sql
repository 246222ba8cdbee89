-- newspipe record, schema_version 4, for ClickHouse.
-- Generated from src/sink/schema.rs; do not edit by hand.

CREATE TABLE IF NOT EXISTS articles
(
    `schema_version` UInt32 COMMENT 'Version of this record layout.',
    `id` String COMMENT 'Content identifier (hex xxh3-128 of the normalized article).',
    `source` Tuple(`path` String, `line` Nullable(UInt64), `bytes` UInt64, `encoding` String, `format` LowCardinality(String), `id` Nullable(String), `ingested_at` Nullable(String)) COMMENT 'Where the article came from.',
    `title` Nullable(String) COMMENT 'Headline.',
    `text` String COMMENT 'Clean body text, paragraphs separated by a blank line.',
    `url` Nullable(String) COMMENT 'The input''s own URL: JSONL `url` or WARC-Target-URI; null otherwise (a page''s canonical link is canonical_url).',
    `published` Nullable(String) COMMENT 'Publication date, ISO 8601: YYYY-MM-DD, or RFC 3339 with its offset when a time is known; as given when it does not parse.',
    `authors` Array(String) COMMENT 'Author names found in the page; when it names no one, the publisher (site_name, else the copyright holder or the site its title names; since schema_version 4); empty when none is known.',
    `canonical_url` Nullable(String) COMMENT 'The page''s canonical link or og:url.',
    `site_name` Nullable(String) COMMENT 'og:site_name or the JSON-LD publisher''s name.',
    `lang` String COMMENT 'Primary language subtag (ISO 639-1, `en`): `<html lang>` or detected; `und` when unknown.',
    `boilerplate` Array(Tuple(`rule` String, `text` String, `stories` Nullable(UInt32))) COMMENT 'Spans removed as boilerplate.',
    `dedup` Tuple(`status` LowCardinality(String), `duplicate_of` Nullable(String), `similarity` Nullable(Float64), `containment` Nullable(Float64), `relation` LowCardinality(Nullable(String))) COMMENT 'Duplicate status.',
    `entities` Array(Tuple(`text` String, `label` LowCardinality(String), `start` UInt64, `end` UInt64, `canonical` Nullable(String), `geonames_id` Nullable(UInt64), `country` Nullable(String))) COMMENT 'Entities over `text`.',
    `title_entities` Array(Tuple(`text` String, `label` LowCardinality(String), `start` UInt64, `end` UInt64, `canonical` Nullable(String), `geonames_id` Nullable(UInt64), `country` Nullable(String))) COMMENT 'Entities over `title`.'
)
ENGINE = ReplacingMergeTree
ORDER BY id;

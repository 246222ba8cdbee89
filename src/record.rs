//! The article as it moves through the pipeline, and the record it becomes.
//!
//! One [`Article`] is created per accepted input by a source, mutated in place by
//! each stage, and serialized by the sink. Fields marked `#[serde(skip)]` are
//! working state that never reaches the output.

use serde::{Deserialize, Serialize};

/// Version of the output record layout. Bump on any change a consumer can see.
pub const SCHEMA_VERSION: u32 = 4;

/// Where an article came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceInfo {
    /// Path relative to the input root (`-` for stdin).
    pub path: String,
    /// 1-based line number for JSONL inputs; absent for whole-file inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Size of the raw input in bytes (the file, or the JSONL line).
    pub bytes: u64,
    /// How the raw bytes were decoded: `utf-8`, `utf-8-bom` or `windows-1252`.
    pub encoding: String,
    /// How the input was read.
    pub format: SourceFormat,
    /// Identifier supplied by the input itself (the `id` field of a JSONL line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When the daemon took the input (RFC 3339, UTC); absent in batch runs,
    /// whose output depends on nothing but the input and the config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingested_at: Option<String>,
    /// xxh3-64 of the raw input bytes; keys the daemon's processed-file ledger.
    #[serde(skip)]
    pub input_hash: u64,
    /// The URL the input came with (a WARC record's `WARC-Target-URI`),
    /// handed to the article by the source.
    #[serde(skip)]
    pub url: Option<String>,
    /// The charset of an HTTP `Content-Type` header (WARC), for decoding.
    #[serde(skip)]
    pub charset: Option<String>,
    /// The Kafka message this input is, for the offset commit (shared, so
    /// a rejection can carry it cheaply).
    #[serde(skip)]
    pub message: Option<std::sync::Arc<MessageAt>>,
    /// Unix seconds of the input's own clock when it has one that is not
    /// `ingested_at` (a Kafka message's timestamp); see [`SourceInfo::clock_secs`].
    #[serde(skip)]
    pub event_secs: Option<u64>,
}

impl SourceInfo {
    /// The time dedup retention counts in: a Kafka message's timestamp, else
    /// the daemon's ingest time, else 0 (batch runs, whose articles all share
    /// one moment).
    pub fn clock_secs(&self) -> u64 {
        self.event_secs
            .unwrap_or_else(|| ingested_secs(self.ingested_at.as_deref()))
    }
}

/// Unix seconds of an RFC 3339 time; 0 when absent or unreadable.
pub fn ingested_secs(ingested_at: Option<&str>) -> u64 {
    ingested_at
        .and_then(|s| humantime::parse_rfc3339(s).ok())
        .and_then(|t| t.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// How an input was read: the value of `source.format`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// A plain-text article.
    #[default]
    Text,
    /// A JSON article (a JSONL line or a `.json` document), by its `text` or `html` field.
    Jsonl,
    /// A web page file.
    Html,
    /// An HTTP response record of a WARC file.
    Warc,
}

/// Where a Kafka message sits in its log: the typed origin an offset commit
/// needs, carried beside the display path `topic/partition/offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAt {
    /// Topic name, shared by every message of the topic.
    pub topic: std::sync::Arc<str>,
    /// Partition number.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
}

/// A span of text removed as boilerplate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Removed {
    /// Identifier of the rule that matched (see `config/boilerplate.toml`).
    pub rule: String,
    /// The removed line or lines, joined by `\n`.
    pub text: String,
    /// For a learned removal (`learned:<source>`): the number of distinct
    /// stories of the source the line was seen in. Added in `schema_version` 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stories: Option<u32>,
}

/// What the rule-based boilerplate pass leaves of an article (see
/// [`Article::ruled`]).
#[derive(Debug, Clone, Default)]
pub struct Ruled {
    /// The title after the pass (`None` when it went back to the text).
    pub title: Option<String>,
    /// The text after the pass.
    pub text: String,
    /// What the pass removed, in text order.
    pub boilerplate: Vec<Removed>,
    /// The dedup signature of `text`, when it was taken with the dedup
    /// stage's settings; that stage then does not take it again.
    pub fingerprint: Option<Fingerprint>,
}

/// Duplicate status of an article relative to those before it in input order.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DedupStatus {
    /// No earlier article is the same or nearly the same.
    #[default]
    Unique,
    /// Identical to an earlier article after key folding.
    Exact,
    /// Similar to an earlier article above the configured threshold.
    Near,
}

/// How a near duplicate relates to its canonical article.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The two texts resemble each other: estimated Jaccard similarity at or
    /// above `dedup.threshold`.
    Resembles,
    /// This article is mostly contained in the canonical one (a shortened
    /// copy): estimated containment at or above `dedup.containment`.
    ContainedIn,
    /// This article mostly contains the canonical one (a longer version).
    Contains,
}

/// The dedup stage's verdict.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DedupInfo {
    /// Unique, exact or near duplicate.
    pub status: DedupStatus,
    /// `id` of the canonical (first seen) article when this one is a duplicate.
    pub duplicate_of: Option<String>,
    /// Estimated Jaccard similarity of word shingles to the canonical article.
    pub similarity: Option<f64>,
    /// Estimated share of the smaller text's shingles found in the larger one
    /// (of this article and its canonical).
    pub containment: Option<f64>,
    /// Which relation made a near duplicate; null for unique and exact.
    pub relation: Option<Relation>,
}

/// Entity label, CoNLL-2003 style.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// A person.
    #[serde(rename = "PER")]
    Per,
    /// An organisation: companies, institutions, teams, parties.
    #[serde(rename = "ORG")]
    Org,
    /// A place: countries, cities, regions, geographic features.
    #[serde(rename = "LOC")]
    Loc,
    /// Other names: nationalities, events, works, products.
    #[serde(rename = "MISC")]
    Misc,
}

impl Label {
    /// All labels, in output order.
    pub const ALL: [Label; 4] = [Label::Per, Label::Org, Label::Loc, Label::Misc];

    /// The CoNLL name of the label.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Per => "PER",
            Label::Org => "ORG",
            Label::Loc => "LOC",
            Label::Misc => "MISC",
        }
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tagged entity span. `start`/`end` count Unicode code points (not bytes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entity {
    /// The covered text, exactly `text[start..end]` in code points.
    pub text: String,
    /// The entity type.
    pub label: Label,
    /// First code point of the span.
    pub start: usize,
    /// One past the last code point of the span.
    pub end: usize,
    /// Full form when this mention is a short form of one seen earlier ("Trump" -> "Donald Trump").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// GeoNames id for places the gazetteer knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geonames_id: Option<u64>,
    /// ISO 3166-1 alpha-2 country code for places the gazetteer knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Fingerprints computed in parallel before the sequential dedup decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// xxh3-64 of the folded hashing key.
    pub exact: u64,
    /// MinHash signature over word shingles of the folded key: `bands * rows`
    /// values, then the number of shingles (see `dedup::split_minhash`);
    /// empty when near-dup detection is off or the text has no words.
    /// Candidates are verified on it: no shingle set is kept.
    pub minhash: Vec<u32>,
}

/// One article: the unit every stage reads and writes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Article {
    /// Position in input order, starting at 0. Drives ordering and determinism.
    #[serde(skip)]
    pub seq: u64,
    /// Version of this record layout.
    pub schema_version: u32,
    /// Stable content identifier (hex of xxh3-128 over the normalized article).
    pub id: String,
    /// Where the article came from.
    pub source: SourceInfo,
    /// Headline, when the input has one.
    pub title: Option<String>,
    /// Clean body text: paragraphs separated by one blank line.
    pub text: String,
    /// The input's own URL (JSONL `url`, WARC-Target-URI); a page's
    /// canonical link is [`Article::canonical_url`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Publication date, ISO 8601 when it parses (see [`crate::extract::date`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Author names, from the page's metadata or byline; the publisher
    /// (`site_name`) when the page names no one (since `schema_version` 4).
    pub authors: Vec<String>,
    /// The page's canonical link or `og:url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_url: Option<String>,
    /// `og:site_name` or the JSON-LD publisher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    /// Primary language subtag (ISO 639-1).
    pub lang: String,
    /// Spans removed as boilerplate, in text order.
    pub boilerplate: Vec<Removed>,
    /// Duplicate status.
    pub dedup: DedupInfo,
    /// Entities over `text`.
    pub entities: Vec<Entity>,
    /// Entities over `title`.
    pub title_entities: Vec<Entity>,
    /// Working state for the dedup stage.
    #[serde(skip)]
    pub fingerprint: Option<Fingerprint>,
    /// Title supplied by the input (JSONL) or found by the extractor; wins
    /// over a detected headline.
    #[serde(skip)]
    pub given_title: Option<String>,
    /// What the boilerplate stage observed for a learner that folds it
    /// downstream in input order (the daemon's); `None` otherwise.
    #[serde(skip)]
    pub observation: Option<Box<crate::boilerplate::Observation>>,
    /// The rule-based boilerplate pass's result for the text as it stands,
    /// computed ahead of the stage (a batch run's learning pass), so the
    /// stage need not redo it when no learned line applies.
    #[serde(skip)]
    pub ruled: Option<Box<Ruled>>,
    /// The web page still to be extracted (HTML and WARC input, JSONL
    /// `html`); taken by the extract stage, which fills `text`.
    #[serde(skip)]
    pub html: Option<String>,
    /// Whether `text` was extracted from a web page: the extractor judged
    /// its links by their markup, so the boilerplate stage does not guess
    /// them again from the text's shape.
    #[serde(skip)]
    pub from_markup: bool,
}

impl Article {
    /// A new article with the given raw text, before any stage has run.
    pub fn new(seq: u64, source: SourceInfo, text: String) -> Self {
        Article {
            seq,
            schema_version: SCHEMA_VERSION,
            source,
            text,
            lang: "en".to_owned(),
            ..Article::default()
        }
    }
}

//! The dedup stage: fingerprints computed in parallel ([`Fingerprinter`]), the
//! verdict taken in input order ([`Deduplicator`]) so the first article seen is
//! always the canonical one, whatever the thread count.

use serde::Deserialize;

use crate::dedup::RetainingIndex;
use crate::dedup::{self, NearParams};
use crate::record::Article;
use crate::stage::Stage;

/// `[dedup]` config section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupConfig {
    /// Detect duplicates at all.
    pub enabled: bool,
    /// Detect near duplicates as well as exact ones.
    pub near: bool,
    /// Leave duplicates out of the output (they are still counted).
    pub drop_duplicates: bool,
    /// Near-duplicate parameters.
    #[serde(flatten)]
    pub params: NearParams,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            enabled: true,
            near: true,
            drop_duplicates: false,
            params: NearParams::default(),
        }
    }
}

impl DedupConfig {
    fn near_params(&self) -> Option<&NearParams> {
        self.near.then_some(&self.params)
    }
}

/// Parallel half: computes [`crate::record::Fingerprint`]s.
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    inner: dedup::Fingerprinter,
}

impl Fingerprinter {
    /// Build from config.
    pub fn new(cfg: &DedupConfig) -> Self {
        Fingerprinter {
            inner: dedup::Fingerprinter::new(cfg.near_params()),
        }
    }
}

impl Stage for Fingerprinter {
    fn name(&self) -> &'static str {
        "fingerprint"
    }

    fn process(&self, article: &mut Article) {
        article.fingerprint = Some(self.inner.fingerprint(&article.text));
    }
}

/// Sequential half: holds the index and marks duplicates in input order.
#[derive(Debug)]
pub struct Deduplicator {
    index: RetainingIndex,
}

impl Deduplicator {
    /// Build from config; remembers every article (a batch run).
    pub fn new(cfg: &DedupConfig) -> Self {
        Self::with_retention(cfg, u64::MAX)
    }

    /// Build from config; forgets articles ingested more than `retention_secs`
    /// before the newest one (the daemon).
    pub fn with_retention(cfg: &DedupConfig, retention_secs: u64) -> Self {
        Deduplicator {
            index: RetainingIndex::new(cfg.near_params().cloned(), retention_secs),
        }
    }

    /// Mark `article` and remember it. Must be called in input order.
    pub fn process(&mut self, article: &mut Article) {
        // The fingerprint stays on the article: the daemon persists it so that
        // a restart can rebuild this index.
        if let Some(fp) = &article.fingerprint {
            let now = ingested_secs(article.source.ingested_at.as_deref());
            article.dedup = self.index.check_and_insert(&article.id, fp, now);
        }
    }

    /// Feed an article decided in an earlier run back into the index, with
    /// the time it was ingested, so a restarted daemon decides as an
    /// uninterrupted one would.
    pub fn replay(&mut self, id: &str, fp: &crate::record::Fingerprint, ingested_secs: u64) {
        self.index.check_and_insert(id, fp, ingested_secs);
    }

    /// Articles remembered.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Heap bytes of the index.
    pub fn heap_bytes(&self) -> usize {
        self.index.heap_bytes()
    }

    /// A text naming every setting that shapes the index; a daemon refuses
    /// to reuse an index built under a different one.
    pub fn config_key(cfg: &DedupConfig) -> String {
        format!(
            "enabled={} near={} {:?} fingerprint=v{}",
            cfg.enabled,
            cfg.near,
            cfg.params,
            dedup::FINGERPRINT_VERSION
        )
    }
}

/// Unix seconds of an RFC 3339 ingest time; 0 when absent (batch runs, whose
/// articles all share one moment).
pub fn ingested_secs(ingested_at: Option<&str>) -> u64 {
    ingested_at
        .and_then(|s| humantime::parse_rfc3339(s).ok())
        .and_then(|t| t.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

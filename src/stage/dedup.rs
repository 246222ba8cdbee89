//! The dedup stage: fingerprints computed in parallel ([`Fingerprinter`]), the
//! verdict taken in input order ([`Deduplicator`]) so the first article seen is
//! always the canonical one, whatever the thread count.

use std::collections::HashMap;

use serde::Deserialize;

use crate::dedup::{self, NearParams, RetainingIndex, Signature};
use crate::error::{Error, Result};
use crate::record::{Article, DedupInfo, DedupStatus, Fingerprint};
use crate::stage::{Stage, Verdict};

/// `[dedup]` config section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DedupConfig {
    /// Detect duplicates at all.
    pub enabled: bool,
    /// Detect near duplicates as well as exact ones.
    pub near: bool,
    /// Leave duplicates out of the output (they are still counted).
    pub drop_duplicates: bool,
    /// Long-running modes (daemon, Kafka) compare an article only with those
    /// of the last this many days, by their clock (see
    /// [`crate::record::SourceInfo::clock_secs`]); older entries are dropped,
    /// which bounds the index. Batch runs remember everything.
    pub retention_days: u64,
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
            retention_days: 30,
            params: NearParams::default(),
        }
    }
}

/// Most LSH bands; with [`MAX_ROWS`] it bounds the signature an article keeps.
pub const MAX_BANDS: usize = 256;
/// Most rows per band.
pub const MAX_ROWS: usize = 32;
/// Most MinHash values per article (`bands * rows`): 4 KB of signature.
pub const MAX_SIGNATURE: usize = 1024;
/// Longest retention: ten years.
pub const MAX_RETENTION_DAYS: u64 = 3650;

impl DedupConfig {
    /// The near-duplicate parameters, when near matching is on.
    pub fn near_params(&self) -> Option<&NearParams> {
        self.near.then_some(&self.params)
    }

    /// Retention in seconds.
    pub fn retention_secs(&self) -> u64 {
        self.retention_days.saturating_mul(86_400)
    }

    /// Check the values, naming the key: a signature too large to hold or to
    /// compute in reasonable time is refused before any work.
    pub fn validate(&self) -> Result<()> {
        let p = &self.params;
        let bad = |key: &str, why: String| {
            Err(Error::Config(format!(
                "invalid value for `dedup.{key}`: {why}"
            )))
        };
        if p.shingle_words == 0 || p.shingle_words > dedup::MAX_SHINGLE_WORDS {
            return bad(
                "shingle_words",
                format!("must be 1 to {}", dedup::MAX_SHINGLE_WORDS),
            );
        }
        if p.bands == 0 || p.bands > MAX_BANDS {
            return bad("bands", format!("must be 1 to {MAX_BANDS}"));
        }
        if p.rows == 0 || p.rows > MAX_ROWS {
            return bad("rows", format!("must be 1 to {MAX_ROWS}"));
        }
        if p.bands * p.rows > MAX_SIGNATURE {
            return bad(
                "bands",
                format!(
                    "bands * rows must be at most {MAX_SIGNATURE}, got {}",
                    p.bands * p.rows
                ),
            );
        }
        if !(p.threshold > 0.0 && p.threshold <= 1.0) {
            return bad("threshold", "must be in (0, 1]".into());
        }
        if p.containment.is_nan() || p.containment <= 0.0 {
            return bad(
                "containment",
                "must be above 0 (above 1 turns containment off)".into(),
            );
        }
        if self.retention_days == 0 || self.retention_days > MAX_RETENTION_DAYS {
            return bad(
                "retention_days",
                format!("must be 1 to {MAX_RETENTION_DAYS}"),
            );
        }
        Ok(())
    }
}

/// Parallel half: computes [`crate::record::Fingerprint`]s.
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    inner: dedup::Fingerprinter,
}

impl Fingerprinter {
    /// The signer inside, for a stage that may sign alike.
    pub fn signer(&self) -> &dedup::Fingerprinter {
        &self.inner
    }

    /// Build from config.
    pub fn new(cfg: &DedupConfig) -> Self {
        Fingerprinter {
            inner: dedup::Fingerprinter::new(cfg.near_params()),
        }
    }
}

impl Fingerprinter {
    /// The stage when `[dedup]` enables it.
    pub fn build(cfg: &DedupConfig) -> Option<Box<dyn Stage>> {
        cfg.enabled
            .then(|| Box::new(Fingerprinter::new(cfg)) as Box<dyn Stage>)
    }
}

impl Stage for Fingerprinter {
    fn name(&self) -> &'static str {
        "fingerprint"
    }

    fn process(&self, article: &mut Article) -> Verdict {
        // Already signed alike by the boilerplate stage while it observed
        // the text it left (see `Ruled::fingerprint`).
        if article.fingerprint.is_none() {
            article.fingerprint = Some(self.inner.fingerprint(&article.text));
        }
        Ok(())
    }
}

/// Sequential half: holds the index and marks duplicates in input order.
#[derive(Debug)]
pub struct Deduplicator {
    decide: Decide,
    drop_duplicates: bool,
}

/// Where verdicts come from.
#[derive(Debug)]
enum Decide {
    /// An index of the articles seen so far.
    Index(RetainingIndex),
    /// Verdicts taken elsewhere (a cluster's resolution, see
    /// `deploy/spark/`), by the article's position in input order; an
    /// article without one is unique.
    Given(HashMap<u64, DedupInfo>),
}

impl Deduplicator {
    /// Build from config; remembers every article (a batch run).
    pub fn new(cfg: &DedupConfig) -> Self {
        Self::with_retention(cfg, u64::MAX)
    }

    /// Build from config; forgets articles whose clock is more than
    /// `retention_secs` before the newest one (the daemon, Kafka).
    pub fn with_retention(cfg: &DedupConfig, retention_secs: u64) -> Self {
        Deduplicator {
            decide: Decide::Index(RetainingIndex::new(
                cfg.near_params().cloned(),
                retention_secs,
            )),
            drop_duplicates: cfg.drop_duplicates,
        }
    }

    /// Build from config with the verdicts already taken, keyed by the
    /// articles' `seq`: the index is not consulted, the rest (dropping
    /// duplicates, the fingerprint left on the article) is as in a run.
    pub fn with_verdicts(cfg: &DedupConfig, verdicts: HashMap<u64, DedupInfo>) -> Self {
        Deduplicator {
            decide: Decide::Given(verdicts),
            drop_duplicates: cfg.drop_duplicates,
        }
    }

    /// Start from an earlier run's decisions (`--against`), before any
    /// article of this one.
    pub fn restore(&mut self, signatures: &[Signature]) -> Result<()> {
        match &mut self.decide {
            Decide::Index(index) => index
                .restore(signatures, 0)
                .map_err(|why| Error::Config(format!("--against: {why}"))),
            Decide::Given(_) => Ok(()),
        }
    }

    /// Mark `article` and remember it; false when it is a duplicate to leave
    /// out of the output (`dedup.drop_duplicates`). Must be called in input
    /// order.
    pub fn process(&mut self, article: &mut Article) -> bool {
        // The fingerprint stays on the article: the daemon persists it so that
        // a restart can rebuild this index.
        if let Some(fp) = &article.fingerprint {
            article.dedup = match &mut self.decide {
                Decide::Index(index) => {
                    index.check_and_insert(&article.id, fp, article.source.clock_secs())
                }
                Decide::Given(verdicts) => verdicts.remove(&article.seq).unwrap_or_default(),
            };
        }
        !(self.drop_duplicates && article.dedup.status != DedupStatus::Unique)
    }

    /// Feed an article decided in an earlier run back into the index, with
    /// the time it was ingested, so a restarted daemon decides as an
    /// uninterrupted one would.
    pub fn replay(&mut self, id: &str, fp: &Fingerprint, ingested_secs: u64) {
        if let Decide::Index(index) = &mut self.decide {
            index.check_and_insert(id, fp, ingested_secs);
        }
    }

    /// Articles remembered.
    pub fn len(&self) -> usize {
        match &self.decide {
            Decide::Index(index) => index.len(),
            Decide::Given(_) => 0,
        }
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes of the index.
    pub fn heap_bytes(&self) -> usize {
        match &self.decide {
            Decide::Index(index) => index.heap_bytes(),
            Decide::Given(v) => v.capacity() * std::mem::size_of::<(u64, DedupInfo)>(),
        }
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

pub use crate::record::ingested_secs;

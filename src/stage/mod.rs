//! Per-article transforms.
//!
//! Every stage has the same two halves: a serde config section that builds it,
//! and one synchronous [`Stage::process`] call per article. The async plumbing
//! that feeds them lives once, in [`crate::pipeline`].

pub mod boilerplate;
pub mod dedup;
pub mod entities;
pub mod normalize;
pub mod title;

use crate::record::Article;

/// A transform that can run on any worker thread, on articles in any order.
///
/// Stages that need to see articles in input order (dedup) are driven by the
/// pipeline's sequential step instead and do not implement this trait.
pub trait Stage: Send + Sync {
    /// Short name used in logs and in the summary.
    fn name(&self) -> &'static str;
    /// Transform one article in place.
    fn process(&self, article: &mut Article);
}

use std::time::Instant;

use crate::config::Settings;
use crate::error::{RejectReason, Result};
use crate::source::{decode::decode, Input, Rejected};
use crate::summary::ArticleStats;

/// Every enabled per-article stage, built once from the settings and shared
/// by all workers.
pub struct Stages {
    normalize: normalize::Normalize,
    title: Option<title::Title>,
    boilerplate: Option<boilerplate::Boilerplate>,
    fingerprint: Option<dedup::Fingerprinter>,
    entities: Option<entities::Entities>,
}

/// Index into [`crate::summary::TIMED_STAGES`].
mod slot {
    pub const DECODE: usize = 0;
    pub const NORMALIZE: usize = 1;
    pub const TITLE: usize = 2;
    pub const BOILERPLATE: usize = 3;
    pub const FINGERPRINT: usize = 4;
    pub const ENTITIES: usize = 5;
}

fn timed<T>(acc: &mut u64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    *acc += t.elapsed().as_nanos() as u64;
    out
}

fn run_timed(stage: &dyn Stage, article: &mut Article, acc: &mut u64) {
    timed(acc, || stage.process(article));
}

impl Stages {
    /// Build the stages the settings enable; fails on a bad rules file or model.
    pub fn new(settings: &Settings) -> Result<Self> {
        Ok(Stages {
            normalize: normalize::Normalize,
            title: settings
                .title
                .enabled
                .then(|| title::Title::new(&settings.title)),
            boilerplate: if settings.boilerplate.enabled {
                Some(boilerplate::Boilerplate::new(&settings.boilerplate)?)
            } else {
                None
            },
            fingerprint: settings
                .dedup
                .enabled
                .then(|| dedup::Fingerprinter::new(&settings.dedup)),
            entities: if settings.entities.enabled {
                Some(entities::Entities::new(&settings.entities)?)
            } else {
                None
            },
        })
    }

    /// Everything before the dedup decision: decode, normalize, title,
    /// boilerplate, content id and fingerprint.
    pub fn prepare(
        &self,
        input: Input,
    ) -> std::result::Result<(Box<Article>, ArticleStats), Rejected> {
        let mut stats = ArticleStats::default();
        let mut article = match input {
            Input::Rejected(r) => return Err(r),
            Input::Parsed(a) => a,
            Input::Raw {
                seq,
                mut source,
                bytes,
            } => {
                let decoded = timed(&mut stats.stage_nanos[slot::DECODE], || decode(&bytes));
                match decoded {
                    Ok((text, encoding)) => {
                        source.encoding = encoding.as_str().to_owned();
                        Box::new(Article::new(seq, source, text))
                    }
                    Err(reason) => return Err(Rejected::new(seq, &source, reason)),
                }
            }
        };
        let a = &mut *article;
        run_timed(&self.normalize, a, &mut stats.stage_nanos[slot::NORMALIZE]);
        a.id = content_id(a.given_title.as_deref(), &a.text);
        if let Some(t) = &self.title {
            run_timed(t, a, &mut stats.stage_nanos[slot::TITLE]);
        } else if let Some(t) = a.given_title.take() {
            a.title = Some(t);
        }
        if let Some(b) = &self.boilerplate {
            run_timed(b, a, &mut stats.stage_nanos[slot::BOILERPLATE]);
        }
        if a.text.trim().is_empty() {
            return Err(Rejected::new(a.seq, &a.source, RejectReason::NoText));
        }
        if let Some(f) = &self.fingerprint {
            run_timed(f, a, &mut stats.stage_nanos[slot::FINGERPRINT]);
        }
        Ok((article, stats))
    }

    /// Everything after the dedup decision: entity tagging.
    pub fn enrich(&self, article: &mut Article, stats: &mut ArticleStats) {
        if let Some(e) = &self.entities {
            run_timed(e, article, &mut stats.stage_nanos[slot::ENTITIES]);
        }
    }
}

/// Stable content id: hex of xxh3-128 over the normalized article (headline
/// included), so it does not move when boilerplate rules or the title rule
/// change. Exact duplicates share it.
pub fn content_id(given_title: Option<&str>, text: &str) -> String {
    use xxhash_rust::xxh3::Xxh3;
    let mut h = Xxh3::new();
    if let Some(t) = given_title {
        h.update(t.as_bytes());
        h.update(b"\n\n");
    }
    h.update(text.as_bytes());
    format!("{:032x}", h.digest128())
}

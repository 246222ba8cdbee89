//! Per-article transforms.
//!
//! Every stage has the same two halves: a serde config section that builds it,
//! and one synchronous [`Stage::process`] call per article, which may reject
//! the article with a typed reason. The async plumbing that feeds them lives
//! once, in [`crate::pipeline`]; the list of stages lives once, in
//! [`Stages::new`]: adding a stage is a new file here and one line there.

pub mod boilerplate;
pub mod dedup;
pub mod entities;
pub mod extract;
pub mod id;
pub mod normalize;
pub mod require_text;
pub mod title;

use std::sync::Arc;
use std::time::Instant;

use crate::boilerplate::{Chrome, LearnParams, Observation};
use crate::dedup::Fingerprinter;

use crate::error::{RejectReason, Result};
use crate::record::SourceFormat;
use crate::record::{Article, Ruled};
use crate::source::{decode::decode, decode::decode_html, Input, Kept, Rejected};
use crate::summary::{ArticleStats, MAX_TIMED};

/// What a stage decides about the article it processed: go on, or leave it
/// out of the output with a reason (it is then counted and reported like any
/// other rejected input).
pub type Verdict = std::result::Result<(), RejectReason>;

/// A transform that can run on any worker thread, on articles in any order.
///
/// Stages that need to see articles in input order (the dedup verdict) are
/// driven by the pipeline's sequential step instead
/// ([`dedup::Deduplicator`]) and do not implement this trait.
pub trait Stage: Send + Sync {
    /// Short name: the key of its time in the summary and in `/metrics`.
    fn name(&self) -> &'static str;
    /// Transform one article in place, or reject it.
    fn process(&self, article: &mut Article) -> Verdict;
}

/// The config sections the stages are built from, borrowed from the settings.
#[derive(Debug, Clone, Copy)]
pub struct StageSettings<'a> {
    /// `[title]`.
    pub title: &'a title::TitleConfig,
    /// `[boilerplate]`.
    pub boilerplate: &'a boilerplate::BoilerplateConfig,
    /// `[dedup]`.
    pub dedup: &'a dedup::DedupConfig,
    /// `[entities]`.
    pub entities: &'a entities::EntitiesConfig,
}

/// Name under which decoding raw bytes is timed; it runs before any stage.
pub const DECODE: &str = "decode";

/// Every enabled per-article stage, built once and shared by all workers.
pub struct Stages {
    /// Before the dedup verdict, in order.
    prepare: Vec<Box<dyn Stage>>,
    /// How many of `prepare` run before a learning pass observes an article:
    /// up to and including the rule-based boilerplate pass.
    before_learning: usize,
    /// The chrome the boilerplate stage applies, once learned.
    chrome: Arc<boilerplate::ChromeSlot>,
    /// `[boilerplate]`, for what learning needs (source mode, thresholds).
    boilerplate: boilerplate::BoilerplateConfig,
    /// Signatures that tell a source's stories apart while learning.
    story_fingerprinter: Fingerprinter,
    /// The dedup stage signs as `story_fingerprinter` does.
    signs_alike: bool,
    /// After it, in order; skipped for duplicates left out of the output.
    enrich: Vec<Box<dyn Stage>>,
}

fn boxed(stage: impl Stage + 'static) -> Option<Box<dyn Stage>> {
    Some(Box::new(stage))
}

impl Stages {
    /// Build the stages the settings enable, loading rules files and models;
    /// fails (naming the file) on a bad one, before any work starts.
    pub fn new(cfg: StageSettings<'_>) -> Result<Self> {
        let chrome = Arc::new(boilerplate::ChromeSlot::default());
        let signer = cfg
            .dedup
            .enabled
            .then(|| dedup::Fingerprinter::new(cfg.dedup));
        let learning = [
            boxed(extract::Extract),
            boxed(normalize::Normalize),
            boxed(id::ContentId),
            boxed(title::Title::new(cfg.title)),
            boilerplate::Boilerplate::build(
                cfg.boilerplate,
                Arc::clone(&chrome),
                signer.as_ref().map(dedup::Fingerprinter::signer),
            )?,
        ];
        let signs_alike = signer.as_ref().map(dedup::Fingerprinter::signer)
            == Some(&crate::boilerplate::learn::story_fingerprinter());
        let rest = [
            boxed(require_text::RequireText),
            signer.map(|s| Box::new(s) as Box<dyn Stage>),
        ];
        let prepare: Vec<_> = learning.into_iter().flatten().collect();
        let before_learning = prepare.len();
        let enrich = [entities::Entities::build(cfg.entities)?];
        let stages = Stages {
            prepare: prepare
                .into_iter()
                .chain(rest.into_iter().flatten())
                .collect(),
            before_learning,
            chrome,
            boilerplate: cfg.boilerplate.clone(),
            story_fingerprinter: crate::boilerplate::learn::story_fingerprinter(),
            signs_alike,
            enrich: enrich.into_iter().flatten().collect(),
        };
        debug_assert!(stages.names().len() <= MAX_TIMED);
        Ok(stages)
    }

    /// Names of the timed steps in pipeline order: decode, then every stage;
    /// [`ArticleStats::stage_nanos`] is indexed alike.
    pub fn names(&self) -> Vec<&'static str> {
        std::iter::once(DECODE)
            .chain(self.prepare.iter().chain(&self.enrich).map(|s| s.name()))
            .collect()
    }

    /// Everything before the dedup verdict: decode, then the prepare stages.
    /// An input the learning pass kept resumes at the boilerplate stage.
    pub fn prepare(
        &self,
        input: Input,
    ) -> std::result::Result<(Box<Article>, ArticleStats), Rejected> {
        let mut stats = ArticleStats::default();
        let (mut article, from) = match input {
            Input::Prepared(kept) => {
                stats.stage_nanos = kept.nanos;
                (Box::new(kept.article), self.before_learning - 1)
            }
            input => (open(input, &mut stats.stage_nanos[0])?, 0),
        };
        let stages = &self.prepare[from..];
        match run_all(stages, &mut article, &mut stats.stage_nanos[1 + from..]) {
            Ok(()) => Ok((article, stats)),
            Err(reason) => Err(Rejected::new(article.seq, &article.source, reason)),
        }
    }

    /// Whether a run learns chrome before it cleans (`boilerplate.learn`).
    pub fn learning(&self) -> bool {
        self.boilerplate.learning()
    }

    /// Memory a batch run's learning pass may keep prepared inputs in.
    pub fn learn_keep_bytes(&self) -> usize {
        self.boilerplate.learn_keep_bytes()
    }

    /// The learner's thresholds.
    pub fn learn_params(&self) -> LearnParams {
        self.boilerplate.learn_params()
    }

    /// What a learning pass sees of one input: decoded, normalized, titled
    /// and cleaned by the rules (never by learned chrome), then observed.
    /// With `keep`, also the article as it was before the boilerplate stage,
    /// the rules' result attached, for the second pass to resume from
    /// ([`Input::Prepared`]). `None` for an input that is rejected on the
    /// way (the second pass reads it again and reports it), or when the
    /// boilerplate stage is off.
    pub fn observe(&self, input: Input, keep: bool) -> Option<(Observation, Option<Box<Kept>>)> {
        if !self.boilerplate.enabled {
            return None;
        }
        let mut nanos = [0; MAX_TIMED];
        let mut article = open(input, &mut nanos[0]).ok()?;
        // Learning needs the boilerplate stage, so it ends the list.
        let last = self.before_learning - 1;
        run_all(&self.prepare[..last], &mut article, &mut nanos[1..]).ok()?;
        let t = Instant::now();
        let mut ruled = Article {
            title: article.title.clone(),
            text: article.text.clone(),
            ..Article::default()
        };
        // No chrome is installed yet: this is the rule-based pass alone.
        self.prepare[last].process(&mut ruled).ok()?;
        nanos[1 + last] += t.elapsed().as_nanos() as u64;
        let source = boilerplate::source_of(
            self.boilerplate.source,
            article.url.as_deref(),
            &article.source.path,
        );
        let observation = Observation::new(
            source,
            ruled.title.as_deref(),
            &ruled.text,
            &self.story_fingerprinter,
            &self.boilerplate.learn_params(),
        );
        let kept = keep.then(|| {
            article.ruled = Some(Box::new(Ruled {
                title: ruled.title,
                text: ruled.text,
                boilerplate: ruled.boilerplate,
                fingerprint: self.signs_alike.then(|| observation.fingerprint.clone()),
            }));
            Box::new(Kept {
                article: *article,
                nanos,
            })
        });
        Some((observation, kept))
    }

    /// Install learned chrome; the boilerplate stage applies it to every
    /// article processed from then on. False when chrome was installed before.
    pub fn install_chrome(&self, chrome: Chrome) -> bool {
        self.chrome.replace(Arc::new(chrome))
    }

    /// The boilerplate stage's chrome slot, for a mode that learns as it
    /// goes (the daemon): it turns observing on and swaps snapshots in.
    pub fn chrome_slot(&self) -> &Arc<boilerplate::ChromeSlot> {
        &self.chrome
    }

    /// The caps of a learner that runs as long as the daemon does.
    pub fn learn_bounds(&self) -> crate::boilerplate::learn::Bounds {
        self.boilerplate.learn_bounds()
    }

    /// Every `[boilerplate]` value learned state depends on, as one string:
    /// a daemon's state learned under other values is refused.
    pub fn learn_key(&self) -> String {
        self.boilerplate.learn_key()
    }

    /// Inputs between two learned-chrome snapshots of the daemon.
    pub fn learn_refresh(&self) -> u64 {
        self.boilerplate.learn_refresh_articles
    }

    /// Everything after the dedup verdict: entity tagging.
    pub fn enrich(&self, article: &mut Article, stats: &mut ArticleStats) -> Verdict {
        let first = 1 + self.prepare.len();
        run_all(&self.enrich, article, &mut stats.stage_nanos[first..])
    }
}

/// The article an input becomes: parsed inputs as they are, raw bytes decoded
/// (a page by its charset rules, into `html` for the extract stage), adding
/// the decoding time to `nanos`. Shared by the run and the learning pass, so
/// both see the same text.
fn open(input: Input, nanos: &mut u64) -> std::result::Result<Box<Article>, Rejected> {
    let (seq, mut source, bytes) = match input {
        Input::Rejected(r) => return Err(r),
        Input::Parsed(a) => return Ok(a),
        Input::Prepared(kept) => return Ok(Box::new(kept.article)),
        Input::Raw { seq, source, bytes } => (seq, source, bytes),
    };
    let t = Instant::now();
    let page = matches!(source.format, SourceFormat::Html | SourceFormat::Warc);
    let decoded = if page {
        decode_html(&bytes, source.charset.as_deref())
    } else {
        decode(&bytes)
    };
    drop(bytes);
    *nanos += t.elapsed().as_nanos() as u64;
    let (text, encoding) = decoded.map_err(|reason| Rejected::new(seq, &source, reason))?;
    source.encoding = encoding.name();
    let url = source.url.take();
    let mut article = if page {
        let mut a = Article::new(seq, source, String::new());
        a.html = Some(text);
        a
    } else {
        Article::new(seq, source, text)
    };
    article.url = url;
    Ok(Box::new(article))
}

/// Run `stages` in order, adding each one's time to its slot; stops at the
/// first rejection.
fn run_all(stages: &[Box<dyn Stage>], article: &mut Article, nanos: &mut [u64]) -> Verdict {
    for (stage, slot) in stages.iter().zip(nanos) {
        let t = Instant::now();
        let verdict = stage.process(article);
        *slot += t.elapsed().as_nanos() as u64;
        verdict?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SourceInfo;

    fn settings_with(
        f: impl FnOnce(&mut entities::EntitiesConfig, &mut dedup::DedupConfig),
    ) -> Stages {
        let title = title::TitleConfig::default();
        let boilerplate = boilerplate::BoilerplateConfig::default();
        let mut dedup = dedup::DedupConfig::default();
        let mut entities = entities::EntitiesConfig::default();
        f(&mut entities, &mut dedup);
        Stages::new(StageSettings {
            title: &title,
            boilerplate: &boilerplate,
            dedup: &dedup,
            entities: &entities,
        })
        .unwrap()
    }

    fn learning_stages() -> Stages {
        let boilerplate = boilerplate::BoilerplateConfig {
            learn: true,
            source: boilerplate::SourceMode::Folder,
            ..Default::default()
        };
        let entities = entities::EntitiesConfig {
            enabled: false,
            ..Default::default()
        };
        Stages::new(StageSettings {
            title: &title::TitleConfig::default(),
            boilerplate: &boilerplate,
            dedup: &dedup::DedupConfig::default(),
            entities: &entities,
        })
        .unwrap()
    }

    fn story(seq: u64) -> Input {
        // Words of its own, so no two stories are near copies.
        let tag = char::from(b'a' + seq as u8);
        let words = |from: &[&str]| -> String {
            from.iter()
                .map(|w| format!("{w}{tag}{tag}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let body = format!(
            "{}.\n\nHarbor Media is printed by the Quayside Press\n\n{}.\n\nAdvertisement\n",
            words(&["river", "stone", "cloud", "field", "market", "winter", "signal", "orchard"]),
            words(&["lantern", "meadow", "copper", "harvest", "beacon", "timber", "canyon"]),
        );
        Input::Raw {
            seq,
            source: SourceInfo {
                path: format!("harbor/{seq}.txt"),
                bytes: body.len() as u64,
                ..SourceInfo::default()
            },
            bytes: body.into_bytes(),
        }
    }

    /// The record and signature an article ends up with.
    fn outcome(
        prepared: (Box<Article>, ArticleStats),
    ) -> (String, Option<crate::record::Fingerprint>) {
        let (article, _) = prepared;
        (
            serde_json::to_string(&article).unwrap(),
            article.fingerprint,
        )
    }

    #[test]
    fn a_kept_input_resumes_to_what_a_fresh_read_becomes() {
        let stages = learning_stages();
        let mut learner = crate::boilerplate::Learner::new(stages.learn_params());
        let mut kept = Vec::new();
        for seq in 0..12 {
            let (obs, k) = stages.observe(story(seq), true).unwrap();
            learner.add(obs);
            kept.push(k.unwrap());
        }
        let k11 = kept.pop().unwrap();
        // Before any chrome: the rules' result carried over, signature too.
        let fresh = outcome(stages.prepare(story(11)).unwrap());
        let text =
            |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap()["text"].clone();
        let t = text(&fresh.0).to_string();
        assert!(!t.contains("Advertisement") && t.contains("Harbor"), "{t}");
        assert_eq!(
            outcome(stages.prepare(Input::Prepared(k11)).unwrap()),
            fresh
        );
        // With learned chrome: the tip line goes, as in a fresh read.
        assert!(stages.install_chrome(learner.chrome()));
        let k10 = kept.pop().unwrap();
        let fresh = outcome(stages.prepare(story(10)).unwrap());
        assert!(fresh.0.contains("learned:harbor"), "{}", fresh.0);
        assert!(
            !text(&fresh.0).to_string().contains("Harbor"),
            "{}",
            fresh.0
        );
        assert_eq!(
            outcome(stages.prepare(Input::Prepared(k10)).unwrap()),
            fresh
        );
    }

    #[test]
    fn a_kept_input_is_resumed_only_at_its_own_position() {
        let stages = learning_stages();
        let mut kept = crate::pipeline::learn::KeptInputs::new();
        let (_, k) = stages.observe(story(3), true).unwrap();
        kept.insert(3, k.unwrap());
        // Another file at that position (one added between the passes).
        let mut other = story(3);
        if let Input::Raw { source, .. } = &mut other {
            source.path = "harbor/new.txt".into();
        }
        let back = crate::pipeline::learn::resume(&mut kept, other);
        assert!(matches!(back, Input::Raw { .. }));
        kept.insert(3, stages.observe(story(3), true).unwrap().1.unwrap());
        assert!(matches!(
            crate::pipeline::learn::resume(&mut kept, story(3)),
            Input::Prepared(_)
        ));
        assert!(kept.is_empty());
    }

    #[test]
    fn a_kept_whole_file_is_taken_unread_only_when_path_size_and_position_match() {
        use crate::pipeline::learn::take_whole;
        let stages = learning_stages();
        let mut kept = crate::pipeline::learn::KeptInputs::new();
        kept.insert(3, stages.observe(story(3), true).unwrap().1.unwrap());
        let (path, bytes) = match story(3) {
            Input::Raw { source, .. } => (source.path, source.bytes),
            _ => unreachable!(),
        };
        // Another position, another file, or the file grown: read afresh.
        assert!(take_whole(&mut kept, 4, &path, bytes).is_none());
        assert!(take_whole(&mut kept, 3, "harbor/new.txt", bytes).is_none());
        assert!(take_whole(&mut kept, 3, &path, bytes + 1).is_none());
        assert_eq!(kept.len(), 1);
        assert!(matches!(
            take_whole(&mut kept, 3, &path, bytes),
            Some(Input::Prepared(_))
        ));
        assert!(kept.is_empty());
    }

    #[test]
    fn names_follow_pipeline_order_and_leave_out_disabled_stages() {
        let all = settings_with(|_, _| {});
        assert_eq!(
            all.names(),
            [
                "decode",
                "extract",
                "normalize",
                "id",
                "title",
                "boilerplate",
                "require_text",
                "fingerprint",
                "entities"
            ]
        );
        let some = settings_with(|e, d| {
            e.enabled = false;
            d.enabled = false;
        });
        assert!(!some.names().contains(&"entities"));
        assert!(!some.names().contains(&"fingerprint"));
    }

    #[test]
    fn a_stage_rejection_names_the_input_and_the_reason() {
        let stages = settings_with(|_, _| {});
        let input = Input::Raw {
            seq: 4,
            source: SourceInfo {
                path: "blank.txt".into(),
                ..SourceInfo::default()
            },
            bytes: b"  \n\n Advertisement \n".to_vec(),
        };
        let rejected = stages.prepare(input).err().unwrap();
        assert_eq!((rejected.seq, rejected.path.as_str()), (4, "blank.txt"));
        assert_eq!(rejected.reason, RejectReason::NoText);
    }

    #[test]
    fn each_timed_step_gets_its_own_slot() {
        let stages = settings_with(|e, _| e.enabled = false);
        let input = Input::Raw {
            seq: 0,
            source: SourceInfo::default(),
            bytes: b"A headline here\n\nSome body text that is long enough to keep.".to_vec(),
        };
        let (_, stats) = stages.prepare(input).unwrap();
        let used = stages.names().len();
        // Decoding and normalizing take measurable time; slots past the
        // last stage are never written.
        assert!(
            stats.stage_nanos[0] > 0 && stats.stage_nanos[1] > 0,
            "{stats:?}"
        );
        assert!(stats.stage_nanos[used..].iter().all(|&n| n == 0));
    }
}

//! Learning each source's chrome: line templates counted once per distinct
//! story of the source, where copies of one story (a syndicated wire piece
//! in one outlet, an update of an article) are told apart by their dedup
//! signatures.
//!
//! Pure: no I/O, no threads. [`Observation::new`] does the per-article work
//! (signature, templates) and can run anywhere; [`Learner::add`] folds the
//! observations in input order, which makes the result independent of how
//! the observations were computed.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::template::{template, Template};
use crate::dedup::{DedupIndex, Fingerprinter, NearParams};
use crate::record::{DedupStatus, Fingerprint};

/// Thresholds of the learner (`[boilerplate]` keys `learn_min_stories`,
/// `learn_min_share`, `learn_max_words`, `learn_max_templates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnParams {
    /// A template is chrome once seen in at least this many distinct stories
    /// of its source.
    pub min_stories: u32,
    /// ... and in at least this share of the source's distinct stories.
    pub min_share: f64,
    /// Lines of more words are never learned (a repeated paragraph is text).
    pub max_words: usize,
    /// Templates kept per source in a saved state, the most seen first.
    pub max_templates: usize,
}

impl Default for LearnParams {
    fn default() -> Self {
        LearnParams {
            min_stories: 8,
            min_share: 0.02,
            max_words: 40,
            max_templates: 4096,
        }
    }
}

/// Words with a letter a line must have to be learned: "# GMT" or a lone
/// score ("2,1") recur across stories and are text.
pub const MIN_LETTER_WORDS: usize = 2;

/// What one article contributes: computed on any thread, folded in order.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The article's source (see `[boilerplate] source`).
    pub source: String,
    /// Signature of the rule-cleaned text.
    pub fingerprint: Fingerprint,
    /// Distinct learnable templates of its lines, with the first line of each.
    pub lines: Vec<(u64, String)>,
}

impl Observation {
    /// Observe an article: `title` and `text` after the rule-based pass.
    pub fn new(
        source: String,
        title: Option<&str>,
        text: &str,
        fingerprinter: &Fingerprinter,
        params: &LearnParams,
    ) -> Self {
        let mut seen = HashSet::new();
        let mut lines = Vec::new();
        for line in title.into_iter().chain(text.lines()) {
            let line = line.trim();
            if let Some(t) = learnable(line, params) {
                if seen.insert(t.hash) {
                    lines.push((t.hash, line.to_owned()));
                }
            }
        }
        Observation {
            source,
            fingerprint: fingerprinter.fingerprint(text),
            lines,
        }
    }
}

/// The template of `line` when a line like it may be learned at all.
pub fn learnable(line: &str, params: &LearnParams) -> Option<Template> {
    // Most lines are paragraphs far over the word limit: counting spaces
    // (which vectorizes) spares them the template.
    if line.is_empty() || line.bytes().filter(|&b| b == b' ').count() >= params.max_words {
        return None;
    }
    let t = template(line);
    (t.words <= params.max_words && t.letter_words >= MIN_LETTER_WORDS).then_some(t)
}

/// The fingerprinter stories are told apart with: the dedup defaults,
/// whatever `[dedup]` says, so learning does not change with it.
pub fn story_fingerprinter() -> Fingerprinter {
    Fingerprinter::new(Some(&NearParams::default()))
}

/// One learned template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The template's hash (see [`super::template`]).
    pub hash: u64,
    /// Distinct stories of the source it was seen in.
    pub stories: u32,
    /// The first line seen with this template.
    pub example: String,
}

/// What was learned about one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    /// Distinct stories seen.
    pub stories: u32,
    /// Articles seen.
    pub articles: u32,
    /// Templates seen in more than one story, the most seen first, then by hash.
    pub templates: Vec<Entry>,
}

/// Counts of one source while learning.
#[derive(Default)]
struct SourceCounts {
    index: Option<DedupIndex>,
    stories: u32,
    articles: u32,
    counts: HashMap<u64, Count>,
}

struct Count {
    stories: u32,
    example: Option<String>,
}

/// Folds observations, in input order, into per-source template counts.
pub struct Learner {
    params: LearnParams,
    sources: BTreeMap<String, SourceCounts>,
}

impl Learner {
    /// An empty learner.
    pub fn new(params: LearnParams) -> Self {
        Learner {
            params,
            sources: BTreeMap::new(),
        }
    }

    /// Start from what earlier runs learned; their counts add to this run's.
    /// Stories of earlier runs are not known one by one, so a copy of an
    /// earlier story counts as a new story here.
    pub fn resume(params: LearnParams, earlier: &Learned) -> Self {
        let mut learner = Learner::new(params);
        learner.absorb(earlier);
        learner
    }

    /// Add what an earlier run learned to the counts (see [`Learner::resume`]).
    pub fn absorb(&mut self, earlier: &Learned) {
        for (name, s) in &earlier.sources {
            let c = self.sources.entry(name.clone()).or_default();
            c.stories += s.stories;
            c.articles += s.articles;
            for e in &s.templates {
                let count = c.counts.entry(e.hash).or_insert(Count {
                    stories: 0,
                    example: Some(e.example.clone()),
                });
                count.stories += e.stories;
            }
        }
    }

    /// Fold one article's observation; returns whether it was a new story.
    pub fn add(&mut self, obs: Observation) -> bool {
        let c = self.sources.entry(obs.source).or_default();
        c.articles += 1;
        let index = c
            .index
            .get_or_insert_with(|| DedupIndex::new(Some(NearParams::default())));
        // The id only has to be unique within the source's index.
        let verdict = index.check_and_insert(&c.articles.to_string(), &obs.fingerprint);
        if verdict.status != DedupStatus::Unique {
            return false;
        }
        c.stories += 1;
        for (hash, line) in obs.lines {
            let count = c.counts.entry(hash).or_insert(Count {
                stories: 0,
                example: None,
            });
            count.stories += 1;
            // Keep an example only for what recurs: most lines never do.
            if count.stories >= 2 && count.example.is_none() {
                count.example = Some(line);
            }
        }
        true
    }

    /// What was learned: per source, every template seen in two stories or
    /// more (at most `max_templates`, the most seen first).
    pub fn finish(self) -> Learned {
        let max = self.params.max_templates;
        let sources = self
            .sources
            .into_iter()
            .map(|(name, c)| {
                let mut templates: Vec<Entry> = c
                    .counts
                    .into_iter()
                    .filter(|(_, n)| n.stories >= 2)
                    .map(|(hash, n)| Entry {
                        hash,
                        stories: n.stories,
                        example: n.example.unwrap_or_default(),
                    })
                    .collect();
                templates.sort_by(|a, b| b.stories.cmp(&a.stories).then(a.hash.cmp(&b.hash)));
                templates.truncate(max);
                let state = SourceState {
                    stories: c.stories,
                    articles: c.articles,
                    templates,
                };
                (name, state)
            })
            .collect();
        Learned {
            params: self.params,
            sources,
        }
    }
}

/// Version of the learned-state format ([`Learned`] as JSON).
pub const LEARNED_VERSION: u32 = 1;

/// What the learner knows after a run: the counts per source, and from them
/// which templates are chrome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learned {
    /// The thresholds the chrome decision uses.
    pub params: LearnParams,
    /// Per source, by name.
    pub sources: BTreeMap<String, SourceState>,
}

/// The chrome of every source, ready for lookups.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    sources: HashMap<String, HashMap<u64, u32>>,
    need: HashMap<String, u32>,
    max_words: usize,
}

impl Learned {
    /// The templates that are chrome: seen in at least `min_stories`
    /// distinct stories of their source and in `min_share` of them.
    pub fn chrome(&self) -> Chrome {
        let p = &self.params;
        let mut needs = HashMap::new();
        let sources = self
            .sources
            .iter()
            .filter_map(|(name, s)| {
                let floor = (p.min_share * f64::from(s.stories)).ceil().max(0.0) as u32;
                let need = p.min_stories.max(floor);
                needs.insert(name.clone(), need);
                let set: HashMap<u64, u32> = s
                    .templates
                    .iter()
                    .filter(|e| e.stories >= need)
                    .map(|e| (e.hash, e.stories))
                    .collect();
                (!set.is_empty()).then(|| (name.clone(), set))
            })
            .collect();
        Chrome {
            sources,
            need: needs,
            max_words: p.max_words,
        }
    }
}

impl Chrome {
    /// Stories a template of `source` needs to be chrome, when it has any.
    pub fn need(&self, source: &str) -> Option<u32> {
        self.need.get(source).copied()
    }

    /// Whether nothing is chrome anywhere.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Whether `source` has learned chrome.
    pub fn knows(&self, source: &str) -> bool {
        self.sources.contains_key(source)
    }

    /// The number of stories `line` was seen in when it is chrome of `source`.
    pub fn lookup(&self, source: &str, line: &str) -> Option<u32> {
        let set = self.sources.get(source)?;
        if line.bytes().filter(|&b| b == b' ').count() >= self.max_words {
            return None;
        }
        let t = template(line);
        if t.words > self.max_words || t.letter_words < MIN_LETTER_WORDS {
            return None;
        }
        set.get(&t.hash).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(min_stories: u32) -> LearnParams {
        LearnParams {
            min_stories,
            min_share: 0.0,
            ..LearnParams::default()
        }
    }

    /// A story body of its own: 60 words no other story shares.
    fn story(n: usize) -> String {
        (0..60)
            .map(|i| format!("w{n}x{i}"))
            .collect::<Vec<_>>()
            .join(" ")
            + "."
    }

    fn observe(learner: &mut Learner, source: &str, text: &str) -> bool {
        let fp = story_fingerprinter();
        learner.add(Observation::new(
            source.into(),
            None,
            text,
            &fp,
            &learner.params.clone(),
        ))
    }

    #[test]
    fn a_line_in_enough_distinct_stories_is_chrome() {
        let mut l = Learner::new(params(3));
        for n in 0..3 {
            let text = format!(
                "{}\n\nSupport Harbor Media today\n\n© {} Harbor Media",
                story(n),
                2020 + n
            );
            assert!(observe(&mut l, "harbor.example", &text));
        }
        let chrome = l.finish().chrome();
        assert_eq!(
            chrome.lookup("harbor.example", "Support Harbor Media today"),
            Some(3)
        );
        assert_eq!(
            chrome.lookup("harbor.example", "© 2031 Harbor Media"),
            Some(3)
        );
        assert_eq!(
            chrome.lookup("other.example", "Support Harbor Media today"),
            None
        );
    }

    #[test]
    fn copies_of_one_story_count_once() {
        let mut l = Learner::new(params(2));
        let body = story(7);
        // The same wire story three times, and once updated with a line.
        assert!(observe(&mut l, "a", &body));
        assert!(!observe(&mut l, "a", &body));
        assert!(!observe(
            &mut l,
            "a",
            &format!("{body}\n\nUpdated with comment from the mayor")
        ));
        let learned = l.finish();
        let s = &learned.sources["a"];
        assert_eq!((s.stories, s.articles), (1, 3));
        assert_eq!(learned.chrome().lookup("a", &body), None);
    }

    #[test]
    fn a_line_repeated_within_one_story_counts_once() {
        let mut l = Learner::new(params(2));
        observe(
            &mut l,
            "a",
            &format!("{}\nSubscribe now please\nSubscribe now please", story(1)),
        );
        let learned = l.finish();
        assert!(learned.sources["a"].templates.is_empty());
    }

    #[test]
    fn a_share_floor_keeps_rare_repeats_in_a_big_source() {
        let mut l = Learner::new(LearnParams {
            min_stories: 2,
            min_share: 0.5,
            ..LearnParams::default()
        });
        for n in 0..10 {
            let extra = if n < 3 {
                "\nThe columnist writes every week"
            } else {
                ""
            };
            observe(
                &mut l,
                "a",
                &format!("{}{extra}\nDonate to keep us going", story(n)),
            );
        }
        let chrome = l.finish().chrome();
        assert_eq!(chrome.lookup("a", "Donate to keep us going"), Some(10));
        assert_eq!(chrome.lookup("a", "The columnist writes every week"), None);
    }

    #[test]
    fn long_lines_and_number_lines_are_never_learned() {
        let p = LearnParams::default();
        assert!(learnable("2,1", &p).is_none());
        assert!(learnable("12 GMT", &p).is_none());
        assert!(learnable(&story(1), &p).is_none());
        assert!(learnable("Follow us on Mastodon", &p).is_some());
    }

    #[test]
    fn resuming_adds_the_earlier_counts() {
        let mut first = Learner::new(params(4));
        for n in 0..2 {
            observe(
                &mut first,
                "a",
                &format!("{}\nTips to tips@example.org", story(n)),
            );
        }
        let earlier = first.finish();
        assert_eq!(
            earlier.chrome().lookup("a", "Tips to tips@example.org"),
            None
        );
        let mut second = Learner::resume(params(4), &earlier);
        for n in 2..4 {
            observe(
                &mut second,
                "a",
                &format!("{}\nTips to tips@example.org", story(n)),
            );
        }
        let learned = second.finish();
        assert_eq!(learned.sources["a"].stories, 4);
        assert_eq!(
            learned.chrome().lookup("a", "Tips to tips@example.org"),
            Some(4)
        );
    }

    #[test]
    fn the_result_is_a_function_of_the_input_order_only() {
        let run = || {
            let mut l = Learner::new(params(2));
            for n in 0..5 {
                observe(
                    &mut l,
                    if n % 2 == 0 { "a" } else { "b" },
                    &format!("{}\nShare your story with us", story(n)),
                );
            }
            serde_json::to_string(&l.finish()).unwrap()
        };
        assert_eq!(run(), run());
    }
}

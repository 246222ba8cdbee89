//! Learning each source's chrome: line templates counted once per distinct
//! story of the source, where copies of one story (a syndicated wire piece
//! in one outlet, an update of an article) are told apart by their dedup
//! signatures.
//!
//! Pure: no I/O, no threads. [`Observation::new`] does the per-article work
//! (signature, templates) and can run anywhere; [`Learner::add`] folds the
//! observations in input order, which makes the result independent of how
//! the observations were computed.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

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

/// Caps on what a long-running learner holds (the daemon's, `[boilerplate]`
/// keys `learn_max_sources`, `learn_max_stories`, `learn_max_counted`). A
/// batch run's learner has none: its input is finite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Sources remembered; past it, the one seen least recently is forgotten.
    pub max_sources: usize,
    /// Stories per source remembered to tell copies apart, in two
    /// generations of half as many: a copy of an older story counts anew.
    pub max_stories: usize,
    /// Templates counted per source; past it, those seen in one story only
    /// are forgotten (and, if still too many, the least seen).
    pub max_counted: usize,
}

/// The stories of one source already seen, to tell a copy from a new story.
#[derive(Default)]
struct Stories {
    /// Oldest first; only the newest takes new stories.
    generations: VecDeque<Generation>,
}

#[derive(Default)]
struct Generation {
    index: Option<DedupIndex>,
    /// Stories inserted.
    stories: usize,
    /// Every fingerprint checked against `index`, in order (a bounded
    /// learner's only): replaying them rebuilds the index exactly.
    checked: Vec<Fingerprint>,
}

impl Generation {
    fn index(&mut self) -> &mut DedupIndex {
        self.index
            .get_or_insert_with(|| DedupIndex::new(Some(NearParams::default())))
    }
}

impl Stories {
    /// Whether `fp` is a story not seen before; remembers it if so. `half`
    /// is a bounded learner's generation size.
    fn is_new(&mut self, id: &str, fp: &Fingerprint, half: Option<usize>) -> bool {
        if self.generations.is_empty() {
            self.generations.push_back(Generation::default());
        }
        let newest = self.generations.len() - 1;
        for g in self.generations.iter_mut().take(newest) {
            if g.index().find(fp).is_some() {
                return false;
            }
        }
        let Some(g) = self.generations.back_mut() else {
            return false;
        };
        let verdict = g.index().check_and_insert(id, fp);
        let Some(half) = half else {
            return verdict.status == DedupStatus::Unique;
        };
        // A duplicate changes the index too (its exact hash is noted).
        g.checked.push(fp.clone());
        if verdict.status != DedupStatus::Unique {
            return false;
        }
        g.stories += 1;
        if g.stories >= half {
            self.generations.push_back(Generation::default());
            while self.generations.len() > 2 {
                self.generations.pop_front();
            }
        }
        true
    }
}

/// Counts of one source while learning.
#[derive(Default)]
struct SourceCounts {
    seen: Stories,
    stories: u32,
    articles: u32,
    /// The learner's article count when this source was last seen.
    last_seen: u64,
    counts: HashMap<u64, Count>,
}

struct Count {
    stories: u32,
    example: Option<String>,
}

/// Folds observations, in input order, into per-source template counts.
pub struct Learner {
    params: LearnParams,
    bounds: Option<Bounds>,
    /// Articles folded (observed), over every source.
    seen: u64,
    sources: BTreeMap<String, SourceCounts>,
}

impl Learner {
    /// An empty learner.
    pub fn new(params: LearnParams) -> Self {
        Learner {
            params,
            bounds: None,
            seen: 0,
            sources: BTreeMap::new(),
        }
    }

    /// An empty learner that holds at most `bounds`, and can be saved and
    /// restored exactly ([`Learner::snapshot`], [`Learner::restore`]).
    pub fn bounded(params: LearnParams, bounds: Bounds) -> Self {
        Learner {
            bounds: Some(bounds),
            ..Learner::new(params)
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
        self.seen += 1;
        let bounds = self.bounds;
        if !self.sources.contains_key(&obs.source) {
            if let Some(b) = bounds {
                self.forget_sources(b.max_sources.saturating_sub(1));
            }
        }
        let c = self.sources.entry(obs.source).or_default();
        c.articles += 1;
        c.last_seen = self.seen;
        // The id only has to be unique within the source's index.
        let half = bounds.map(|b| (b.max_stories / 2).max(1));
        if !c
            .seen
            .is_new(&c.articles.to_string(), &obs.fingerprint, half)
        {
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
        if let Some(b) = bounds {
            if c.counts.len() > b.max_counted {
                forget_templates(&mut c.counts, b.max_counted);
            }
        }
        true
    }

    /// Forget the sources seen least recently until at most `keep` remain.
    fn forget_sources(&mut self, keep: usize) {
        while self.sources.len() > keep {
            let oldest = self
                .sources
                .iter()
                .min_by_key(|(name, c)| (c.last_seen, name.as_str()))
                .map(|(name, _)| name.clone());
            match oldest {
                Some(name) => self.sources.remove(&name),
                None => return,
            };
        }
    }

    /// Sources the learner holds.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    /// The chrome of what was folded so far, as [`Learned::chrome`] would
    /// find it after [`Learner::finish`], without ending the learner.
    pub fn chrome(&self) -> Chrome {
        let p = &self.params;
        let mut need = HashMap::new();
        let mut sources = HashMap::new();
        for (name, c) in &self.sources {
            let n = need_of(p, c.stories);
            need.insert(name.clone(), n);
            // The same cut as `finish`: of the templates seen in two stories
            // or more, the `max_templates` most seen are kept.
            let mut kept: Vec<(u64, u32)> = c
                .counts
                .iter()
                .filter(|(_, k)| k.stories >= 2)
                .map(|(&h, k)| (h, k.stories))
                .collect();
            if kept.len() > p.max_templates {
                kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                kept.truncate(p.max_templates);
            }
            let set: HashMap<u64, u32> = kept.into_iter().filter(|e| e.1 >= n).collect();
            if !set.is_empty() {
                sources.insert(name.clone(), set);
            }
        }
        Chrome {
            sources,
            need,
            max_words: p.max_words,
        }
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

    /// Everything the learner holds, to save. Restoring it gives a learner
    /// that decides as this one would, when it is bounded: an unbounded
    /// learner keeps no fingerprints, so its stories start over.
    pub fn snapshot(&self) -> LearnerSnapshot {
        let sources = self
            .sources
            .iter()
            .map(|(name, c)| {
                let mut counts: Vec<TemplateCount> = c
                    .counts
                    .iter()
                    .map(|(&hash, k)| TemplateCount {
                        hash,
                        stories: k.stories,
                        example: k.example.clone(),
                    })
                    .collect();
                counts.sort_by_key(|t| t.hash);
                SourceSnapshot {
                    name: name.clone(),
                    stories: c.stories,
                    articles: c.articles,
                    last_seen: c.last_seen,
                    counts,
                    generations: c
                        .seen
                        .generations
                        .iter()
                        .map(|g| g.checked.clone())
                        .collect(),
                }
            })
            .collect();
        LearnerSnapshot {
            seen: self.seen,
            sources,
        }
    }

    /// A bounded learner from a [`Learner::snapshot`]: the story indexes are
    /// rebuilt by checking the saved fingerprints again, in order.
    pub fn restore(params: LearnParams, bounds: Bounds, snapshot: LearnerSnapshot) -> Self {
        let mut learner = Learner::bounded(params, bounds);
        learner.seen = snapshot.seen;
        for s in snapshot.sources {
            let mut generations = VecDeque::new();
            for checked in s.generations {
                let mut g = Generation::default();
                for (i, fp) in checked.iter().enumerate() {
                    let verdict = g.index().check_and_insert(&i.to_string(), fp);
                    if verdict.status == DedupStatus::Unique {
                        g.stories += 1;
                    }
                }
                g.checked = checked;
                generations.push_back(g);
            }
            let counts = s
                .counts
                .into_iter()
                .map(|t| {
                    let count = Count {
                        stories: t.stories,
                        example: t.example,
                    };
                    (t.hash, count)
                })
                .collect();
            let c = SourceCounts {
                seen: Stories { generations },
                stories: s.stories,
                articles: s.articles,
                last_seen: s.last_seen,
                counts,
            };
            learner.sources.insert(s.name, c);
        }
        learner
    }
}

/// Forget templates until at most `keep` remain: first every one seen in a
/// single story, then the least seen (the higher hash first on a tie).
fn forget_templates(counts: &mut HashMap<u64, Count>, keep: usize) {
    counts.retain(|_, k| k.stories >= 2);
    if counts.len() <= keep {
        return;
    }
    let mut order: Vec<(u32, u64)> = counts.iter().map(|(&h, k)| (k.stories, h)).collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, h) in order.into_iter().skip(keep) {
        counts.remove(&h);
    }
}

/// Stories a template of a source with `stories` distinct stories needs.
fn need_of(p: &LearnParams, stories: u32) -> u32 {
    let floor = (p.min_share * f64::from(stories)).ceil().max(0.0) as u32;
    p.min_stories.max(floor)
}

/// A saved [`Learner`] (see [`Learner::snapshot`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearnerSnapshot {
    /// Articles folded.
    pub seen: u64,
    /// Per source, by name.
    pub sources: Vec<SourceSnapshot>,
}

/// One source of a [`LearnerSnapshot`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceSnapshot {
    /// The source's name.
    pub name: String,
    /// Distinct stories seen.
    pub stories: u32,
    /// Articles seen.
    pub articles: u32,
    /// The learner's article count when the source was last seen.
    pub last_seen: u64,
    /// Every template counted, by hash.
    pub counts: Vec<TemplateCount>,
    /// Per story generation, oldest first, the fingerprints checked against it.
    pub generations: Vec<Vec<Fingerprint>>,
}

/// One counted template of a [`SourceSnapshot`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateCount {
    /// The template's hash.
    pub hash: u64,
    /// Distinct stories it was seen in.
    pub stories: u32,
    /// Its first line, once seen in two stories.
    pub example: Option<String>,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Chrome {
    #[serde(serialize_with = "sorted_sources")]
    sources: HashMap<String, HashMap<u64, u32>>,
    #[serde(serialize_with = "sorted")]
    need: HashMap<String, u32>,
    max_words: usize,
}

/// A map in key order, so that equal chrome is saved as equal bytes.
fn sorted<S: serde::Serializer>(map: &HashMap<String, u32>, s: S) -> Result<S::Ok, S::Error> {
    map.iter().collect::<BTreeMap<_, _>>().serialize(s)
}

/// [`sorted`] for the per-source template maps.
fn sorted_sources<S: serde::Serializer>(
    map: &HashMap<String, HashMap<u64, u32>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    map.iter()
        .map(|(k, v)| (k, v.iter().collect::<BTreeMap<_, _>>()))
        .collect::<BTreeMap<_, _>>()
        .serialize(s)
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
                let need = need_of(p, s.stories);
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

    fn bounds(max_sources: usize, max_stories: usize, max_counted: usize) -> Bounds {
        Bounds {
            max_sources,
            max_stories,
            max_counted,
        }
    }

    /// Article `n` of a small stream: three sources, chrome of their own,
    /// every fourth article a copy of an earlier story.
    fn stream_text(n: usize) -> (String, String) {
        let source = ["a", "b", "c"][n % 3];
        let body = if n % 4 == 3 { story(n - 3) } else { story(n) };
        let text = format!(
            "Masthead of {source} daily\n\n{body}\n\n© {} {source} Media",
            2000 + n
        );
        (source.to_owned(), text)
    }

    #[test]
    fn the_running_chrome_is_the_finished_one() {
        let mut l = Learner::new(params(3));
        for n in 0..30 {
            let (source, text) = stream_text(n);
            observe(&mut l, &source, &text);
        }
        let running = l.chrome();
        assert!(running.knows("a") && running.lookup("b", "Masthead of b daily").is_some());
        assert_eq!(running, l.finish().chrome());
    }

    #[test]
    fn a_restored_learner_decides_as_the_uninterrupted_one() {
        let b = bounds(8, 6, 64);
        let mut whole = Learner::bounded(params(3), b);
        let mut first = Learner::bounded(params(3), b);
        for n in 0..40 {
            let (source, text) = stream_text(n);
            observe(&mut whole, &source, &text);
            if n < 17 {
                observe(&mut first, &source, &text);
            }
        }
        let mut resumed = Learner::restore(params(3), b, first.snapshot());
        assert_eq!(resumed.snapshot(), first.snapshot());
        for n in 17..40 {
            let (source, text) = stream_text(n);
            observe(&mut resumed, &source, &text);
        }
        assert_eq!(resumed.snapshot(), whole.snapshot());
        assert_eq!(resumed.chrome(), whole.chrome());
    }

    #[test]
    fn a_bounded_learner_forgets_the_least_recent_source_and_lone_templates() {
        let mut l = Learner::bounded(params(2), bounds(2, 100, 3));
        observe(&mut l, "a", &story(1));
        observe(&mut l, "b", &story(2));
        observe(&mut l, "a", &story(3));
        observe(&mut l, "c", &story(4));
        let names: Vec<String> = l.snapshot().sources.into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["a", "c"], "b was seen least recently");
        for n in 0..4 {
            let text = format!(
                "{}\nLine one of chrome here\nOnce only line {n} here x{n}",
                story(10 + n)
            );
            observe(&mut l, "d", &text);
        }
        let d = l
            .snapshot()
            .sources
            .into_iter()
            .find(|s| s.name == "d")
            .unwrap();
        assert!(d.counts.len() <= 3, "{:?}", d.counts);
        assert!(
            d.counts.iter().any(|t| t.stories == 4),
            "the recurring line stays"
        );
    }

    #[test]
    fn a_copy_of_a_story_older_than_the_window_counts_anew() {
        let mut l = Learner::bounded(params(2), bounds(4, 4, 100));
        assert!(observe(&mut l, "a", &story(0)));
        assert!(!observe(&mut l, "a", &story(0)));
        for n in 1..=4 {
            assert!(observe(&mut l, "a", &story(n)));
        }
        // Generations of two: story 0's was dropped when the third opened.
        assert!(observe(&mut l, "a", &story(0)));
        assert!(!observe(&mut l, "a", &story(4)));
    }
}

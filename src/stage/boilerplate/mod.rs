//! Boilerplate removal: related-link lines ("Also Read ..."), page chrome
//! ("Advertisement", share/subscribe prompts), driven by rules in
//! `config/boilerplate.toml`.
//!
//! Rules look at one normalized line at a time and must match from its start.
//! Rules for lone chrome words must cover the whole line, and every rule has a
//! word limit, so a real sentence that merely opens with a trigger word
//! ("Advertisement spending rose 5% ...") is never taken. A related-link
//! rule also takes the headline that follows it, including the short
//! title-case lines a wrapped headline spills onto, as one span. Two generic
//! signals (symbol-only lines, navigation bars) catch chrome no rule names.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, LazyLock};

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;

use crate::boilerplate::learn::Bounds;
use crate::boilerplate::{Chrome, LearnParams, Observation};
use crate::dedup::Fingerprinter;
use crate::error::{Error, Result};
use crate::record::{Article, Removed, Ruled};
use crate::stage::title::ends_like_sentence_or_clause;
use crate::stage::{Stage, Verdict};

mod shape;
pub mod slot;

pub use slot::ChromeSlot;

use shape::{is_label_headline, is_link_text, is_wrapped_tail, midline_cuts};

/// The built-in rules: `config/boilerplate.toml` as it was at build time.
pub const DEFAULT_RULES: &str = include_str!("../../../config/boilerplate.toml");

/// Name used for the built-in rules in error messages.
const BUILTIN_NAME: &str = "config/boilerplate.toml (built in)";

/// Rule id recorded for lines with no letter or digit.
pub const GENERIC_SYMBOLS: &str = "generic-symbols";
/// Rule id recorded for navigation bars ("Home | News | Sport | Weather").
pub const GENERIC_NAV: &str = "generic-nav";

/// Rule id recorded for related links told by their shape ("Don't miss:
/// ...", a label no rule names, then a headline).
pub const GENERIC_LINK: &str = "generic-link";

/// Rule id recorded for a web page's dateline: a line that is only a date,
/// above the article's first paragraph (see [`Generic::lead_dateline`]).
pub const GENERIC_DATELINE: &str = "generic-dateline";

/// Rule id recorded for a photo caption that ends with its credit
/// ("... in 2004 (Picture credit: Getty)"), see [`Generic::credited_captions`].
pub const GENERIC_CAPTION: &str = "generic-caption";

/// Most words of a line taken for a credited caption.
const CAPTION_MAX_WORDS: usize = 60;

/// Longest line looked at as a bare date ("Wednesday, September 17th, 2025
/// at 10:45 a.m. EST" is 46): longer lines skip the regex.
const DATELINE_MAX_BYTES: usize = 60;

/// Characters of the first line taken for the article's prose; a dateline
/// stands above it.
const PROSE_LINE_CHARS: usize = 200;

/// Most words of a line taken for a related link by its shape.
const LINK_SHAPE_MAX_WORDS: usize = 20;

/// Words longer lines may have and still be checked as a navigation bar.
const NAV_MAX_WORDS: usize = 40;

/// `[boilerplate]` config section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoilerplateConfig {
    /// Remove boilerplate at all.
    pub enabled: bool,
    /// Rules file; empty means the built-in copy of `config/boilerplate.toml`.
    pub rules_file: String,
    /// Learn each source's chrome from the input (see [`crate::boilerplate`]).
    pub learn: bool,
    /// What a source is: the URL's host, the first folder under the input
    /// root, or one source for everything.
    pub source: SourceMode,
    /// A line is chrome once seen in at least this many distinct stories.
    pub learn_min_stories: u32,
    /// ... and in at least this share of its source's distinct stories.
    pub learn_min_share: f64,
    /// Lines of more words are never learned.
    pub learn_max_words: usize,
    /// Templates kept per source in a saved learned state.
    pub learn_max_templates: usize,
    /// Memory (MiB) a batch run's learning pass may hold prepared inputs
    /// in, so the second pass does not read and prepare them again.
    pub learn_keep_mb: u64,
    /// The daemon's learned chrome is renewed every this many inputs.
    pub learn_refresh_articles: u64,
    /// Sources the daemon's learner remembers (the least recent go first).
    pub learn_max_sources: usize,
    /// Stories per source the daemon's learner remembers to tell copies apart.
    pub learn_max_stories: usize,
    /// Templates per source the daemon's learner counts.
    pub learn_max_counted: usize,
}

/// What a source is, for learning its chrome (`boilerplate.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceMode {
    /// The host of the input's URL; an input without one falls back to its folder.
    Host,
    /// The first folder under the input root.
    Folder,
    /// Every input is one source.
    None,
}

impl Default for BoilerplateConfig {
    fn default() -> Self {
        let p = LearnParams::default();
        BoilerplateConfig {
            enabled: true,
            rules_file: String::new(),
            // Off by default: the second pass still costs up to a fifth
            // more time (see the README's Boilerplate section, Cost).
            learn: false,
            source: SourceMode::Host,
            learn_min_stories: p.min_stories,
            learn_min_share: p.min_share,
            learn_max_words: p.max_words,
            learn_max_templates: p.max_templates,
            learn_keep_mb: 1024,
            learn_refresh_articles: 1000,
            learn_max_sources: 256,
            learn_max_stories: 1024,
            learn_max_counted: 8192,
        }
    }
}

/// Bounds of `boilerplate.learn_min_stories`.
pub const MIN_STORIES_RANGE: (u32, u32) = (2, 1_000_000);
/// Most `boilerplate.learn_max_words`.
pub const MAX_LEARN_WORDS: usize = 200;
/// Most `boilerplate.learn_max_templates`.
pub const MAX_LEARN_TEMPLATES: usize = 1_000_000;
/// Most `boilerplate.learn_keep_mb` (1 TiB).
pub const MAX_LEARN_KEEP_MB: u64 = 1 << 20;
/// Most `boilerplate.learn_refresh_articles`.
pub const MAX_LEARN_REFRESH: u64 = 1_000_000;
/// Most `boilerplate.learn_max_sources`, `learn_max_stories` and `learn_max_counted`.
pub const MAX_LEARN_BOUND: usize = 10_000_000;

impl BoilerplateConfig {
    /// Check the values, naming the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, range: String| {
            Err(Error::Config(format!(
                "invalid value for `boilerplate.{key}`: must be {range}"
            )))
        };
        let (lo, hi) = MIN_STORIES_RANGE;
        if !(lo..=hi).contains(&self.learn_min_stories) {
            return bad("learn_min_stories", format!("{lo} to {hi}"));
        }
        if !(0.0..=1.0).contains(&self.learn_min_share) {
            return bad("learn_min_share", "0 to 1".into());
        }
        if !(1..=MAX_LEARN_WORDS).contains(&self.learn_max_words) {
            return bad("learn_max_words", format!("1 to {MAX_LEARN_WORDS}"));
        }
        if !(1..=MAX_LEARN_TEMPLATES).contains(&self.learn_max_templates) {
            return bad("learn_max_templates", format!("1 to {MAX_LEARN_TEMPLATES}"));
        }
        if self.learn_keep_mb > MAX_LEARN_KEEP_MB {
            return bad("learn_keep_mb", format!("0 to {MAX_LEARN_KEEP_MB}"));
        }
        if !(1..=MAX_LEARN_REFRESH).contains(&self.learn_refresh_articles) {
            return bad(
                "learn_refresh_articles",
                format!("1 to {MAX_LEARN_REFRESH}"),
            );
        }
        for (key, v, lo) in [
            ("learn_max_sources", self.learn_max_sources, 1),
            // Two generations of at least one story each.
            ("learn_max_stories", self.learn_max_stories, 2),
            ("learn_max_counted", self.learn_max_counted, 1),
        ] {
            if !(lo..=MAX_LEARN_BOUND).contains(&v) {
                return bad(key, format!("{lo} to {MAX_LEARN_BOUND}"));
            }
        }
        Ok(())
    }

    /// The learner's thresholds.
    pub fn learn_params(&self) -> LearnParams {
        LearnParams {
            min_stories: self.learn_min_stories,
            min_share: self.learn_min_share,
            max_words: self.learn_max_words,
            max_templates: self.learn_max_templates,
        }
    }

    /// The caps of the daemon's learner.
    pub fn learn_bounds(&self) -> Bounds {
        Bounds {
            max_sources: self.learn_max_sources,
            max_stories: self.learn_max_stories,
            max_counted: self.learn_max_counted,
        }
    }

    /// Every value learned state depends on, as one string.
    pub fn learn_key(&self) -> String {
        format!(
            "source={:?} min_stories={} min_share={} max_words={} max_templates={} \
             refresh={} max_sources={} max_stories={} max_counted={}",
            self.source,
            self.learn_min_stories,
            self.learn_min_share,
            self.learn_max_words,
            self.learn_max_templates,
            self.learn_refresh_articles,
            self.learn_max_sources,
            self.learn_max_stories,
            self.learn_max_counted
        )
        .to_lowercase()
    }

    /// `learn_keep_mb` in bytes.
    pub fn learn_keep_bytes(&self) -> usize {
        usize::try_from(self.learn_keep_mb << 20).unwrap_or(usize::MAX)
    }

    /// Whether learning runs: the stage on and `learn` set.
    pub fn learning(&self) -> bool {
        self.enabled && self.learn
    }
}

/// The source an article belongs to, by `mode`: the host of `url`
/// (lowercased, without a leading `www.`), else the first folder of `path`
/// (relative to the input root); files directly under the root, and stdin,
/// are the source `.`.
pub fn source_of(mode: SourceMode, url: Option<&str>, path: &str) -> String {
    if mode == SourceMode::None {
        return ".".into();
    }
    if mode == SourceMode::Host {
        if let Some(host) = url.and_then(host_of) {
            return host;
        }
    }
    match path.split_once('/') {
        Some((first, _)) if !first.is_empty() && first != "." && first != ".." => first.into(),
        _ => ".".into(),
    }
}

/// The host of an absolute URL, lowercased, without `www.`, port or user.
fn host_of(url: &str) -> Option<String> {
    let (_, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        // An IPv6 literal keeps its colons.
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    let host = host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    (!host.is_empty()).then(|| host.to_owned())
}

/// What a rule accepts after its pattern on the same line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// Nothing: the pattern covers the whole line.
    None,
    /// Anything, within the rule's word limit.
    Any,
    /// A linked story's headline, possibly on the next line(s).
    Headline,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Identifier recorded with each span the rule removes.
    pub id: String,
    /// What may follow the pattern.
    pub rest: Rest,
    /// Most words the line (with any wrapped headline lines) may have.
    pub max_words: usize,
    regex: Regex,
}

/// Settings of the generic signals (`[generic]` in the rules file).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Generic {
    /// Remove lines with no letter or digit.
    pub symbol_lines: bool,
    /// Remove navigation bars: 3+ short items separated by ` | `, ` • ` or ` · `.
    pub nav_bars: bool,
    /// Most lines a related-link headline may wrap onto.
    pub wrap_lines: usize,
    /// Most words on each wrapped headline line.
    pub wrap_words: usize,
    /// Remove related links told by their shape: a short label, a
    /// separator and a headline ("Don't miss: ...").
    pub link_shape: bool,
    /// Rules whose related link is cut from the middle of a line, after a
    /// sentence ("... she said. Also Read: ...").
    pub midline_rules: Vec<String>,
    /// In text extracted from a web page, remove the dateline: the one line
    /// that is only a date ("November 14, 2025"), when it stands above the
    /// first paragraph. The record carries the date in `published`. Plain
    /// text keeps it, as nothing else records it there; a page with several
    /// such lines keeps them all, as they are a table or a list.
    pub lead_dateline: bool,
    /// Remove photo captions that end with their credit: a capitalized
    /// `Photo:`, `Picture credit:`, `Image:` or `Credit:` and one to five
    /// capitalized words. A signal rather than a rule because it is found
    /// at the end of the line, and rules are anchored at its start.
    pub credited_captions: bool,
}

impl Default for Generic {
    fn default() -> Self {
        Generic {
            symbol_lines: true,
            nav_bars: true,
            wrap_lines: 2,
            wrap_words: 8,
            link_shape: true,
            midline_rules: Vec::new(),
            lead_dateline: true,
            credited_captions: true,
        }
    }
}

/// A validated, compiled rules file.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
    /// All patterns at once, so most lines cost one scan.
    set: RegexSet,
    generic: Generic,
    /// Largest `max_words` of any rule: longer lines skip the rules entirely.
    max_words: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    generic: Generic,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
struct RawRule {
    id: Option<String>,
    pattern: Option<String>,
    rest: Option<String>,
    max_words: Option<usize>,
    case_sensitive: Option<bool>,
    // Collected rather than denied so the error can name the rule.
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

impl Rules {
    /// The built-in rules.
    pub fn builtin() -> Result<Rules> {
        Rules::parse(DEFAULT_RULES, BUILTIN_NAME)
    }

    /// Read and compile a rules file.
    pub fn load(path: &Path) -> Result<Rules> {
        // A rules file that cannot be read is a configuration error, like
        // one that does not parse.
        let src = std::fs::read_to_string(path).map_err(|e| Error::Rules {
            path: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Rules::parse(&src, &path.display().to_string())
    }

    /// Compile rules from TOML text; `name` says where it came from in errors.
    pub fn parse(src: &str, name: &str) -> Result<Rules> {
        let err = |message: String| Error::Rules {
            path: name.to_owned(),
            message,
        };
        let raw: RawFile = toml::from_str(src).map_err(|e| err(e.to_string()))?;
        let mut seen = HashSet::new();
        let mut rules = Vec::with_capacity(raw.rule.len());
        let mut patterns = Vec::with_capacity(raw.rule.len());
        for (i, r) in raw.rule.into_iter().enumerate() {
            let id =
                r.id.ok_or_else(|| err(format!("rule #{} has no `id`", i + 1)))?;
            let bad = |what: String| err(format!("rule `{id}`: {what}"));
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.'))
            {
                return Err(bad(
                    "id must be non-empty and hold only a-z, 0-9, '-', '_' and '.'".into(),
                ));
            }
            if id.starts_with("generic") {
                return Err(bad("ids starting with `generic` are reserved".into()));
            }
            if !seen.insert(id.clone()) {
                return Err(bad("duplicate id".into()));
            }
            if let Some(key) = r.other.keys().find(|k| k.as_str() != "note") {
                return Err(bad(format!("unknown key `{key}`")));
            }
            let rest = match r.rest.as_deref().unwrap_or("none") {
                "none" => Rest::None,
                "any" => Rest::Any,
                "headline" => Rest::Headline,
                other => {
                    return Err(bad(format!(
                        "rest must be \"none\", \"any\" or \"headline\", not {other:?}"
                    )))
                }
            };
            let max_words = r.max_words.unwrap_or(12);
            if max_words == 0 {
                return Err(bad("max_words must be at least 1".into()));
            }
            let pattern = r.pattern.ok_or_else(|| bad("no `pattern`".into()))?;
            // `none` rules must cover the whole line; the others only its start.
            let tail = if rest == Rest::None { r"\s*$" } else { "" };
            let full = format!("^(?:{pattern}){tail}");
            let regex = RegexBuilder::new(&full)
                .case_insensitive(!r.case_sensitive.unwrap_or(false))
                .build()
                .map_err(|e| bad(format!("bad pattern: {e}")))?;
            if regex.is_match("") {
                return Err(bad(
                    "pattern matches empty text, so it would match every line".into(),
                ));
            }
            patterns.push((full, r.case_sensitive.unwrap_or(false)));
            rules.push(Rule {
                id,
                rest,
                max_words,
                regex,
            });
        }
        // A set has one case setting, so fold each rule's into its pattern.
        let set = RegexSetBuilder::new(patterns.iter().map(|(p, cs)| {
            if *cs {
                p.clone()
            } else {
                format!("(?i){p}")
            }
        }))
        .build()
        .map_err(|e| err(format!("cannot build rule set: {e}")))?;
        for id in &raw.generic.midline_rules {
            match rules.iter().find(|r| &r.id == id) {
                Some(r) if r.rest == Rest::Headline => {}
                Some(_) => {
                    return Err(err(format!(
                        "generic.midline_rules: rule `{id}` is not a related-link rule (rest = \"headline\")"
                    )))
                }
                None => {
                    return Err(err(format!(
                        "generic.midline_rules: no rule has the id `{id}`"
                    )))
                }
            }
        }
        let max_words = rules.iter().map(|r| r.max_words).max().unwrap_or(0);
        Ok(Rules {
            rules,
            set,
            generic: raw.generic,
            max_words,
        })
    }

    /// The rules, in matching order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The generic-signal settings.
    pub fn generic(&self) -> &Generic {
        &self.generic
    }

    /// The id of the first rule or generic signal that matches `line` on its
    /// own, without looking at the lines after it.
    pub fn match_line(&self, line: &str) -> Option<&str> {
        let words = word_count(line);
        match self.rule_for(line, words) {
            Some((rule, _)) => Some(&rule.id),
            None => self.generic_for(line, words),
        }
    }

    /// Remove boilerplate from normalized text. Returns the text that is left
    /// (borrowed when nothing was removed) and the removed spans in text order.
    pub fn clean<'a>(&self, text: &'a str) -> (Cow<'a, str>, Vec<Removed>) {
        self.clean_lines(text, self.generic.link_shape, false)
    }

    /// [`Rules::clean`] for text extracted from a web page: a related link
    /// told only by its shape (`generic.link_shape`) is not looked for, as
    /// the extractor already left out what its markup showed to be links;
    /// in such text the shape is a list item's "Label: value". The page's
    /// dateline goes when `generic.lead_dateline` is on.
    pub fn clean_extracted<'a>(&self, text: &'a str) -> (Cow<'a, str>, Vec<Removed>) {
        self.clean_lines(text, false, self.generic.lead_dateline)
    }

    fn clean_lines<'a>(
        &self,
        text: &'a str,
        link_shape: bool,
        lead_dateline: bool,
    ) -> (Cow<'a, str>, Vec<Removed>) {
        let mut lines = split_lines(text);
        let mut removed = Vec::new();
        let mut keep = vec![true; lines.len()];
        let dateline = if lead_dateline {
            find_lead_dateline(&lines)
        } else {
            None
        };
        let mut i = 0;
        while i < lines.len() {
            if Some(i) == dateline {
                removed.push(Removed {
                    rule: GENERIC_DATELINE.to_owned(),
                    text: lines[i].0.to_owned(),
                    stories: None,
                });
                keep[i] = false;
                i += 1;
            } else if let Some((len, rule)) = self.span_at(&lines, i, link_shape) {
                let text = lines[i..i + len]
                    .iter()
                    .map(|(l, _)| *l)
                    .collect::<Vec<_>>()
                    .join("\n");
                removed.push(Removed {
                    rule: rule.to_owned(),
                    text,
                    stories: None,
                });
                keep[i..i + len].fill(false);
                i += len;
            } else if let Some((cut, len, rule)) = self.midline_span(&lines, i) {
                // The line keeps its text up to the link; the link and its
                // wrapped tail go.
                let line = lines[i].0;
                let text = std::iter::once(&line[cut..])
                    .chain(lines[i + 1..i + len].iter().map(|(l, _)| *l))
                    .collect::<Vec<_>>()
                    .join("\n");
                removed.push(Removed {
                    rule: rule.to_owned(),
                    text,
                    stories: None,
                });
                lines[i].0 = line[..cut].trim_end();
                keep[i + 1..i + len].fill(false);
                i += len;
            } else {
                i += 1;
            }
        }
        if removed.is_empty() {
            return (Cow::Borrowed(text), removed);
        }
        (Cow::Owned(rejoin(&lines, &keep)), removed)
    }

    /// The span of boilerplate starting at line `i`: its length in lines and
    /// the rule id.
    fn span_at(&self, lines: &[(&str, bool)], i: usize, link_shape: bool) -> Option<(usize, &str)> {
        self.span_from(lines, i, lines[i].0, false, link_shape)
    }

    /// The span starting with `line` (line `i`, or the part of it from a
    /// [`midline_cuts`] offset when `midline`: then only a related link of
    /// a rule in `generic.midline_rules` counts). `link_shape`: whether a
    /// related link may be told by its shape alone.
    fn span_from(
        &self,
        lines: &[(&str, bool)],
        i: usize,
        line: &str,
        midline: bool,
        link_shape: bool,
    ) -> Option<(usize, &str)> {
        let words = word_count(line);
        let (id, max_words, rest) = match self.rule_for(line, words) {
            Some((rule, _)) if midline && !self.generic.midline_rules.contains(&rule.id) => {
                return None
            }
            Some((rule, _)) if rule.rest != Rest::Headline => return Some((1, &rule.id)),
            Some((rule, rest)) => (rule.id.as_str(), rule.max_words, rest),
            None if midline => return None,
            None => {
                if let Some(id) = self.generic_for(line, words) {
                    return Some((1, id));
                }
                // A link by its shape alone follows the story's text (a
                // sentence) or another link: the first line, or one after a
                // masthead, is where a headline stands ("At a glance: Tory
                // health checks").
                let after_text = i > 0 && {
                    let prev = lines[i - 1].0;
                    ends_like_sentence_or_clause(prev) || is_label_headline(prev)
                };
                if !(link_shape
                    && after_text
                    && words <= LINK_SHAPE_MAX_WORDS
                    && is_label_headline(line))
                {
                    return None;
                }
                (
                    GENERIC_LINK,
                    LINK_SHAPE_MAX_WORDS + self.generic.wrap_words,
                    line,
                )
            }
        };
        let mut len = 1;
        let mut total = words;
        let mut last = rest;
        if rest.is_empty() {
            // "Read more:" alone: the headline is the next line, if it is one.
            match lines.get(i + 1) {
                Some((next, _)) if is_link_text(next) && total + word_count(next) <= max_words => {
                    len = 2;
                    total += word_count(next);
                    last = next;
                }
                _ => return Some((1, id)),
            }
        }
        for _ in 0..self.generic.wrap_lines {
            if last.ends_with(['?', '!']) {
                break;
            }
            let Some((next, gap)) = lines.get(i + len) else {
                break;
            };
            let w = word_count(next);
            // A link known only by its shape takes a one-word paragraph
            // after it ("Jamaican", a hard-wrapped word of the story) no more.
            if id == GENERIC_LINK && *gap && w < 2 {
                break;
            }
            if w > self.generic.wrap_words || total + w > max_words || !is_wrapped_tail(next) {
                break;
            }
            len += 1;
            total += w;
            last = next;
        }
        Some((len, id))
    }

    /// A related link run on after the text of line `i` ("... she said.
    /// Also Read: ..."): where it starts in the line, and its span.
    fn midline_span(&self, lines: &[(&str, bool)], i: usize) -> Option<(usize, usize, &str)> {
        if self.generic.midline_rules.is_empty() {
            return None;
        }
        let line = lines[i].0;
        // The words left after each cut, counted down as the cuts advance:
        // a line of a thousand sentences costs one pass, and a tail longer
        // than any rule allows is passed over unread.
        let mut words_left = word_count(line);
        let mut counted_to = 0;
        midline_cuts(line).find_map(|cut| {
            let spaces = line.as_bytes()[counted_to..cut]
                .iter()
                .filter(|&&b| b == b' ')
                .count();
            words_left = words_left.saturating_sub(spaces);
            counted_to = cut;
            if words_left > self.max_words {
                return None;
            }
            self.span_from(lines, i, &line[cut..], true, false)
                .map(|(len, id)| (cut, len, id))
        })
    }

    /// The first rule that accepts `line`, with the text after its match.
    fn rule_for<'l>(&self, line: &'l str, words: usize) -> Option<(&Rule, &'l str)> {
        if words > self.max_words {
            return None;
        }
        self.set.matches(line).iter().find_map(|k| {
            let rule = &self.rules[k];
            let m = rule.regex.find(line)?;
            let rest = line[m.end()..].trim();
            let ok = words <= rule.max_words
                && match rule.rest {
                    Rest::None | Rest::Any => true,
                    Rest::Headline => rest.is_empty() || is_link_text(rest),
                };
            ok.then_some((rule, rest))
        })
    }

    /// The generic signal `line` trips, if any.
    fn generic_for(&self, line: &str, words: usize) -> Option<&'static str> {
        let g = &self.generic;
        if g.symbol_lines && is_symbol_line(line) {
            return Some(GENERIC_SYMBOLS);
        }
        if g.nav_bars && words <= NAV_MAX_WORDS && is_nav_bar(line) {
            return Some(GENERIC_NAV);
        }
        if g.credited_captions && words <= CAPTION_MAX_WORDS && is_credited_caption(line) {
            return Some(GENERIC_CAPTION);
        }
        None
    }
}

/// Each non-blank line of `text`, trimmed, with whether a blank line precedes it.
fn split_lines(text: &str) -> Vec<(&str, bool)> {
    let mut lines = Vec::new();
    let mut gap = false;
    for l in text.split('\n') {
        let l = l.trim();
        if l.is_empty() {
            gap = true;
        } else {
            lines.push((l, gap));
            gap = false;
        }
    }
    lines
}

/// Rejoin the kept lines; a paragraph break anywhere in a removed stretch
/// stays a paragraph break.
fn rejoin(lines: &[(&str, bool)], keep: &[bool]) -> String {
    let mut out = String::new();
    let mut gap = false;
    for ((line, gap_before), kept) in lines.iter().zip(keep) {
        gap |= *gap_before;
        if *kept {
            if !out.is_empty() {
                out.push_str(if gap { "\n\n" } else { "\n" });
            }
            out.push_str(line);
            gap = false;
        }
    }
    out
}

/// Remove the lines of `text` that are learned chrome of `source`, each
/// recorded as `learned:<source>` with the stories it was seen in.
pub fn remove_learned(chrome: &Chrome, source: &str, text: &str) -> (Option<String>, Vec<Removed>) {
    let lines = split_lines(text);
    let mut keep = vec![true; lines.len()];
    let mut removed = Vec::new();
    for (i, (line, _)) in lines.iter().enumerate() {
        if let Some(stories) = chrome.lookup(source, line) {
            keep[i] = false;
            removed.push(Removed {
                rule: format!("{LEARNED_PREFIX}{source}"),
                text: (*line).to_owned(),
                stories: Some(stories),
            });
        }
    }
    if removed.is_empty() {
        return (None, removed);
    }
    (Some(rejoin(&lines, &keep)), removed)
}

/// Prefix of the rule id of a learned removal; the source follows it.
pub const LEARNED_PREFIX: &str = "learned:";

#[allow(clippy::unwrap_used)] // a constant pattern
static BARE_DATE: LazyLock<Regex> = LazyLock::new(|| {
    let month = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
    let ord = r"\d{1,2}(?:st|nd|rd|th)?";
    Regex::new(&format!(
        r"(?i)^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?:(?:{ord}\s+)?{month}\.?,?\s+(?:{ord},?\s+)?(?:19|20)\d\d|\d{{1,2}}/\d{{1,2}}/(?:19|20)?\d\d|(?:19|20)\d\d-\d\d-\d\d)(?:,?\s+(?:at\s+)?\d{{1,2}}[:.]\d\d\s*(?:[ap]\.?m\.?)?(?:\s+[a-z]{{2,4}})?)?\.?$"
    ))
    .unwrap()
});

/// Bytes from a line's end within which a caption's credit starts: its
/// colon and at most five words follow.
const CREDIT_TAIL_BYTES: usize = 120;

/// Words that open a photo credit, in the case they are written in; a
/// lowercase "the big picture: rates" is not one.
const CREDIT_WORDS: &[&str] = &["Photo", "Picture", "Image", "Credit", "PHOTO", "CREDIT"];

/// Whether `line` ends with a photo credit: `Photo:`, `Picture credit:`,
/// `Image:` or `Credit:` (after a space or a parenthesis, or opening the
/// line), then one to five words, each capitalized or "and", "via", "for",
/// "/", and an optional closing parenthesis. Written out rather than as a
/// regex searched from the line's end: on every line that cost more than
/// all the rules together.
fn is_credited_caption(line: &str) -> bool {
    let mut from = line.len().saturating_sub(CREDIT_TAIL_BYTES);
    while !line.is_char_boundary(from) {
        from += 1;
    }
    let Some(colon) = line[from..].rfind(':').map(|i| from + i) else {
        return false;
    };
    let head = line[..colon].trim_end();
    let opens = |head: &str| {
        CREDIT_WORDS.iter().any(|w| {
            head.strip_suffix(w)
                .is_some_and(|before| before.is_empty() || before.ends_with([' ', '(']))
        })
    };
    // "Credit:", or "Picture credit:".
    let credit_of = [" credit", " Credit", " CREDIT"]
        .iter()
        .find_map(|s| head.strip_suffix(s));
    if !(opens(head) || credit_of.is_some_and(opens)) {
        return false;
    }
    let credit = line[colon + 1..].trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let credit = credit.strip_suffix(')').unwrap_or(credit);
    let name_char = |c: char| c.is_alphanumeric() || "_.'’&-/".contains(c);
    let mut words = 0;
    for (k, w) in credit.split_whitespace().enumerate() {
        let capital = w.starts_with(|c: char| c.is_ascii_uppercase());
        let joiner = k > 0 && matches!(w, "and" | "via" | "for" | "/");
        if !(capital || joiner) || !w.chars().all(name_char) || (k == 0 && w.contains('/')) {
            return false;
        }
        words += 1;
    }
    (1..=5).contains(&words)
}

/// The index of the page's dateline: the only line that is a date and
/// nothing else, if it comes before the first line of prose.
fn find_lead_dateline(lines: &[(&str, bool)]) -> Option<usize> {
    let mut dates = lines
        .iter()
        .enumerate()
        .filter(|(_, (l, _))| l.len() <= DATELINE_MAX_BYTES && BARE_DATE.is_match(l));
    let (at, _) = dates.next()?;
    if dates.next().is_some() {
        return None;
    }
    let prose = lines
        .iter()
        .position(|(l, _)| l.chars().count() > PROSE_LINE_CHARS)
        .unwrap_or(lines.len());
    (at < prose).then_some(at)
}

/// A separator drawn in symbols ("***", "* * *", "———"): no letter or digit, at
/// least three marks, and not just sentence punctuation (a stray "." or "..."
/// belongs to the article).
fn is_symbol_line(line: &str) -> bool {
    if line.bytes().any(|b| b.is_ascii_alphanumeric()) || line.chars().any(char::is_alphanumeric) {
        return false;
    }
    let marks = line.chars().filter(|c| !c.is_whitespace());
    let punct = |c: char| ".,;:!?'\"()…‘’“”".contains(c);
    marks.clone().count() >= 3 && !marks.clone().all(punct)
}

/// Words in a normalized (single-spaced, trimmed) line. Counting spaces
/// vectorizes, which matters: every paragraph is counted.
fn word_count(line: &str) -> usize {
    if line.is_empty() {
        return 0;
    }
    line.bytes().filter(|&b| b == b' ').count() + 1
}

/// Three or more short items separated by ` | `, ` • ` or ` · `.
fn is_nav_bar(line: &str) -> bool {
    let sep = [" | ", " • ", " · "].into_iter().find(|s| line.contains(s));
    let Some(sep) = sep else {
        return false;
    };
    let items: Vec<&str> = line.split(sep).map(str::trim).collect();
    items.len() >= 3
        && items.iter().all(|it| {
            let w = word_count(it);
            (1..=4).contains(&w) && !ends_like_sentence_or_clause(it)
        })
}

/// The boilerplate stage: the rules, then what was learned about the
/// article's source.
#[derive(Debug)]
pub struct Boilerplate {
    /// `None` when the stage is disabled.
    rules: Option<Rules>,
    /// What a source is.
    source: SourceMode,
    /// The learned chrome, once there is some (a batch run's first pass, the
    /// daemon's snapshots); until then only the rules apply.
    chrome: Arc<ChromeSlot>,
    /// What observing an article needs (the daemon learns as it goes).
    learn_params: LearnParams,
    story_fingerprinter: Fingerprinter,
    /// The dedup stage signs text as `story_fingerprinter` does, so a
    /// signature taken while observing is the article's own.
    signs_alike: bool,
}

impl Boilerplate {
    /// Build the stage, loading and compiling its rules.
    pub fn new(cfg: &BoilerplateConfig) -> Result<Self> {
        Boilerplate::with_chrome(cfg, Arc::default())
    }

    /// Build the stage with a slot the learned chrome will be put in.
    pub fn with_chrome(cfg: &BoilerplateConfig, chrome: Arc<ChromeSlot>) -> Result<Self> {
        let rules = if !cfg.enabled {
            None
        } else if cfg.rules_file.is_empty() {
            Some(Rules::builtin()?)
        } else {
            Some(Rules::load(Path::new(&cfg.rules_file))?)
        };
        Ok(Boilerplate {
            rules,
            source: cfg.source,
            chrome,
            learn_params: cfg.learn_params(),
            story_fingerprinter: crate::boilerplate::learn::story_fingerprinter(),
            signs_alike: false,
        })
    }

    /// Build the stage from already compiled rules.
    pub fn with_rules(rules: Rules) -> Self {
        Boilerplate {
            rules: Some(rules),
            source: SourceMode::Host,
            chrome: Arc::default(),
            learn_params: LearnParams::default(),
            story_fingerprinter: crate::boilerplate::learn::story_fingerprinter(),
            signs_alike: false,
        }
    }

    /// The active rules, `None` when the stage is disabled.
    pub fn rules(&self) -> Option<&Rules> {
        self.rules.as_ref()
    }

    /// The stage when `[boilerplate]` enables it, applying the chrome put
    /// into `chrome` once it is there.
    /// `dedup` is the dedup stage's signer, when that stage runs: a
    /// signature taken while observing is reused when it signs alike.
    pub fn build(
        cfg: &BoilerplateConfig,
        chrome: Arc<ChromeSlot>,
        dedup: Option<&Fingerprinter>,
    ) -> Result<Option<Box<dyn Stage>>> {
        if !cfg.enabled {
            return Ok(None);
        }
        let mut stage = Boilerplate::with_chrome(cfg, chrome)?;
        stage.signs_alike = dedup == Some(&stage.story_fingerprinter);
        Ok(Some(Box::new(stage)))
    }

    /// The article's source, as learning names it.
    pub fn source_of(&self, article: &Article) -> String {
        source_of(self.source, article.url.as_deref(), &article.source.path)
    }

    /// The rule-based pass alone: what learning observes.
    pub fn apply_rules(&self, article: &mut Article) {
        let Some(rules) = &self.rules else {
            return;
        };
        // A "title" that is really boilerplate ("Also Read: ...", "Share this
        // article") goes back to the text, where the rules remove it together
        // with any wrapped headline tail that follows it.
        if article
            .title
            .as_deref()
            .is_some_and(|t| rules.match_line(t).is_some())
        {
            if let Some(title) = article.title.take() {
                article.text = format!("{title}\n\n{}", article.text);
            }
        }
        let (text, removed) = if article.from_markup {
            rules.clean_extracted(&article.text)
        } else {
            rules.clean(&article.text)
        };
        if let Cow::Owned(text) = text {
            article.text = text;
        }
        article.boilerplate.extend(removed);
    }

    /// Remove what was learned about the article's source, title included;
    /// true when anything was removed.
    fn apply_learned(&self, chrome: &Chrome, article: &mut Article) -> bool {
        let source = self.source_of(article);
        if !chrome.knows(&source) {
            return false;
        }
        let mut changed = false;
        if let Some(stories) = article
            .title
            .as_deref()
            .and_then(|t| chrome.lookup(&source, t))
        {
            if let Some(title) = article.title.take() {
                article.boilerplate.push(Removed {
                    rule: format!("{LEARNED_PREFIX}{source}"),
                    text: title,
                    stories: Some(stories),
                });
                changed = true;
            }
        }
        let (text, removed) = remove_learned(chrome, &source, &article.text);
        if let Some(text) = text {
            article.text = text;
            changed = true;
        }
        article.boilerplate.extend(removed);
        changed
    }

    /// Clean `article` as [`Stage::process`] does, and attach what a learner
    /// observes of it: the text as the rules alone leave it, so what is
    /// learned never depends on what was learned before.
    fn clean_and_observe(&self, chrome: Option<&Chrome>, article: &mut Article) {
        let mut ruled = Article {
            title: article.title.clone(),
            text: article.text.clone(),
            ..Article::default()
        };
        self.apply_rules(&mut ruled);
        let observation = Observation::new(
            self.source_of(article),
            ruled.title.as_deref(),
            &ruled.text,
            &self.story_fingerprinter,
            &self.learn_params,
        );
        if chrome.is_some_and(|c| self.apply_learned(c, article)) {
            self.apply_rules(article);
        } else {
            // Nothing learned applies: the rules' result is the article's,
            // and so is the signature taken of it.
            article.title = ruled.title;
            article.text = ruled.text;
            article.boilerplate.append(&mut ruled.boilerplate);
            if self.signs_alike {
                article.fingerprint = Some(observation.fingerprint.clone());
            }
        }
        article.observation = Some(Box::new(observation));
    }
}

impl Stage for Boilerplate {
    fn name(&self) -> &'static str {
        "boilerplate"
    }

    fn process(&self, article: &mut Article) -> Verdict {
        let chrome = self.chrome.get();
        if self.chrome.observing() {
            self.clean_and_observe(chrome.as_deref(), article);
            return Ok(());
        }
        // Learned chrome first: whole lines, learned from text the rules had
        // cleaned, so the rules then see the story as it starts (a masthead
        // gone, its headline is the first line again).
        let learned = chrome.is_some_and(|c| self.apply_learned(&c, article));
        match article.ruled.take() {
            // The rules already ran on this very text (a batch run's
            // learning pass): their result stands.
            Some(ruled) if !learned => {
                let Ruled {
                    title,
                    text,
                    boilerplate,
                    fingerprint,
                } = *ruled;
                article.title = title;
                article.text = text;
                article.boilerplate.extend(boilerplate);
                if fingerprint.is_some() {
                    article.fingerprint = fingerprint;
                }
            }
            _ => self.apply_rules(article),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::normalize::{corpus, normalize};
    use crate::stage::title::{Title, TitleConfig};

    fn rules() -> Rules {
        Rules::builtin().unwrap()
    }

    fn clean(text: &str) -> (String, Vec<Removed>) {
        let (t, r) = rules().clean(text);
        (t.into_owned(), r)
    }

    fn removed(rule: &str, text: &str) -> Removed {
        Removed {
            rule: rule.into(),
            text: text.into(),
            stories: None,
        }
    }

    #[test]
    fn out_of_range_learning_bounds_are_refused_naming_the_key() {
        assert!(BoilerplateConfig::default().validate().is_ok());
        type Set = fn(&mut BoilerplateConfig);
        let cases: [(&str, Set); 5] = [
            ("learn_keep_mb", |c| c.learn_keep_mb = MAX_LEARN_KEEP_MB + 1),
            ("learn_refresh_articles", |c| c.learn_refresh_articles = 0),
            ("learn_max_sources", |c| c.learn_max_sources = 0),
            ("learn_max_stories", |c| c.learn_max_stories = 1),
            ("learn_max_counted", |c| {
                c.learn_max_counted = MAX_LEARN_BOUND + 1
            }),
        ];
        for (key, set) in cases {
            let mut cfg = BoilerplateConfig::default();
            set(&mut cfg);
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(&format!("`boilerplate.{key}`")), "{err}");
        }
    }

    #[test]
    fn an_observing_stage_cleans_as_it_would_and_observes_the_rule_cleaned_text() {
        let cfg = BoilerplateConfig::default();
        let slot = Arc::new(ChromeSlot::default());
        let stage = Boilerplate::with_chrome(&cfg, Arc::clone(&slot)).unwrap();
        let towns = ["Leeds", "York", "Hull", "Ripon"];
        let article = |n: usize| Article {
            text: format!(
                "Harbor Courier morning edition\n\nAdvertisement\n\nThe {} council met on Monday.",
                towns[n]
            ),
            ..Article::default()
        };
        let plain = |n: usize, slot_chrome: Option<&Chrome>| {
            let mut a = article(n);
            let s = Boilerplate::with_chrome(&cfg, Arc::default()).unwrap();
            if let Some(c) = slot_chrome {
                s.chrome.replace(Arc::new(c.clone()));
            }
            s.process(&mut a).unwrap();
            a
        };
        slot.observe();
        let mut learner = crate::boilerplate::Learner::new(LearnParams {
            min_stories: 2,
            min_share: 0.0,
            ..LearnParams::default()
        });
        for round in 0..3 {
            let mut a = article(round);
            stage.process(&mut a).unwrap();
            let want = plain(round, slot.get().as_deref());
            assert_eq!((&a.text, &a.boilerplate), (&want.text, &want.boilerplate));
            let obs = a.observation.take().unwrap();
            // What is observed never lost the learned masthead.
            assert!(obs
                .lines
                .iter()
                .any(|(_, l)| l.starts_with("Harbor Courier")));
            assert!(!obs.lines.iter().any(|(_, l)| l == "Advertisement"));
            let mut obs = *obs;
            // Distinct stories, so that the masthead counts each time.
            obs.fingerprint.exact = round as u64;
            obs.fingerprint.minhash.clear();
            learner.add(obs);
            slot.replace(Arc::new(learner.chrome()));
        }
        let mut a = article(3);
        stage.process(&mut a).unwrap();
        assert_eq!(a.text, "The Ripon council met on Monday.");
        assert!(
            a.boilerplate[0].rule.starts_with(LEARNED_PREFIX),
            "{:?}",
            a.boilerplate
        );
    }

    #[test]
    fn builtin_rules_compile() {
        assert!(rules().rules().len() >= 10);
    }

    #[test]
    fn strips_wrapped_also_read_headline() {
        let text = "Para one.\n\nAlso Read; U.S. Considers Plan to Inspect\n\nIranian Oil Tankers\n\nPara two.";
        let (out, rm) = clean(text);
        assert_eq!(out, "Para one.\n\nPara two.");
        assert_eq!(
            rm,
            [removed(
                "also-read",
                "Also Read; U.S. Considers Plan to Inspect\nIranian Oil Tankers"
            )]
        );
    }

    #[test]
    fn wrapped_headline_continuing_in_lowercase_is_taken() {
        let (out, rm) = clean(
            "Body.\nRead more: Oil prices hit a record\nas supply fears grow\nNext paragraph here.",
        );
        assert_eq!(out, "Body.\nNext paragraph here.");
        assert_eq!(
            rm[0].text,
            "Read more: Oil prices hit a record\nas supply fears grow"
        );
        assert_eq!(rm[0].rule, "read-more");
    }

    #[test]
    fn headline_on_the_line_after_a_bare_prompt_is_taken() {
        let (out, rm) = clean("Body.\n\nREAD MORE\n\nWhy Ports Are Struggling\n\nMore body.");
        assert_eq!(out, "Body.\n\nMore body.");
        assert_eq!(
            rm,
            [removed("read-more", "READ MORE\nWhy Ports Are Struggling")]
        );
    }

    #[test]
    fn bare_prompt_before_a_real_paragraph_takes_only_itself() {
        let (out, rm) =
            clean("Read more:\n\nThe council said it would appeal the ruling in the spring.");
        assert_eq!(
            out,
            "The council said it would appeal the ruling in the spring."
        );
        assert_eq!(rm, [removed("read-more", "Read more:")]);
    }

    #[test]
    fn a_paragraph_after_a_link_is_not_taken_for_its_wrapped_tail() {
        let (out, _) =
            clean("Also Read: Markets Rally\n\nShares rose on Monday after the bank cut rates.");
        assert_eq!(out, "Shares rose on Monday after the bank cut rates.");
    }

    #[test]
    fn sentences_starting_with_trigger_words_are_kept() {
        for line in [
            "Advertisement spending rose 5% in the quarter, the firm said.",
            "Related charges were filed against two other men.",
            "Read more about the scheme in the council's report.",
            "Follow-up talks are planned for March.",
            "Comments from the minister drew criticism.",
            "Shares in the company rose 4% on Monday.",
            "Subscribers to the service will pay more from April.",
            "More than 200 people attended the meeting.",
            "More-Than-Expected Rainfall Floods Farms",
            "Trending upwards since March",
            "Watch the skies: astronomers expect a meteor shower tonight.",
            "Here is the big picture: rates are falling.",
            "Contents of the report were leaked on Monday.",
            "Updated figures show inflation fell to 2% in May.",
            "Written by hand, the letter was found in 1921 and kept in a drawer for decades.",
            "By signing up early, members got a discount.",
            "\u{201c}Demand has doubled.\u{201d} \u{2013} Source: Gitnux",
            "10 minutes later, the police arrived.",
        ] {
            let (out, rm) = clean(line);
            assert!(rm.is_empty(), "{line}: {rm:?}");
            assert_eq!(out, line);
        }
    }

    #[test]
    fn page_chrome_lines_are_removed_with_their_rule_ids() {
        for (line, rule) in [
            ("Advertisement", "advertisement"),
            ("ADVERTISEMENT", "advertisement"),
            ("Story continues below advertisement", "advertisement"),
            ("Share this article", "share-prompt"),
            ("Facebook Twitter WhatsApp Email", "share-bar"),
            ("Follow us on Twitter @newsdesk", "follow-prompt"),
            (
                "Subscribe to our newsletter for the latest updates",
                "subscribe-prompt",
            ),
            ("Sign up for our free daily briefing", "subscribe-prompt"),
            ("Click here to download the report", "click-here"),
            (
                "(Reporting by Jane Doe; Editing by John Roe)",
                "reporting-credit",
            ),
            ("Related: Ten Things to Know About the Budget", "related"),
            ("Related Stories", "related"),
            ("MORE - Inside the Fight for the Harbour", "related"),
            ("WATCH: Minister Defends Budget Plan", "media-link"),
            ("Image copyright Getty Images", "image-credit"),
            ("© 2025 Example Media. All rights reserved.", "copyright"),
            ("https://example.com/news/story-123", "bare-url"),
            ("Skip to main content", "site-chrome"),
            ("Loading paragraph...", "site-chrome"),
            ("Table of Contents", "toc-label"),
            ("In this article:", "toc-label"),
            (
                "Last updated on September 16th, 2023 at 09:27 am",
                "dateline",
            ),
            ("Published on May 02, 2024 07:44 PM IST", "dateline"),
            ("Updated: 10/31/2024", "dateline"),
            ("Written by Cassidy Horton", "byline-label"),
            ("Medically reviewed by", "byline-label"),
            ("5 min read", "reading-time"),
            ("Reading Time: 11 minutes", "reading-time"),
            ("Was this page helpful?", "feedback-prompt"),
            (
                "By signing up, you agree to receive our newsletter and offers.",
                "consent-notice",
            ),
            (
                "A portrait of the Queen in 2004 (Picture credit: Getty)",
                GENERIC_CAPTION,
            ),
            (
                "The laptop is $1,300 off for the holidays Credit: Apple",
                GENERIC_CAPTION,
            ),
            ("Source: Bureau of Labor Statistics", "source-credit"),
            ("* * *", GENERIC_SYMBOLS),
            ("Home | News | Sport | Weather", GENERIC_NAV),
        ] {
            let text = format!("First paragraph.\n\n{line}\n\nLast paragraph.");
            let (out, rm) = clean(&text);
            assert_eq!(out, "First paragraph.\n\nLast paragraph.", "{line}");
            assert_eq!(rm, [removed(rule, line)], "{line}");
        }
    }

    #[test]
    fn a_related_link_no_rule_names_goes_with_its_wrapped_tail() {
        let (out, rm) = clean(
            "Brewers cut prices.\n\nKeep exploring: Why drinkers are switching\n\nto beer alternatives\n\nSales fell 3% in May.",
        );
        assert_eq!(out, "Brewers cut prices.\n\nSales fell 3% in May.");
        assert_eq!(
            rm,
            [removed(
                GENERIC_LINK,
                "Keep exploring: Why drinkers are switching\nto beer alternatives"
            )]
        );
        let (_, rm) =
            clean("Film news.\nMore on this story: Director Heads for\nBafta glory\nThe end.");
        assert_eq!(
            rm[0].text,
            "More on this story: Director Heads for\nBafta glory"
        );
    }

    #[test]
    fn text_from_a_web_page_keeps_label_value_lines_a_link_shape_would_take() {
        let text = "Plans start at $5 a month.\n\nNetwork: 10 Gbps connections available\n\nSetup takes minutes.";
        let (_, rm) = clean(text);
        assert_eq!(rm.len(), 1, "{rm:?}");
        let (out, rm) = rules().clean_extracted(text);
        assert!(rm.is_empty(), "{rm:?}");
        assert_eq!(out, text);
        // The rules still apply.
        let (_, rm) = rules().clean_extracted("Body.\n\nAdvertisement\n\nEnd.");
        assert_eq!(rm.len(), 1, "{rm:?}");
        // The stage picks the pass by where the text came from.
        let bp = Boilerplate::with_rules(rules());
        let mut a = Article::new(0, Default::default(), text.to_owned());
        a.from_markup = true;
        bp.apply_rules(&mut a);
        assert!(a.boilerplate.is_empty(), "{:?}", a.boilerplate);
        a.from_markup = false;
        bp.apply_rules(&mut a);
        assert_eq!(a.boilerplate.len(), 1, "{:?}", a.boilerplate);
    }

    #[test]
    fn a_credit_closing_a_line_marks_a_caption() {
        for line in [
            "Credit: Apple",
            "(Photo: AP)",
            "Interior design by Fletcher Rhodes, Sonoma CA. Photo: Thomas Kuoh",
            "A portrait of the Queen in 2004 (Picture credit: Getty).",
            "Runners at dawn. PHOTO: Jane Doe via Reuters",
            "The new bridge. Image: Harbour Council / Jo Lee",
        ] {
            assert!(is_credited_caption(line), "{line}");
        }
        for line in [
            "Here is the big picture: Rates are falling.",
            "He gave the Photo: it was blurred",
            "Discredit: Apple",
            "Credit: Apple, Google, Microsoft, Amazon, Meta and Netflix",
            "Credit:",
            "The deal closed on Monday.",
        ] {
            assert!(!is_credited_caption(line), "{line}");
        }
    }

    #[test]
    fn a_web_pages_dateline_goes_when_it_stands_above_the_first_paragraph() {
        let prose = "The council voted on Monday to close the bridge for repairs that will take most of the winter, \
                     diverting traffic through the town centre, where traders fear the queues will keep shoppers away until spring.";
        let text = format!("November 14, 2025\n\n{prose}");
        let (out, rm) = rules().clean_extracted(&text);
        assert_eq!(out, prose);
        assert_eq!(rm, [removed(GENERIC_DATELINE, "November 14, 2025")]);
        // Plain text keeps it: nothing else records the date there.
        assert!(clean(&text).1.is_empty());
        // Below the first paragraph it belongs to the story.
        let below = format!("{prose}\n\nNovember 14, 2025");
        assert!(rules().clean_extracted(&below).1.is_empty());
        // Several bare dates are a table or a list, all kept.
        let list = format!("March 16, 2026\n\nMarch 17, 2026\n\n{prose}");
        assert!(rules().clean_extracted(&list).1.is_empty());
        let off = Rules::parse(
            &DEFAULT_RULES.replace("lead_dateline = true", "lead_dateline = false"),
            "test",
        )
        .unwrap();
        assert!(off.clean_extracted(&text).1.is_empty());
    }

    #[test]
    fn a_headline_shaped_like_a_link_is_kept_where_a_headline_stands() {
        for text in [
            "At a glance: Tory health checks\n\nThe party set out its plans.",
            "You are reading Harbor Media\n\nAt a glance: Tory health checks\n\nThe party set out its plans.",
        ] {
            let (out, rm) = clean(text);
            assert!(rm.is_empty(), "{rm:?}");
            assert_eq!(out, text);
        }
        let (_, rm) = clean("Body.\n\nNext up: Port Strike Talks Resume\n\nKeep exploring: Why the Night Trains of Europe Came Back Again\n\nEnd.");
        assert_eq!(rm.len(), 2, "{rm:?}");
    }

    #[test]
    fn a_long_line_of_sentences_keeps_its_mid_line_link() {
        // Every sentence end is a cut; only the short tail after the last
        // one can be a link. The old code recounted every tail's words
        // (minutes on a few hundred KB); this asserts the link is still
        // found at the end of such a line.
        let line = format!("{}Also Read: Port Strike Talks", "Ab. ".repeat(50_000));
        let (out, rm) = clean(&line);
        assert_eq!(rm.len(), 1, "{rm:?}");
        assert_eq!(out.trim_end(), "Ab. ".repeat(50_000).trim_end());
    }

    #[test]
    fn also_read_in_the_middle_of_a_line_is_cut_from_there() {
        let (out, rm) = clean(
            "Talks ended without a deal, the union said. Also Read: Port Strike Talks\nResume After Walkout\n\nMore talks are planned.",
        );
        assert_eq!(
            out,
            "Talks ended without a deal, the union said.\n\nMore talks are planned."
        );
        assert_eq!(
            rm,
            [removed(
                "also-read",
                "Also Read: Port Strike Talks\nResume After Walkout"
            )]
        );
        // Not after a sentence, or not a headline: the line stays whole.
        for line in [
            "He said to also read the small print before signing.",
            "Critics were blunt. Also read the report, they said, and you will see why.",
        ] {
            let (out, rm) = clean(line);
            assert!(rm.is_empty(), "{line}: {rm:?}");
            assert_eq!(out, line);
        }
    }

    #[test]
    fn line_breaks_inside_a_block_survive_removal() {
        let (out, _) = clean("Head\n\n- one\nAdvertisement\n- two\n\nEnd.");
        assert_eq!(out, "Head\n\n- one\n- two\n\nEnd.");
    }

    #[test]
    fn spans_are_recorded_in_text_order() {
        let (_, rm) = clean(
            "Advertisement\nBody text that stays here.\nShare this article\nAlso Read: Oil Slides",
        );
        let ids: Vec<_> = rm.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(ids, ["advertisement", "share-prompt", "also-read"]);
    }

    #[test]
    fn all_boilerplate_leaves_empty_text() {
        let (out, rm) = clean("Advertisement\n\nShare this article");
        assert_eq!(out, "");
        assert_eq!(rm.len(), 2);
    }

    #[test]
    fn text_without_boilerplate_is_borrowed() {
        let (out, _) = rules().clean("Just news.\n\nMore news.");
        assert!(matches!(out, Cow::Borrowed(_)));
    }

    #[test]
    fn chrome_title_is_removed_and_recorded() {
        let stage = Boilerplate::new(&BoilerplateConfig::default()).unwrap();
        let mut a = Article::new(0, Default::default(), "Body text.".into());
        a.title = Some("Share this article".into());
        stage.process(&mut a).unwrap();
        assert_eq!(a.title, None);
        assert_eq!(
            a.boilerplate,
            [removed("share-prompt", "Share this article")]
        );
    }

    #[test]
    fn related_link_taken_for_a_title_is_removed_with_its_wrapped_tail() {
        let text =
            "Also Read: Port Strike Talks Resume\nAfter Weekend Walkout\nDockers met on Monday.";
        let mut a = Article::new(0, Default::default(), normalize(text));
        Title::new(&TitleConfig::default()).process(&mut a).unwrap();
        assert!(
            a.title.is_some(),
            "the title stage alone takes it for a headline"
        );
        Boilerplate::new(&BoilerplateConfig::default())
            .unwrap()
            .process(&mut a)
            .unwrap();
        assert_eq!(a.title, None);
        assert_eq!(a.text, "Dockers met on Monday.");
        assert_eq!(
            a.boilerplate,
            [removed(
                "also-read",
                "Also Read: Port Strike Talks Resume\nAfter Weekend Walkout"
            )]
        );
    }

    #[test]
    fn disabled_stage_changes_nothing() {
        let cfg = BoilerplateConfig {
            enabled: false,
            rules_file: "/nonexistent/rules.toml".into(),
            ..BoilerplateConfig::default()
        };
        let stage = Boilerplate::new(&cfg).unwrap();
        let mut a = Article::new(0, Default::default(), "Advertisement\n\nBody.".into());
        stage.process(&mut a).unwrap();
        assert_eq!(a.text, "Advertisement\n\nBody.");
        assert!(a.boilerplate.is_empty());
    }

    #[test]
    fn rules_file_overrides_the_builtin_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        std::fs::write(
            &path,
            "[[rule]]\nid = \"promo\"\npattern = 'promo code \\w+'\n",
        )
        .unwrap();
        let cfg = BoilerplateConfig {
            enabled: true,
            rules_file: path.display().to_string(),
            ..BoilerplateConfig::default()
        };
        let stage = Boilerplate::new(&cfg).unwrap();
        let (out, rm) = stage
            .rules()
            .unwrap()
            .clean("Body.\nPROMO CODE SAVE10\nAdvertisement");
        assert_eq!(out, "Body.\nAdvertisement");
        assert_eq!(rm, [removed("promo", "PROMO CODE SAVE10")]);
    }

    #[test]
    fn missing_rules_file_is_a_rules_error_naming_it() {
        let cfg = BoilerplateConfig {
            enabled: true,
            rules_file: "/nonexistent/rules.toml".into(),
            ..BoilerplateConfig::default()
        };
        let err = Boilerplate::new(&cfg).unwrap_err();
        assert!(matches!(err, Error::Rules { .. }), "{err}");
        assert_eq!(err.kind(), crate::error::ErrorKind::Config);
        assert!(err.to_string().contains("/nonexistent/rules.toml"), "{err}");
    }

    #[test]
    fn bad_rules_name_the_file_and_the_rule() {
        for (src, needle) in [
            (
                "[[rule]]\nid = \"x\"\npattern = '(unclosed'\n",
                "rule `x`: bad pattern",
            ),
            (
                "[[rule]]\nid = \"x\"\npattern = 'a'\n[[rule]]\nid = \"x\"\npattern = 'b'\n",
                "rule `x`: duplicate id",
            ),
            (
                "[[rule]]\nid = \"x\"\npattern = 'a'\nrest = \"maybe\"\n",
                "rule `x`: rest must be",
            ),
            (
                "[[rule]]\nid = \"x\"\npattern = 'a'\nmax_word = 3\n",
                "rule `x`: unknown key `max_word`",
            ),
            (
                "[[rule]]\nid = \"x\"\npattern = 'a'\nmax_words = 0\n",
                "rule `x`: max_words",
            ),
            (
                "[[rule]]\nid = \"x\"\npattern = '(?:ad)?'\nrest = \"any\"\n",
                "rule `x`: pattern matches empty",
            ),
            ("[[rule]]\nid = \"x\"\n", "rule `x`: no `pattern`"),
            ("[[rule]]\npattern = 'a'\n", "rule #1 has no `id`"),
            (
                "[[rule]]\nid = \"Bad Id\"\npattern = 'a'\n",
                "rule `Bad Id`: id must",
            ),
            ("[[rule]]\nid = \"generic-x\"\npattern = 'a'\n", "reserved"),
            ("[[rule]\n", "boilerplate rules my.toml"),
        ] {
            let err = Rules::parse(src, "my.toml").unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, Error::Rules { .. }), "{msg}");
            assert!(msg.starts_with("boilerplate rules my.toml: "), "{msg}");
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
    }

    #[test]
    fn stray_punctuation_is_not_a_symbol_line() {
        for line in [".", "...", "?!", "\u{201C}\u{201D}\u{2026}"] {
            let (_, rm) = clean(&format!("Para.\n\n{line}\n\nPara."));
            assert!(rm.is_empty(), "{line}");
        }
    }

    #[test]
    fn generic_signals_can_be_switched_off() {
        let r = Rules::parse(
            "[generic]\nsymbol_lines = false\nnav_bars = false\nlink_shape = false\n",
            "g.toml",
        )
        .unwrap();
        let text = "***\nHome | News | Sport\nDon't miss: Port Strike Talks Resume";
        let (out, rm) = r.clean(text);
        assert!(rm.is_empty());
        assert_eq!(out, text);
    }

    /// The seed after the stages that run before this one.
    fn seed_article() -> Article {
        let seeds = corpus::seeds_raw();
        let (_, raw) = seeds
            .iter()
            .find(|(n, _)| n.starts_with("000_"))
            .expect("seed 000 present");
        let mut a = Article::new(0, Default::default(), normalize(raw));
        Title::new(&TitleConfig::default()).process(&mut a).unwrap();
        a
    }

    #[test]
    fn seed_also_read_span_is_removed_whole_and_paragraphs_around_it_kept() {
        let mut a = seed_article();
        let before = a.text.clone();
        Boilerplate::new(&BoilerplateConfig::default())
            .unwrap()
            .process(&mut a)
            .unwrap();
        assert_eq!(
            a.boilerplate,
            [removed(
                "also-read",
                "Also Read; U.S. Considers Plan to Inspect\nIranian Oil Tankers"
            )]
        );
        let paras: Vec<&str> = before.split("\n\n").collect();
        let i = paras
            .iter()
            .position(|p| p.starts_with("Also Read;"))
            .unwrap();
        let kept: Vec<&str> = paras[..i].iter().chain(&paras[i + 2..]).copied().collect();
        assert_eq!(a.text, kept.join("\n\n"));
        assert!(a
            .text
            .contains(&format!("{}\n\n{}", paras[i - 1], paras[i + 2])));
    }

    #[test]
    fn seed_samples_keep_the_advertisement_spending_sentence() {
        let stage = Boilerplate::new(&BoilerplateConfig::default()).unwrap();
        let mut found = false;
        for (name, raw) in corpus::seeds_raw() {
            let mut a = Article::new(0, Default::default(), normalize(&raw));
            Title::new(&TitleConfig::default()).process(&mut a).unwrap();
            stage.process(&mut a).unwrap();
            for line in a
                .text
                .lines()
                .filter(|l| l.starts_with("Advertisement spending rose 5%"))
            {
                found = true;
                assert!(line.len() > 40, "{name}");
            }
            assert!(
                a.boilerplate
                    .iter()
                    .all(|r| !r.text.starts_with("Advertisement spending")),
                "{name}"
            );
        }
        assert!(
            found,
            "a seed has the 'Advertisement spending rose 5%' sentence"
        );
    }

    /// Run decode's output of one seed through normalize, title, boilerplate.
    fn run_seed(prefix: &str) -> Article {
        let seeds = corpus::seeds_raw();
        let (_, raw) = seeds.iter().find(|(n, _)| n.starts_with(prefix)).unwrap();
        let mut a = Article::new(0, Default::default(), normalize(raw));
        Title::new(&TitleConfig::default()).process(&mut a).unwrap();
        Boilerplate::new(&BoilerplateConfig::default())
            .unwrap()
            .process(&mut a)
            .unwrap();
        a
    }

    fn ids(a: &Article) -> Vec<&str> {
        a.boilerplate.iter().map(|r| r.rule.as_str()).collect()
    }

    #[test]
    fn seed_page_chrome_is_removed_and_the_story_kept() {
        let a = run_seed("002_");
        assert_eq!(
            ids(&a),
            [
                "advertisement",
                "share-prompt",
                "read-more",
                "follow-prompt",
                "subscribe-prompt"
            ]
        );
        assert_eq!(
            a.boilerplate[2].text,
            "Read more: Fuel Surcharges Return to\nShort-Haul Flights Across the Region"
        );
        assert_eq!(a.text.split("\n\n").count(), 6);
        assert!(a.text.starts_with("Northwind Air, the regional carrier"));
        assert!(a.text.ends_with("review the routes again in the spring."));
    }

    #[test]
    fn seed_advertisement_line_goes_but_the_spending_sentence_stays() {
        let a = run_seed("003_");
        assert_eq!(ids(&a), ["advertisement", "reporting-credit"]);
        assert!(a
            .text
            .starts_with("Advertisement spending rose 5% in the third quarter"));
        assert!(a.text.ends_with("grew fastest of all, at 9%."));
    }

    #[test]
    fn seed_nav_bar_separator_and_related_link_are_removed() {
        let a = run_seed("007_");
        assert_eq!(a.title, None);
        assert_eq!(ids(&a), [GENERIC_NAV, GENERIC_SYMBOLS, "related"]);
        assert_eq!(a.text.split("\n\n").count(), 6);
        assert!(a
            .text
            .contains("\"We have had three of these in ten years,\""));
    }

    #[test]
    fn bbc_corpus_loses_nothing() {
        let Some(corpus) = corpus::bbc_raw() else {
            return;
        };
        let stage = Boilerplate::new(&BoilerplateConfig::default()).unwrap();
        let title = Title::new(&TitleConfig::default());
        let mut spans = 0;
        for (name, raw) in &corpus {
            let mut a = Article::new(0, Default::default(), normalize(raw));
            title.process(&mut a).unwrap();
            stage.process(&mut a).unwrap();
            for r in &a.boilerplate {
                eprintln!("BBC {name}: [{}] {:?}", r.rule, r.text);
            }
            spans += a.boilerplate.len();
        }
        eprintln!("BBC: {spans} spans removed from {} articles", corpus.len());
        assert_eq!(spans, 0);
    }
}

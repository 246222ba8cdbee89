//! Headline detection: a first line that reads as a headline becomes `title`.
//!
//! Runs on normalized text, before boilerplate removal (whose wrapped-headline
//! signal would otherwise take a headline for the tail of a related link).

use serde::Deserialize;

use crate::record::Article;
use crate::stage::{Stage, Verdict};

/// `[title]` config section.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TitleConfig {
    /// Detect a headline on the first line.
    pub enabled: bool,
    /// A first line longer than this many characters is never a headline.
    pub max_chars: usize,
    /// A headline has at least this many words (one-word lines are mostly
    /// section names or page chrome).
    pub min_words: usize,
    /// A headline has at most this many words.
    pub max_words: usize,
}

impl Default for TitleConfig {
    fn default() -> Self {
        TitleConfig {
            enabled: true,
            max_chars: 200,
            min_words: 2,
            max_words: 20,
        }
    }
}

impl TitleConfig {
    /// Check the values, naming the key.
    pub fn validate(&self) -> crate::error::Result<()> {
        let bad = |why: &str| {
            Err(crate::error::Error::Config(format!(
                "invalid value for {why}"
            )))
        };
        if self.max_chars == 0 || self.max_chars > 10_000 {
            return bad("`title.max_chars`: must be 1 to 10000");
        }
        if self.max_words == 0 || self.max_words > 1_000 {
            return bad("`title.max_words`: must be 1 to 1000");
        }
        if self.min_words > self.max_words {
            return bad("`title.min_words`: must not exceed title.max_words");
        }
        Ok(())
    }
}

/// Words a headline does not end on; a line ending on one was cut mid-phrase.
/// ("on", "in", "by" are left out: "Festival battles on" is a headline.)
const DANGLING: &[&str] = &[
    "a", "an", "the", "of", "to", "and", "or", "for", "with", "from",
];

/// Abbreviations that may end a headline with a full stop.
const ABBREVIATIONS: &[&str] = &["Corp", "Inc", "Ltd", "Co", "Jr", "Sr", "St", "Bros"];

/// Whether one line reads as a headline: short, not a sentence, not a
/// fragment. `line` is a single normalized line.
pub fn looks_like_headline(line: &str, cfg: &TitleConfig) -> bool {
    // The byte test spares counting the characters of long paragraphs.
    if line.is_empty() || line.len() > cfg.max_chars * 4 || line.chars().count() > cfg.max_chars {
        return false;
    }
    let words: Vec<&str> = line.split(' ').collect();
    if words.len() < cfg.min_words || words.len() > cfg.max_words {
        return false;
    }
    if !line.chars().any(char::is_alphabetic) {
        return false;
    }
    if ends_like_sentence_or_clause(line) {
        return false;
    }
    // An aside: "(after extra time)".
    if line.starts_with('(') && line.ends_with(')') {
        return false;
    }
    let first = words[0];
    // "and then ..." is a fragment; "iTunes ..." and "eBay ..." are headlines.
    if first.starts_with(char::is_lowercase) && !first.chars().any(char::is_uppercase) {
        return false;
    }
    // A byline: "By Jane Doe".
    if first == "By"
        && words
            .get(1)
            .is_some_and(|w| w.starts_with(char::is_uppercase))
    {
        return false;
    }
    let last = words[words.len() - 1];
    if DANGLING.contains(&last) {
        return false;
    }
    !has_sentence_break(&words) && !is_date(&words)
}

/// Closing quotes and brackets, looked through when checking the last mark.
const CLOSERS: [char; 6] = ['\'', '"', '’', '”', ')', ']'];

/// Whether `line` ends the way sentences and clauses do (a full stop that is
/// not an ellipsis or abbreviation, or a comma, semicolon, colon or dash)
/// rather than the way headlines do.
pub(crate) fn ends_like_sentence_or_clause(line: &str) -> bool {
    let end = line.trim_end_matches(CLOSERS);
    end.ends_with([',', ';', ':', '-', '–', '—'])
        || (end.ends_with('.') && !end.ends_with("...") && !ends_with_abbreviation(end))
}

/// "U.S." or "Corp." at the end is an abbreviation, not a full stop.
fn ends_with_abbreviation(end: &str) -> bool {
    let last = end.rsplit(' ').next().unwrap_or(end);
    let stem = last.strip_suffix('.').unwrap_or(last);
    let initials = stem.contains('.')
        && stem
            .split('.')
            .all(|p| p.chars().count() == 1 && p.chars().all(char::is_uppercase));
    initials || ABBREVIATIONS.contains(&stem)
}

/// A lowercase word with a full stop (or ? or !) followed by a capitalized
/// word: two sentences ("... was arrested. Police said ..."), which headlines
/// avoid.
pub(crate) fn has_sentence_break(words: &[&str]) -> bool {
    words.windows(2).any(|w| {
        let Some(stem) = w[0].strip_suffix(['.', '?', '!']) else {
            return false;
        };
        stem.len() >= 3
            && stem.chars().all(char::is_lowercase)
            && w[1].starts_with(char::is_uppercase)
    })
}

/// A dateline such as "Saturday 20 November" or "March 3, 2025".
fn is_date(words: &[&str]) -> bool {
    words.iter().all(|w| {
        let w = w.trim_end_matches(',');
        w.chars().all(|c| c.is_ascii_digit()) || crate::calendar::is_full_name(w)
    })
}

/// Split normalized text into `(headline, rest)` when its first paragraph is
/// a single line that reads as a headline and more text follows.
pub fn split_headline<'a>(text: &'a str, cfg: &TitleConfig) -> Option<(&'a str, &'a str)> {
    let (first, rest) = text.split_once("\n\n")?;
    if first.contains('\n') || rest.is_empty() || !looks_like_headline(first, cfg) {
        return None;
    }
    Some((first, rest))
}

/// The title stage.
#[derive(Debug, Clone)]
pub struct Title {
    cfg: TitleConfig,
}

impl Title {
    /// Build the stage from its config.
    pub fn new(cfg: &TitleConfig) -> Self {
        Title { cfg: cfg.clone() }
    }
}

impl Stage for Title {
    fn name(&self) -> &'static str {
        "title"
    }

    fn process(&self, article: &mut Article) -> Verdict {
        // A title the input supplied wins, whether detection is on or not.
        if let Some(t) = article.given_title.take() {
            article.title = Some(t);
            return Ok(());
        }
        if !self.cfg.enabled {
            return Ok(());
        }
        if let Some((head, _)) = split_headline(&article.text, &self.cfg) {
            let cut = head.len() + 2;
            article.title = Some(head.to_owned());
            article.text.drain(..cut);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::normalize::{corpus, normalize};

    fn detect(text: &str) -> Option<String> {
        let mut a = Article::new(0, Default::default(), normalize(text));
        Title::new(&TitleConfig::default()).process(&mut a).unwrap();
        a.title
    }

    fn is_headline(line: &str) -> bool {
        looks_like_headline(line, &TitleConfig::default())
    }

    #[test]
    fn headline_line_becomes_title_and_leaves_the_body() {
        let mut a = Article::new(
            0,
            Default::default(),
            "Dockers strike over pay\n\nPort workers walked out.\n\nTalks resume.".into(),
        );
        Title::new(&TitleConfig::default()).process(&mut a).unwrap();
        assert_eq!(a.title.as_deref(), Some("Dockers strike over pay"));
        assert_eq!(a.text, "Port workers walked out.\n\nTalks resume.");
    }

    #[test]
    fn given_title_wins_over_detection() {
        let mut a = Article::new(
            0,
            Default::default(),
            "Dockers strike over pay\n\nBody.".into(),
        );
        a.given_title = Some("Supplied".into());
        Title::new(&TitleConfig::default()).process(&mut a).unwrap();
        assert_eq!(a.title.as_deref(), Some("Supplied"));
        assert!(a.text.starts_with("Dockers"));
    }

    #[test]
    fn disabled_stage_leaves_text_alone() {
        let cfg = TitleConfig {
            enabled: false,
            ..TitleConfig::default()
        };
        let mut a = Article::new(
            0,
            Default::default(),
            "Dockers strike over pay\n\nBody.".into(),
        );
        Title::new(&cfg).process(&mut a).unwrap();
        assert_eq!(a.title, None);
    }

    #[test]
    fn sentence_first_line_is_not_a_title() {
        assert_eq!(
            detect("The council met on Monday to discuss the budget.\nIt agreed."),
            None
        );
        assert!(!is_headline("Prices rose sharply in March."));
    }

    #[test]
    fn lone_paragraph_is_never_a_title() {
        assert_eq!(detect("Dockers strike over pay"), None);
    }

    #[test]
    fn headlines_may_end_in_question_marks_ellipses_quotes_and_abbreviations() {
        assert!(is_headline("Is the housing boom over?"));
        assert!(is_headline("'My memories of the final...'"));
        assert!(is_headline("'No deal' on fishing quotas"));
        assert!(is_headline("Trade talks stall with the U.S."));
        assert!(is_headline("Shares slide at Acme Corp."));
        assert!(!is_headline("Profits rose to $5bn in the US."));
    }

    #[test]
    fn one_word_minimum_is_allowed_without_panicking() {
        let cfg = TitleConfig {
            min_words: 1,
            ..TitleConfig::default()
        };
        assert!(looks_like_headline("By", &cfg));
        assert!(looks_like_headline("Crisis!", &cfg));
    }

    #[test]
    fn lowercase_brand_names_may_open_a_headline() {
        assert!(is_headline("iPhone sales slow in Europe"));
        assert!(!is_headline("and then the vote was held"));
    }

    #[test]
    fn long_or_single_word_lines_are_not_headlines() {
        assert!(!is_headline("Advertisement"));
        let long = "word ".repeat(25);
        assert!(!is_headline(long.trim()));
        let cfg = TitleConfig {
            max_chars: 10,
            ..TitleConfig::default()
        };
        assert!(!looks_like_headline("Dockers strike over pay", &cfg));
    }

    #[test]
    fn clause_ends_bylines_and_two_sentence_lines_are_not_headlines() {
        assert!(!is_headline("The minister said:"));
        assert!(!is_headline("Markets fell sharply on Monday,"));
        assert!(!is_headline("By Jane Doe"));
        assert!(!is_headline("(after extra time, 1-1 at 90 minutes)"));
        assert!(!is_headline("Police were called. Nobody was hurt"));
        assert!(!is_headline("Do you care? How much do you care?"));
        assert!(!is_headline("Saturday 20 November"));
        assert!(!is_headline("March 3, 2025"));
        assert!(!is_headline(
            "Officials plan to inspect Iranian oil tankers in the"
        ));
    }

    #[test]
    fn seed_first_line_is_a_sentence_not_a_title() {
        let seeds = corpus::seeds_raw();
        let (_, seed) = seeds
            .iter()
            .find(|(n, _)| n.starts_with("000_"))
            .expect("seed 000 present");
        assert_eq!(detect(seed), None);
    }

    #[test]
    fn seed_headlines_match_their_labels() {
        // Which seeds open with a headline, by reading them.
        let labels = [
            ("000_", false),
            ("001_", true),
            ("002_", true),
            ("003_", true),
            ("004_", true),
            ("005_", true),
            ("006_", true),
            ("007_", false),
        ];
        let seeds = corpus::seeds_raw();
        let mut right = 0;
        for (prefix, has_title) in labels {
            let (name, raw) = seeds.iter().find(|(n, _)| n.starts_with(prefix)).unwrap();
            let got = detect(raw);
            eprintln!("seed {name}: title {got:?}");
            assert_eq!(got.is_some(), has_title, "{name}");
            if let Some(t) = got {
                assert_eq!(
                    Some(t.as_str()),
                    raw.trim_start_matches('\u{FEFF}')
                        .lines()
                        .next()
                        .map(str::trim)
                );
            }
            right += 1;
        }
        eprintln!("seeds: {right}/{} titles decided right", labels.len());
    }

    #[test]
    fn bbc_headlines_are_detected_and_bodies_are_not_taken_for_them() {
        let Some(corpus) = corpus::bbc_raw() else {
            return;
        };
        let cfg = TitleConfig::default();
        let (mut hits, mut false_titles) = (0usize, 0usize);
        for (name, raw) in &corpus {
            let text = normalize(raw);
            match split_headline(&text, &cfg) {
                Some((_, rest)) => {
                    hits += 1;
                    // Without its headline, the article must not yield another.
                    if let Some((h2, _)) = split_headline(rest, &cfg) {
                        false_titles += 1;
                        eprintln!("body taken for a headline: {name}: {h2}");
                    }
                }
                None => eprintln!(
                    "headline missed: {name}: {}",
                    raw.lines().next().unwrap_or("")
                ),
            }
        }
        let n = corpus.len();
        eprintln!("BBC: {hits}/{n} headlines detected, {false_titles}/{n} bodies taken for one");
        assert!(hits * 1000 >= n * 995, "{hits}/{n}");
        assert!(false_titles * 100 <= n, "{false_titles}/{n}");
    }
}

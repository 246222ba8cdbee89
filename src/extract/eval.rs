//! The WCXB benchmark's scores, for `examples/html_eval.rs` and the test
//! that asserts the targets: word-level F1 of the body (bag of lowercased
//! `\w+` tokens), and title, date and author agreement.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// A word as the benchmark's Python scorer reads `\w+`: letters, numbers and
/// `_`. The regex crate's `\w` also takes combining marks and the
/// zero-width joiner, which split emoji and Indic words differently and
/// moved the dev-set mean by 0.0001.
#[allow(clippy::unwrap_used)] // a constant pattern
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\p{L}\p{N}_]+").unwrap());

fn bag(text: &str) -> HashMap<String, usize> {
    let mut bag = HashMap::new();
    for w in WORD.find_iter(&text.to_lowercase()) {
        *bag.entry(w.as_str().to_owned()).or_insert(0) += 1;
    }
    bag
}

/// Word-level F1 of `got` against `want`; 1 when both have no words.
pub fn word_f1(got: &str, want: &str) -> f64 {
    let (g, w) = (bag(got), bag(want));
    let (ng, nw): (usize, usize) = (g.values().sum(), w.values().sum());
    if ng == 0 || nw == 0 {
        return if ng == nw { 1.0 } else { 0.0 };
    }
    let common: usize = g
        .iter()
        .map(|(k, n)| (*n).min(w.get(k).copied().unwrap_or(0)))
        .sum();
    let (p, r) = (common as f64 / ng as f64, common as f64 / nw as f64);
    if common == 0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Lowercased `\w+` tokens joined by one space: how titles and authors are compared.
pub fn words(text: &str) -> String {
    WORD.find_iter(&text.to_lowercase())
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Titles agree when their words do.
pub fn title_matches(got: Option<&str>, want: &str) -> bool {
    got.is_some_and(|g| words(g) == words(want))
}

/// Dates agree on their first ten characters (`YYYY-MM-DD`).
pub fn date_matches(got: Option<&str>, want: &str) -> bool {
    let day = |s: &str| s.chars().take(10).collect::<String>();
    got.is_some_and(|g| day(g) == day(want))
}

/// An author is found when one of `got`, compared by its words, contains the
/// expected author or is contained in it.
pub fn author_matches(got: &[String], want: &str) -> bool {
    let want = words(want);
    !want.is_empty()
        && got
            .iter()
            .map(|g| words(g))
            .any(|g| !g.is_empty() && (g.contains(&want) || want.contains(&g)))
}

/// Totals over a set of pages.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Pages scored.
    pub pages: usize,
    /// Sum of body F1 over the pages.
    pub f1_sum: f64,
    /// Pages whose truth has a title, and those where it matched.
    pub titles: (usize, usize),
    /// Pages whose truth has a date, and those where it matched.
    pub dates: (usize, usize),
    /// Pages whose truth has an author, and those where one was found.
    pub authors: (usize, usize),
}

/// What one page should give.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// The article text.
    pub main_content: String,
    /// The headline, when known.
    pub title: Option<String>,
    /// The publication date, when known.
    pub publish_date: Option<String>,
    /// The author, when known.
    pub author: Option<String>,
}

fn ratio((n, hit): (usize, usize)) -> f64 {
    if n == 0 {
        1.0
    } else {
        hit as f64 / n as f64
    }
}

impl Scores {
    /// Score one page's output against its truth.
    pub fn add(&mut self, page: &super::Page, truth: &Truth) {
        self.pages += 1;
        self.f1_sum += word_f1(&page.text, &truth.main_content);
        let tally = |slot: &mut (usize, usize), want: Option<&str>, hit: &dyn Fn(&str) -> bool| {
            if let Some(w) = want.filter(|w| !w.trim().is_empty()) {
                slot.0 += 1;
                slot.1 += usize::from(hit(w));
            }
        };
        tally(&mut self.titles, truth.title.as_deref(), &|w| {
            title_matches(page.meta.title.as_deref(), w)
        });
        tally(&mut self.dates, truth.publish_date.as_deref(), &|w| {
            date_matches(page.meta.published.as_deref(), w)
        });
        tally(&mut self.authors, truth.author.as_deref(), &|w| {
            author_matches(&page.meta.authors, w)
        });
    }

    /// Mean body F1.
    pub fn body_f1(&self) -> f64 {
        if self.pages == 0 {
            0.0
        } else {
            self.f1_sum / self.pages as f64
        }
    }

    /// Share of titles matched.
    pub fn title(&self) -> f64 {
        ratio(self.titles)
    }

    /// Share of dates matched.
    pub fn date(&self) -> f64 {
        ratio(self.dates)
    }

    /// Share of authors found.
    pub fn author(&self) -> f64 {
        ratio(self.authors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_counts_repeated_words_as_a_bag() {
        assert_eq!(
            word_f1("a a b", "a b"),
            2.0 * 1.0 * (2.0 / 3.0) / (1.0 + 2.0 / 3.0)
        );
        assert_eq!(word_f1("The Cat.", "the cat"), 1.0);
        assert_eq!(word_f1("", "cat"), 0.0);
        assert_eq!(word_f1("dog", "cat"), 0.0);
    }

    #[test]
    fn titles_dates_and_authors_compare_as_the_benchmark_does() {
        assert!(title_matches(Some("Top 10: Trends!"), "top 10 trends"));
        assert!(!title_matches(
            Some("Top 10 Trends | Site"),
            "top 10 trends"
        ));
        assert!(date_matches(
            Some("2025-09-04T10:00:00+02:00"),
            "2025-09-04"
        ));
        assert!(!date_matches(None, "2025-09-04"));
        assert!(author_matches(&["By Andrew King".into()], "Andrew King"));
        assert!(author_matches(&["Andrew".into()], "Andrew King"));
        assert!(!author_matches(&["Staff".into()], "Andrew King"));
    }
}

//! Related links told by their shape rather than their label: a short line
//! of a label and a headline ("Don't miss: ...", "More on this story: ..."),
//! the short fragment a wrapped headline spills onto, and where in a line
//! a related link starts when it was run on after the text.

use crate::stage::title::{ends_like_sentence_or_clause, has_sentence_break};

/// A linked story's title: starts like a headline, does not end like a
/// sentence, and is not two sentences.
pub(super) fn is_link_text(s: &str) -> bool {
    let words: Vec<&str> = s.split_ascii_whitespace().collect();
    let Some(first) = words.first() else {
        return false;
    };
    let fragment = first.starts_with(char::is_lowercase) && !first.chars().any(char::is_uppercase);
    !fragment && !ends_like_sentence_or_clause(s) && !has_sentence_break(&words)
}

/// Small words a title-case headline leaves lowercase.
const SMALL_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "nor", "of", "to", "in", "on", "at", "by", "for", "from",
    "with", "as", "into", "over", "vs", "via", "per", "is", "are", "be",
];

/// Words up to which a wrapped tail of two words or more may be cased any
/// way ("Bafta glory", "to beer alternatives"): a fragment this short with
/// no closing punctuation after a link is the link's, not a sentence of the
/// story. A parenthesis or a number first ("(seeds in brackets)") is not.
const SHORT_FRAGMENT_WORDS: usize = 4;

/// The tail of a headline that wrapped: no sentence ending, and either
/// short, continuing lowercase ("as talks stall"), or in title case
/// ("Iranian Oil Tankers", small words aside, at least two in three words
/// capitalized).
pub(super) fn is_wrapped_tail(line: &str) -> bool {
    if ends_like_sentence_or_clause(line) {
        return false;
    }
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    if has_sentence_break(&words) {
        return false;
    }
    // A headline goes on with a word, a number or a quote; ": M McCurry"
    // is the story's own (a list, a hard-wrapped line).
    if !line.starts_with(|c: char| c.is_alphanumeric() || "'\"‘“".contains(c)) {
        return false;
    }
    let short =
        (2..=SHORT_FRAGMENT_WORDS).contains(&words.len()) && line.starts_with(char::is_alphabetic);
    if short || line.starts_with(char::is_lowercase) {
        return true;
    }
    let mut big = 0;
    let mut capped = 0;
    for w in words.iter().filter(|w| !SMALL_WORDS.contains(w)) {
        big += 1;
        let c = w
            .trim_start_matches(['\'', '"', '‘', '“', '('])
            .chars()
            .next();
        if c.is_some_and(|c| c.is_uppercase() || c.is_ascii_digit()) {
            capped += 1;
        }
    }
    big > 0 && capped * 3 >= big * 2
}

/// Most words of a label ("More on this story").
const LABEL_WORDS: usize = 4;
/// Fewest and most words of the headline after a label.
const HEADLINE_WORDS: (usize, usize) = (3, 16);
/// Separators between a label and its headline.
const SEPARATORS: &[&str] = &[": ", "; ", " | ", " » ", " › ", " > ", " – ", " — "];
/// Last words of a label that make it a speaker, not a label ("Mr Brown
/// said: ...").
const SPEECH: &[&str] = &[
    "said",
    "says",
    "told",
    "added",
    "asked",
    "warned",
    "wrote",
    "explained",
    "insisted",
    "replied",
    "admitted",
    "argued",
];

/// A related link by its shape: a short label (1 to 4 words, no digits,
/// the first word capitalized, no capital inside a word, or all capitals) then a
/// separator and a headline (3 to 16 words, few numbers, reading as a
/// title, not a sentence). "Don't miss: Port strike talks resume" is one;
/// "Result: Nadal 6-7 6-2 Roddick", "GoldenEye: Rogue Agent is out now"
/// (a name for a label) and "Mr Brown said: we will appeal" are not.
pub(super) fn is_label_headline(line: &str) -> bool {
    let Some((label, headline)) = SEPARATORS
        .iter()
        .filter_map(|sep| line.split_once(sep))
        .min_by_key(|(label, _)| label.len())
    else {
        return false;
    };
    is_label(label.trim()) && is_shaped_headline(headline.trim())
}

fn is_label(label: &str) -> bool {
    let words: Vec<&str> = label.split_whitespace().collect();
    if words.is_empty() || words.len() > LABEL_WORDS {
        return false;
    }
    if label.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let last = words[words.len() - 1].to_lowercase();
    if SPEECH.contains(&last.as_str()) {
        return false;
    }
    let all_caps = label.chars().any(char::is_alphabetic)
        && label
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase);
    if all_caps {
        return true;
    }
    // "Don't miss", "Related Story": the first word capitalized, no capital
    // inside a word ("GoldenEye" is a name).
    let inner_capital = |w: &&str| w.chars().skip(1).any(char::is_uppercase);
    words[0].starts_with(char::is_uppercase) && !words.iter().any(inner_capital)
}

fn is_shaped_headline(headline: &str) -> bool {
    let words: Vec<&str> = headline.split_whitespace().collect();
    let (lo, hi) = HEADLINE_WORDS;
    if words.len() < lo || words.len() > hi {
        return false;
    }
    let numeric = words
        .iter()
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .count();
    // A second separator makes a navigation bar or a list, not a link.
    numeric * 4 <= words.len()
        && !SEPARATORS.iter().any(|sep| headline.contains(sep))
        && is_link_text(headline)
}

/// Byte offsets in `line` where a run-on related link could start: after
/// a sentence's closing punctuation (and a closing quote) and a space.
pub(super) fn midline_cuts(line: &str) -> impl Iterator<Item = usize> + '_ {
    line.char_indices().filter_map(move |(i, c)| {
        if c != ' ' || i == 0 {
            return None;
        }
        let before = line[..i].trim_end_matches(['"', '\'', '”', '’', ')']);
        before
            .ends_with(['.', '!', '?'])
            .then_some(i + 1)
            .filter(|&j| j < line.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_no_rule_names_are_related_links_by_shape() {
        for line in [
            "Don't miss: Port Strike Talks Resume After Weekend",
            "Related Story: Why the harbour plan keeps slipping",
            "More on this story: Council backs the new bridge",
            "ALSO ON HARBOR: Ten Things to Know About the Budget",
            "Keep reading | The Quiet Rise of Night Trains",
        ] {
            assert!(is_label_headline(line), "{line}");
        }
    }

    #[test]
    fn sentences_results_and_names_with_colons_are_not_links() {
        for line in [
            "Result: Nadal 6-7 (6/8) 6-2 7-6 (8/6) 6-2 Roddick",
            "GoldenEye: Rogue Agent is out now",
            "Mr Brown said: we will appeal the ruling",
            "The minister was clear: the plan will go ahead.",
            "Wales: G Thomas, H Luscombe, T Shanklin, G Henson, S Williams.",
            "Note: two",
            "Home | News | Sport",
            "A note to readers: we are changing how comments work on the site this week and next month too",
        ] {
            assert!(!is_label_headline(line), "{line}");
        }
    }

    #[test]
    fn short_fragments_of_any_case_are_wrapped_tails() {
        for tail in ["to beer alternatives", "Bafta glory", "Iranian Oil Tankers"] {
            assert!(is_wrapped_tail(tail), "{tail}");
        }
        for not in [
            "(seeds in brackets)",
            ": M McCurry",
            "The bank cut rates.",
            "Shares rose on Monday after the bank cut its main rates again",
        ] {
            assert!(!is_wrapped_tail(not), "{not}");
        }
    }

    #[test]
    fn a_run_on_link_can_start_after_a_sentence() {
        let line =
            "Talks ended without a deal. \"We will return,\" she said. Also Read: Oil Climbs";
        let cuts: Vec<&str> = midline_cuts(line).map(|i| &line[i..]).collect();
        assert_eq!(
            cuts,
            [
                "\"We will return,\" she said. Also Read: Oil Climbs",
                "Also Read: Oil Climbs"
            ]
        );
    }
}

//! Document-level consistency after decoding.
//!
//! News names someone in full once ("Donald Trump") and then by surname
//! ("Trump"); organisations by name then acronym. This pass links each
//! short form the decoder gave the same label to its full form (recorded as
//! canonical), and adds the surnames the decoder missed entirely.
//!
//! It never overrides a label the decoder chose: the model already sees
//! earlier mentions' labels and the contexts of every mention
//! ([`super::history`], [`super::contexts`]), and forcing a surname's
//! label cost F1 on CoNLL `eng.testa` (mean over eight shuffling seeds
//! 0.9331 with relabelling, 0.9340 without; the same string is often a
//! person and a team or a place).

use std::collections::HashMap;
use std::ops::Range;

use super::hash::HashKeyMap;
use crate::record::Label;

/// An entity mention in token coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mention {
    pub range: Range<usize>,
    pub label: Label,
    /// Token range of the full form this mention abbreviates.
    pub full_form: Option<Range<usize>>,
}

fn starts_upper(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase)
}

/// Letters of an acronym ("NATO", "U.N.") in upper case, or `None`.
fn acronym_letters(w: &str) -> Option<String> {
    let letters: String = w.chars().filter(|c| *c != '.').collect();
    let ok = letters.chars().count() >= 2 && letters.chars().all(|c| c.is_ascii_uppercase());
    ok.then_some(letters)
}

/// Initials of the capitalized words of a multi-word name.
fn initials(words: &[&str]) -> String {
    words
        .iter()
        .filter(|w| starts_upper(w))
        .filter_map(|w| w.chars().next())
        .collect()
}

/// Make `chunks` (decoded `(range, label)` in text order) consistent across
/// the document. `lower` holds the folded-word hash of every token.
pub(crate) fn resolve(
    words: &[&str],
    lower: &[u64],
    sentences: &[Range<usize>],
    chunks: Vec<(Range<usize>, Label)>,
) -> Vec<Mention> {
    // No majority vote over repeated forms: measured on CoNLL testa it costs
    // F1 (the same string is often a team and a place, "England").
    let mut mentions: Vec<Mention> = chunks
        .into_iter()
        .map(|(range, label)| Mention {
            range,
            label,
            full_form: None,
        })
        .collect();

    // Full forms: multi-word people by surname, multi-word names by acronym.
    let mut surnames: HashKeyMap<Range<usize>> = HashKeyMap::default();
    let mut acronyms: HashMap<String, (Range<usize>, Label)> = HashMap::new();
    for m in &mentions {
        if m.range.len() < 2 {
            continue;
        }
        if m.label == Label::Per {
            surnames
                .entry(lower[m.range.end - 1])
                .or_insert_with(|| m.range.clone());
        } else {
            let init = initials(&words[m.range.clone()]);
            if init.len() >= 2 {
                acronyms
                    .entry(init)
                    .or_insert_with(|| (m.range.clone(), m.label));
            }
        }
    }
    if surnames.is_empty() && acronyms.is_empty() {
        return mentions;
    }
    for m in &mut mentions {
        if m.range.len() != 1 {
            continue;
        }
        let i = m.range.start;
        let full = match surnames.get(&lower[i]) {
            Some(full) => Some((full, Label::Per)),
            None => acronym_letters(words[i])
                .and_then(|a| acronyms.get(&a))
                .map(|(full, label)| (full, *label)),
        };
        if let Some((full, label)) = full {
            if label == m.label {
                m.full_form = Some(full.clone());
            }
        }
    }

    // Surnames the decoder missed entirely.
    if !surnames.is_empty() {
        let mut covered = vec![false; words.len()];
        for m in &mentions {
            covered[m.range.clone()].fill(true);
        }
        let mut added = Vec::new();
        for r in sentences {
            for i in r.clone() {
                if covered[i] || !starts_upper(words[i]) {
                    continue;
                }
                if let Some(full) = surnames.get(&lower[i]) {
                    added.push(Mention {
                        range: i..i + 1,
                        label: Label::Per,
                        full_form: Some(full.clone()),
                    });
                }
            }
        }
        if !added.is_empty() {
            mentions.extend(added);
            mentions.sort_by_key(|m| m.range.start);
        }
    }
    mentions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ner::hash::{fold_into, hash_bytes};

    fn run(text: &str, chunks: Vec<(Range<usize>, Label)>) -> Vec<Mention> {
        let words: Vec<&str> = text.split(' ').collect();
        let mut buf = String::new();
        let lower: Vec<u64> = words
            .iter()
            .map(|w| {
                fold_into(w, &mut buf);
                hash_bytes(buf.as_bytes())
            })
            .collect();
        let all = 0..words.len();
        let whole = std::slice::from_ref(&all);
        resolve(&words, &lower, whole, chunks)
    }

    #[test]
    fn surname_after_full_name_links_to_it_and_missed_ones_are_added() {
        // The second "Trump" was missed by the decoder.
        let m = run(
            "Donald Trump spoke . Trump left and Trump won",
            vec![(0..2, Label::Per), (4..5, Label::Per)],
        );
        assert_eq!(m.len(), 3);
        assert!(m.iter().all(|m| m.label == Label::Per));
        assert_eq!(m[1].full_form, Some(0..2));
        assert_eq!(m[2].range, 7..8);
        assert_eq!(m[2].full_form, Some(0..2));
        assert_eq!(m[0].full_form, None);
    }

    #[test]
    fn a_label_the_decoder_chose_is_kept() {
        // "Jordan" the country after "Michael Jordan": the decoder's LOC stands,
        // unlinked.
        let m = run(
            "Michael Jordan flew to Jordan",
            vec![(0..2, Label::Per), (4..5, Label::Loc)],
        );
        assert_eq!(m[1].label, Label::Loc);
        assert_eq!(m[1].full_form, None);
    }

    #[test]
    fn acronym_with_the_same_label_links_to_long_form() {
        let m = run(
            "the North Atlantic Treaty Organization and NATO or WHO",
            vec![(1..5, Label::Org), (6..7, Label::Org), (8..9, Label::Loc)],
        );
        assert_eq!(m[1].full_form, Some(1..5));
        assert_eq!(m[2].full_form, None);
        assert_eq!(m[2].label, Label::Loc);
    }

    #[test]
    fn lowercase_words_are_not_taken_as_surnames() {
        let m = run("Mary Bush said bush fires", vec![(0..2, Label::Per)]);
        assert_eq!(m.len(), 1);
    }
}

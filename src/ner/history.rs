//! Document-level evidence: what the tagger said about earlier mentions of
//! a word in the same article.
//!
//! Sentences are decoded in text order; after each one, every capitalized
//! token records the label it was given (or `O`) under its folded form. A
//! later capitalized token with recorded mentions gets a feature naming the
//! majority label and whether the mentions agreed, so "Clinton" alone in
//! sentence 9 leans on "Bill Clinton" in sentence 2, and a team named like a
//! place keeps its label through a match report. Training decodes the same
//! way with the weights of the moment, so the feature means the same thing
//! at training and at tagging time (Ratinov and Roth's prediction history).

use super::features::Case;
use super::model::tag_label;
use super::slots::SlotMap;
use crate::record::Label;

/// Number of distinct history values (see [`History::value`]), plus one:
/// [`NOT_YET`], the whole-document value during the first pass.
pub(crate) const HISTORY_VALUES: usize = 12;

/// Whole-document history value of the first pass, before any is known.
pub(crate) const NOT_YET: u64 = 11;

/// Label counts of earlier mentions, per folded word (by its slot: a small
/// integer naming the folded form, see [`super::slots`]).
#[derive(Debug, Default)]
pub(crate) struct History {
    /// `O`, then [`Label::ALL`] order.
    counts: SlotMap<[u16; 5]>,
    /// Whether anything was recorded since the last clear.
    any: bool,
}

/// Whether a token's casing makes it a candidate name.
#[inline]
fn capitalized(case: Case) -> bool {
    matches!(case, Case::InitCap | Case::AllCaps | Case::Mixed)
}

impl History {
    /// Forget the previous document.
    pub(crate) fn clear(&mut self) {
        self.counts.clear();
        self.any = false;
    }

    /// The feature value of a token: 0 when it is not capitalized or has no
    /// earlier mention, else `1 + 2 * majority + unanimous`, where
    /// `majority` is 0 for `O` and `1..=4` for the labels (ties to the
    /// lower index).
    #[inline]
    pub(crate) fn value(&self, slot: u32, case: Case) -> u64 {
        if !capitalized(case) || !self.any {
            return 0;
        }
        self.counts.get(slot).map_or(0, summarize)
    }

    /// [`History::value`] from every other mention: a history filled with
    /// the whole document, less the token's own recorded tag.
    #[inline]
    pub(crate) fn value_without(&self, slot: u32, case: Case, own: u8) -> u64 {
        if !capitalized(case) {
            return 0;
        }
        let Some(c) = self.counts.get(slot) else {
            return 0;
        };
        let mut c = *c;
        let k = slot_of_tag(own);
        c[k] = c[k].saturating_sub(1);
        summarize(&c)
    }

    /// Record a decoded sentence: `slot`, `case` and `tags` per token.
    pub(crate) fn record(&mut self, slot: &[u32], case: &[Case], tags: &[u8]) {
        for ((&l, &c), &t) in slot.iter().zip(case).zip(tags) {
            if capitalized(c) {
                let k = slot_of_tag(t);
                let e = self.counts.get_or_insert(l, [0; 5]);
                e[k] = e[k].saturating_add(1);
                self.any = true;
            }
        }
    }
}

/// Counts slot of a tag: 0 for `O`, `1..=4` for the labels.
fn slot_of_tag(t: u8) -> usize {
    tag_label(t).map_or(0, |label| 1 + label_slot(label))
}

/// `1 + 2 * majority + unanimous`, or 0 without mentions.
fn summarize(c: &[u16; 5]) -> u64 {
    let total: u32 = c.iter().map(|&v| u32::from(v)).sum();
    if total == 0 {
        return 0;
    }
    {
        let mut best = 0;
        for k in 1..5 {
            if c[k] > c[best] {
                best = k;
            }
        }
        1 + 2 * best as u64 + u64::from(total == u32::from(c[best]))
    }
}

fn label_slot(l: Label) -> usize {
    Label::ALL.iter().position(|x| *x == l).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ner::model::{begin, inside};

    #[test]
    fn earlier_mentions_vote_for_later_ones() {
        let mut h = History::default();
        assert_eq!(h.value(7, Case::InitCap), 0);
        // "Bill Clinton" as PER, then "Clinton" as PER again.
        h.record(
            &[6, 7],
            &[Case::InitCap, Case::InitCap],
            &[begin(Label::Per), inside(Label::Per)],
        );
        h.record(&[7], &[Case::InitCap], &[begin(Label::Per)]);
        // PER is slot 1, unanimous.
        assert_eq!(h.value(7, Case::InitCap), 1 + 2 + 1);
        assert_eq!(h.value(7, Case::AllCaps), 4);
        // Lower-case tokens neither record nor read history.
        assert_eq!(h.value(7, Case::Lower), 0);
        h.record(&[7], &[Case::InitCap], &[0]);
        h.record(&[7], &[Case::InitCap], &[0]);
        h.record(&[7], &[Case::InitCap], &[0]);
        // Now O leads 3 to 2, not unanimous.
        assert_eq!(h.value(7, Case::InitCap), 1);
        // Without one of its O mentions: O 2, PER 2, a tie to O.
        assert_eq!(h.value_without(7, Case::InitCap, 0), 1);
        // Without a PER mention: O 3, PER 1.
        assert_eq!(h.value_without(7, Case::InitCap, begin(Label::Per)), 1);
        h.clear();
        assert_eq!(h.value(7, Case::InitCap), 0);
        h.record(&[5], &[Case::InitCap], &[begin(Label::Org)]);
        // A single mention says nothing about itself.
        assert_eq!(h.value_without(5, Case::InitCap, begin(Label::Org)), 0);
    }
}

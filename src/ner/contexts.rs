//! Document-level evidence from where a word's other mentions stand
//! (Ratinov and Roth's context aggregation).
//!
//! A name the model never saw is hard to label from one sentence, but an
//! article tends to mention it several times, and its neighbours differ each
//! time: "Petofi 1 Comelf 0" in one line, "coach of Petofi" in another. Every
//! capitalized mention of a word (outside a line in capitals) lends the Brown
//! clusters of the words within two tokens of it to every *other* token of
//! the same folded word, as features `(offset, cluster)`. Clusters rather than
//! words, so a neighbour the model never saw still says something; other
//! mentions only, so a word mentioned once gets nothing that its own context
//! features do not already say.
//!
//! Unlike the prediction history ([`super::history`]) this looks at the
//! whole document at once and depends on no label, so training and tagging
//! compute it the same way before decoding. Only the first
//! [`MAX_MENTIONS`] mentions of a word lend, which bounds a token's features.

use std::ops::Range;

use super::features::Case;
use super::slots::SlotMap;

/// Offsets from a mention whose neighbours' clusters it lends.
const OFFSETS: [isize; 4] = [-2, -1, 1, 2];

/// Mentions of one word that lend their contexts (the first ones in text
/// order): a token gets at most `4 * MAX_MENTIONS` values.
pub(crate) const MAX_MENTIONS: u32 = 8;

/// Whether a token lends its context: a capitalized word outside a line in
/// capitals (where casing says nothing).
#[inline]
fn lends(case: Case, caps_line: bool) -> bool {
    matches!(case, Case::InitCap | Case::AllCaps | Case::Mixed) && !caps_line
}

/// The feature value of a neighbour's cluster at offset `d`.
#[inline]
fn value(d: isize, cluster: u32) -> u64 {
    // `d + 2` is in 0..=4: the offset in the high bits, the cluster (at most
    // 32 bits) in the low ones.
    ((d + 2) as u64) << 32 | u64::from(cluster)
}

/// The contexts of one document's mentions, grouped by folded word.
#[derive(Debug, Default)]
pub(crate) struct Contexts {
    /// `(slot, value, mention)` for every lent value, in text order.
    raw: Vec<(u32, u64, u32)>,
    /// `(value, mention)` grouped by word, each group sorted, so equal
    /// values stand next to each other.
    entries: Vec<(u64, u32)>,
    /// Per slot: its run in `entries`.
    runs: SlotMap<(u32, u32)>,
    /// The slots that lend, in order of first sight.
    order: Vec<u32>,
    /// Per slot: how many mentions lend.
    mentions: SlotMap<u32>,
    /// Per token: whether it lends.
    lender: Vec<bool>,
}

/// What the other mentions lend one token, as [`Contexts::share`] tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Share {
    /// Nothing: no mention of the word lends, or the token is the only one.
    Nothing,
    /// Every value lent to the word: the token lends none itself.
    All,
    /// Every value lent to the word except [`Contexts::only_from`] the token.
    AllButOwn,
}

impl Contexts {
    /// Collect the contexts of a document: per token its folded word's slot,
    /// casing and capitals-line flag; `cluster(j)` is token `j`'s Brown
    /// cluster (0 when unknown).
    pub(crate) fn build(
        &mut self,
        slot: &[u32],
        case: &[Case],
        caps_line: &[bool],
        cluster: impl Fn(usize) -> u32,
        sentences: &[Range<usize>],
    ) {
        self.raw.clear();
        self.runs.clear();
        self.order.clear();
        self.mentions.clear();
        self.lender.clear();
        self.lender
            .resize(sentences.last().map_or(0, |r| r.end), false);
        for r in sentences {
            for i in r.clone() {
                if !lends(case[i], caps_line[i]) {
                    continue;
                }
                let m = self.mentions.get_or_insert(slot[i], 0);
                if *m >= MAX_MENTIONS {
                    continue;
                }
                *m += 1;
                if let Some(l) = self.lender.get_mut(i) {
                    *l = true;
                }
                for d in OFFSETS {
                    let j = i as isize + d;
                    if j >= r.start as isize && j < r.end as isize {
                        let v = value(d, cluster(j as usize));
                        self.raw.push((slot[i], v, i as u32));
                    }
                }
            }
        }
        // Group by word with a counting pass instead of sorting the whole
        // document: a word's group holds at most `4 * MAX_MENTIONS` values.
        for &(s, _, _) in &self.raw {
            match self.runs.get(s) {
                Some(_) => self.runs.get_or_insert(s, (0, 0)).1 += 1,
                None => {
                    *self.runs.get_or_insert(s, (0, 0)) = (0, 1);
                    self.order.push(s);
                }
            }
        }
        let mut start = 0;
        for &s in &self.order {
            let run = self.runs.get_or_insert(s, (0, 0));
            let len = run.1;
            *run = (start, start);
            start += len;
        }
        self.entries.clear();
        self.entries.resize(self.raw.len(), (0, 0));
        for &(s, v, i) in &self.raw {
            let run = self.runs.get_or_insert(s, (0, 0));
            if let Some(e) = self.entries.get_mut(run.1 as usize) {
                *e = (v, i);
            }
            run.1 += 1;
        }
        for &s in &self.order {
            if let Some(&(a, b)) = self.runs.get(s) {
                if let Some(group) = self.entries.get_mut(a as usize..b as usize) {
                    group.sort_unstable();
                }
            }
        }
    }

    /// Each distinct value lent to word `slot`, with whether a mention other
    /// than token `i` lends it and whether token `i` does, in a fixed order.
    #[inline]
    fn each(&self, slot: u32, i: usize, mut f: impl FnMut(u64, bool, bool)) {
        let Some(&(a, b)) = self.runs.get(slot) else {
            return;
        };
        let run = self.entries.get(a as usize..b as usize).unwrap_or(&[]);
        let mut k = 0;
        while k < run.len() {
            let v = run[k].0;
            let (mut other, mut own) = (false, false);
            while k < run.len() && run[k].0 == v {
                if run[k].1 as usize == i {
                    own = true;
                } else {
                    other = true;
                }
                k += 1;
            }
            f(v, other, own);
        }
    }

    /// Calls `f` with each value the other mentions of token `i`'s word
    /// (`slot`) lend it, once each: its features.
    #[inline]
    pub(crate) fn lent(&self, slot: u32, i: usize, mut f: impl FnMut(u64)) {
        self.each(slot, i, |v, other, _| {
            if other {
                f(v)
            }
        });
    }

    /// What the other mentions of token `i`'s word (`slot`) lend it, without
    /// walking the word's values: lets a scorer that caches
    /// [`Contexts::all`] per word skip the tokens that get nothing (most
    /// capitalized words are mentioned once) and the subtraction for tokens
    /// that lend nothing themselves.
    #[inline]
    pub(crate) fn share(&self, slot: u32, i: usize) -> Share {
        let mentions = self.mentions.get(slot).copied().unwrap_or(0);
        let lends = self.lender.get(i).copied().unwrap_or(false);
        match (mentions, lends) {
            (0, _) | (1, true) => Share::Nothing,
            (_, false) => Share::All,
            (_, true) => Share::AllButOwn,
        }
    }

    /// Calls `f` with every distinct value lent to word `slot`.
    pub(crate) fn all(&self, slot: u32, mut f: impl FnMut(u64)) {
        self.each(slot, usize::MAX, |v, _, _| f(v));
    }

    /// Calls `f` with the values only token `i` lends to its word: what
    /// [`Contexts::all`] has and [`Contexts::lent`] does not.
    #[inline]
    pub(crate) fn only_from(&self, slot: u32, i: usize, mut f: impl FnMut(u64)) {
        self.each(slot, i, |v, other, own| {
            if own && !other {
                f(v)
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Case::{InitCap, Lower};

    /// Contexts of one sentence per slice; slots and clusters per token.
    fn build(tokens: &[(u32, Case, u32)], sentences: &[Range<usize>]) -> Contexts {
        let slot: Vec<u32> = tokens.iter().map(|t| t.0).collect();
        let case: Vec<Case> = tokens.iter().map(|t| t.1).collect();
        let caps = vec![false; tokens.len()];
        let mut c = Contexts::default();
        c.build(&slot, &case, &caps, |j| tokens[j].2, sentences);
        c
    }

    fn lent(c: &Contexts, slot: u32, i: usize) -> Vec<u64> {
        let mut v = Vec::new();
        c.lent(slot, i, |x| v.push(x));
        v
    }

    #[test]
    fn a_mention_gets_the_clusters_around_the_other_mentions_only() {
        // "coach of Petofi ." / "Petofi beat Comelf"
        let t = [
            (1, Lower, 11),
            (2, Lower, 12),
            (7, InitCap, 17),
            (3, Case::Punct, 13),
            (7, InitCap, 17),
            (4, Lower, 14),
            (8, InitCap, 18),
        ];
        let c = build(&t, &[0..4, 4..7]);
        // The first "Petofi" gets what stands after the second one.
        assert_eq!(lent(&c, 7, 2), vec![value(1, 14), value(2, 18)]);
        // The second gets what stands around the first (not past its sentence).
        assert_eq!(
            lent(&c, 7, 4),
            vec![value(-2, 11), value(-1, 12), value(1, 13)]
        );
        // A word mentioned once gets nothing.
        assert!(lent(&c, 8, 6).is_empty());
        assert_eq!(c.share(8, 6), Share::Nothing);
        // A lower-case token of a word mentioned capitalized gets everything.
        assert_eq!(lent(&c, 7, usize::MAX).len(), 5);
    }

    #[test]
    fn a_value_two_mentions_share_stays_and_lower_case_words_lend_nothing() {
        // "in Paris" twice, and "in paris" (lower case) once.
        let t = [
            (1, Lower, 11),
            (5, InitCap, 15),
            (1, Lower, 11),
            (5, InitCap, 15),
            (1, Lower, 11),
            (5, Lower, 15),
        ];
        let c = build(&t, &[0..2, 2..4, 4..6]);
        assert_eq!(lent(&c, 5, 1), vec![value(-1, 11)]);
        let mut only = Vec::new();
        c.only_from(5, 1, |v| only.push(v));
        assert!(only.is_empty(), "the other mention lends the same value");
        assert_eq!(
            c.share(1, 0),
            Share::Nothing,
            "lower-case words lend nothing"
        );
        assert_eq!(c.share(5, 1), Share::AllButOwn);
        assert_eq!(
            c.share(5, 5),
            Share::All,
            "a lower-case token lends nothing"
        );
    }

    #[test]
    fn all_is_lent_plus_only_from() {
        let t: Vec<(u32, Case, u32)> = (0..40u32)
            .map(|k| (k % 3, if k % 2 == 0 { InitCap } else { Lower }, k * 7 % 5))
            .collect();
        let c = build(&t, &[0..13, 13..29, 29..40]);
        for (i, tok) in t.iter().enumerate() {
            let (mut all, mut parts) = (Vec::new(), Vec::new());
            c.all(tok.0, |v| all.push(v));
            c.lent(tok.0, i, |v| parts.push(v));
            c.only_from(tok.0, i, |v| parts.push(v));
            parts.sort_unstable();
            assert_eq!(all, parts, "token {i}");
            // `share` agrees with what the walks find.
            let (mut lent, mut own) = (0, 0);
            c.lent(tok.0, i, |_| lent += 1);
            c.only_from(tok.0, i, |_| own += 1);
            match c.share(tok.0, i) {
                Share::Nothing => assert_eq!(lent, 0, "token {i}"),
                Share::All => assert_eq!(own, 0, "token {i}"),
                Share::AllButOwn => {}
            }
        }
    }

    #[test]
    fn only_the_first_mentions_lend() {
        // "X y" repeated: each mention lends its right neighbour's cluster.
        let mut t = Vec::new();
        let mut sentences = Vec::new();
        for k in 0..(MAX_MENTIONS + 3) {
            sentences.push(t.len()..t.len() + 2);
            t.push((9, InitCap, 0));
            t.push((k + 100, Lower, k + 100));
        }
        let c = build(&t, &sentences);
        let mut all = Vec::new();
        c.all(9, |v| all.push(v));
        assert_eq!(all.len(), MAX_MENTIONS as usize);
        assert_eq!(all.last(), Some(&value(1, MAX_MENTIONS + 99)));
    }
}

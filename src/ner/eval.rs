//! Evaluation as conlleval counts it: an entity is correct only when both its
//! token span and its label match the gold entity exactly.

use std::fmt;
use std::ops::Range;

use super::conll::chunks;
use crate::record::Label;

/// Counts for one label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Predicted entities that match a gold entity exactly.
    pub correct: usize,
    /// Predicted entities.
    pub predicted: usize,
    /// Gold entities.
    pub gold: usize,
}

impl Counts {
    /// Precision, 0 when nothing was predicted.
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }
    /// Recall, 0 when there is nothing to find.
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.gold)
    }
    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    fn add(&mut self, o: Counts) {
        self.correct += o.correct;
        self.predicted += o.predicted;
        self.gold += o.gold;
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Per-label and overall scores of a tagger on a CoNLL file.
/// `Display` prints a table; [`EvalReport::overall_f1`] is the headline figure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvalReport {
    /// Counts per label, in [`Label::ALL`] order.
    pub per_label: [Counts; 4],
    /// Tokens evaluated.
    pub tokens: usize,
}

impl EvalReport {
    /// Add one document's gold and predicted BIO tags.
    pub(crate) fn add(&mut self, gold: &[u8], pred: &[u8], sentences: &[Range<usize>]) {
        self.add_chunks(&chunks(gold, sentences), &chunks(pred, sentences));
        self.tokens += gold.len();
    }

    /// Add one document's gold and predicted entity chunks.
    pub(crate) fn add_chunks(
        &mut self,
        gold: &[(Range<usize>, Label)],
        pred: &[(Range<usize>, Label)],
    ) {
        self.add_chunks_where(gold, pred, |_| true);
    }

    /// [`EvalReport::add_chunks`] over the entities (gold and predicted)
    /// whose token range satisfies `keep`; an exact match has the same range,
    /// so it is kept or dropped with its gold entity.
    pub(crate) fn add_chunks_where(
        &mut self,
        gold: &[(Range<usize>, Label)],
        pred: &[(Range<usize>, Label)],
        keep: impl Fn(&Range<usize>) -> bool,
    ) {
        for (r, l) in gold {
            if keep(r) {
                self.per_label[idx(*l)].gold += 1;
            }
        }
        for (r, l) in pred {
            if !keep(r) {
                continue;
            }
            self.per_label[idx(*l)].predicted += 1;
            if gold.iter().any(|(gr, gl)| gr == r && gl == l) {
                self.per_label[idx(*l)].correct += 1;
            }
        }
    }

    /// Counts over all labels.
    pub fn overall(&self) -> Counts {
        let mut c = Counts::default();
        for l in &self.per_label {
            c.add(*l);
        }
        c
    }

    /// Overall F1 (micro-averaged over entities).
    pub fn overall_f1(&self) -> f64 {
        self.overall().f1()
    }
}

fn idx(l: Label) -> usize {
    Label::ALL.iter().position(|x| *x == l).unwrap_or(0)
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<8} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7}",
            "label", "precision", "recall", "f1", "gold", "found", "correct"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, c: &Counts| {
            writeln!(
                f,
                "{:<8} {:>9.4} {:>9.4} {:>9.4} {:>7} {:>7} {:>7}",
                name,
                c.precision(),
                c.recall(),
                c.f1(),
                c.gold,
                c.predicted,
                c.correct
            )
        };
        for (l, c) in Label::ALL.iter().zip(&self.per_label) {
            row(f, l.as_str(), c)?;
        }
        row(f, "overall", &self.overall())?;
        write!(f, "({} tokens)", self.tokens)
    }
}

/// Scores split by whether the tagger could have learned an entity's words:
/// `seen` entities have every word (case-folded) in the training file,
/// `unseen` ones at least one word that is not there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenSplit {
    /// Entities made only of words that occur in training.
    pub seen: EvalReport,
    /// Entities with at least one word that never occurs in training.
    pub unseen: EvalReport,
}

impl fmt::Display for SeenSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, u) = (self.seen.overall(), self.unseen.overall());
        writeln!(
            f,
            "entities by whether their words occur in the training file:"
        )?;
        writeln!(
            f,
            "{:<8} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7}",
            "", "precision", "recall", "f1", "gold", "found", "correct"
        )?;
        for (name, c) in [("seen", s), ("unseen", u)] {
            writeln!(
                f,
                "{:<8} {:>9.4} {:>9.4} {:>9.4} {:>7} {:>7} {:>7}",
                name,
                c.precision(),
                c.recall(),
                c.f1(),
                c.gold,
                c.predicted,
                c.correct
            )?;
        }
        write!(f, "unseen per label:")?;
        for (l, c) in Label::ALL.iter().zip(&self.unseen.per_label) {
            write!(f, " {} {:.4} ({})", l.as_str(), c.f1(), c.gold)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ner::model::{begin, inside};

    #[test]
    fn counts_exact_span_and_label_only() {
        let per = begin(Label::Per);
        let i_per = inside(Label::Per);
        let loc = begin(Label::Loc);
        // gold: [Peter Smith]PER in [Bonn]LOC ; pred: [Peter]PER Smith in [Bonn]LOC
        let gold = [per, i_per, 0, loc];
        let pred = [per, 0, 0, loc];
        let mut r = EvalReport::default();
        r.add(&gold, &pred, std::slice::from_ref(&(0..4)));
        let p = r.per_label[0];
        assert_eq!((p.correct, p.predicted, p.gold), (0, 1, 1));
        assert_eq!(r.per_label[2].correct, 1);
        assert!((r.overall().precision() - 0.5).abs() < 1e-9);
        assert!((r.overall_f1() - 0.5).abs() < 1e-9);
        let table = r.to_string();
        assert!(table.contains("overall") && table.contains("PER"));
    }

    #[test]
    fn split_keeps_an_exact_match_with_its_gold_entity() {
        let gold = [(0..2, Label::Per), (3..4, Label::Loc)];
        let pred = [(0..2, Label::Per), (3..4, Label::Org), (5..6, Label::Loc)];
        // Tokens 3 and up are "unseen".
        let mut split = SeenSplit::default();
        split.seen.add_chunks_where(&gold, &pred, |r| r.start < 3);
        split
            .unseen
            .add_chunks_where(&gold, &pred, |r| r.start >= 3);
        let (s, u) = (split.seen.overall(), split.unseen.overall());
        assert_eq!((s.correct, s.predicted, s.gold), (1, 1, 1));
        assert_eq!((u.correct, u.predicted, u.gold), (0, 2, 1));
        assert!(split.to_string().contains("unseen"));
    }
}

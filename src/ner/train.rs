//! Training: an averaged structured perceptron over the hashed features,
//! decoded with the same BIO-constrained Viterbi as at run time.
//!
//! Deterministic: sentence order comes from a seeded generator, float
//! operations happen in a fixed order, and the encoder writes rows sorted by
//! feature id, so the same inputs give the same model bytes.

use std::path::Path;

use super::conll::{self, Doc};
use super::eval::EvalReport;
use super::features::{extract, Features, Scratch};
use super::gazetteer::Gazetteer;
use super::model::{allowed, encode, DenseWeights, Model, Viterbi, NTAGS};
use crate::error::Error;

/// Training settings. The defaults are the ones the shipped model was built with.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Passes over the training data. With a dev file, the best pass by dev F1
    /// (up to this many) is kept.
    pub epochs: usize,
    /// Feature table size as a power of two.
    pub bits: u32,
    /// Seed of the sentence shuffling.
    pub seed: u64,
    /// Features whose every quantized weight is below this are dropped.
    pub prune: i16,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 15,
            bits: 20,
            seed: 0x6E65_7773,
            prune: 8,
        }
    }
}

/// Progress of one training epoch, reported to the caller's callback.
#[derive(Debug, Clone)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Training sentences whose decoded tags differed from gold.
    pub mistakes: usize,
    /// Dev-set evaluation of the averaged weights, when a dev file was given.
    pub dev: Option<EvalReport>,
}

/// Features of a document, extracted once and reused every epoch.
struct Prepared {
    doc: Doc,
    feats: Features,
}

fn prepare(gaz: &Gazetteer, bits: u32, docs: Vec<Doc>) -> Vec<Prepared> {
    let mut scratch = Scratch::default();
    docs.into_iter()
        .map(|doc| {
            let mut feats = Features::default();
            extract(
                gaz,
                bits,
                &doc.word_refs(),
                &doc.sentences,
                &mut scratch,
                &mut feats,
            );
            Prepared { doc, feats }
        })
        .collect()
}

/// xorshift64*: a tiny, stable generator so shuffles never change with a
/// dependency upgrade.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Perceptron state: current weights and the running sums used for averaging.
struct Perceptron {
    bits: u32,
    w: Vec<f32>,
    acc: Vec<f32>,
    start: [f32; NTAGS],
    start_acc: [f32; NTAGS],
    trans: [[f32; NTAGS]; NTAGS],
    trans_acc: [[f32; NTAGS]; NTAGS],
    /// Number of updates steps so far (sentences seen).
    c: f32,
}

impl Perceptron {
    fn new(bits: u32) -> Self {
        let n = (1usize << bits) * NTAGS;
        Perceptron {
            bits,
            w: vec![0.0; n],
            acc: vec![0.0; n],
            start: [0.0; NTAGS],
            start_acc: [0.0; NTAGS],
            trans: [[0.0; NTAGS]; NTAGS],
            trans_acc: [[0.0; NTAGS]; NTAGS],
            c: 1.0,
        }
    }

    fn emit(&self, feats: &[u32], out: &mut [f32; NTAGS]) {
        *out = [0.0; NTAGS];
        for &f in feats {
            let row = &self.w[f as usize * NTAGS..][..NTAGS];
            for (o, w) in out.iter_mut().zip(row) {
                *o += w;
            }
        }
    }

    fn bump_feats(&mut self, feats: &[u32], tag: u8, d: f32) {
        let cd = self.c * d;
        for &f in feats {
            let k = f as usize * NTAGS + usize::from(tag);
            self.w[k] += d;
            self.acc[k] += cd;
        }
    }

    fn bump_trans(&mut self, prev: Option<u8>, cur: u8, d: f32) {
        let cd = self.c * d;
        let cur = usize::from(cur);
        match prev {
            None => {
                self.start[cur] += d;
                self.start_acc[cur] += cd;
            }
            Some(p) => {
                self.trans[usize::from(p)][cur] += d;
                self.trans_acc[usize::from(p)][cur] += cd;
            }
        }
    }

    /// Averaged weights, encoded as model bytes.
    fn averaged(&self, prune: i16) -> Vec<u8> {
        let avg = |w: f32, a: f32| w - a / self.c;
        let emit: Vec<f32> = self
            .w
            .iter()
            .zip(&self.acc)
            .map(|(w, a)| avg(*w, *a))
            .collect();
        let mut start = [0f32; NTAGS];
        let mut trans = [[0f32; NTAGS]; NTAGS];
        for (t, row) in trans.iter_mut().enumerate() {
            start[t] = avg(self.start[t], self.start_acc[t]);
            for (u, v) in row.iter_mut().enumerate() {
                *v = avg(self.trans[t][u], self.trans_acc[t][u]);
            }
        }
        encode(
            &DenseWeights {
                bits: self.bits,
                emit: &emit,
                start: &start,
                trans: &trans,
            },
            prune,
        )
    }
}

/// Train a model on a CoNLL file; with `dev`, keep the epoch with the best
/// dev F1. Calls `progress` after every epoch. Returns the model bytes.
pub fn train(
    train: &Path,
    dev: Option<&Path>,
    opts: &TrainOptions,
    mut progress: impl FnMut(&EpochReport),
) -> Result<Vec<u8>, Error> {
    let gaz = super::builtin_gazetteer()?;
    let train_docs = prepare(&gaz, opts.bits, conll::read(train)?);
    let dev_docs = match dev {
        Some(p) => Some(prepare(&gaz, opts.bits, conll::read(p)?)),
        None => None,
    };
    let mut order: Vec<(usize, usize)> = Vec::new();
    for (d, p) in train_docs.iter().enumerate() {
        for s in 0..p.doc.sentences.len() {
            order.push((d, s));
        }
    }
    let mut rng = Rng(opts.seed | 1);
    let mut p = Perceptron::new(opts.bits);
    let mut viterbi = Viterbi::default();
    let mut emit: Vec<[f32; NTAGS]> = Vec::new();
    let mut pred: Vec<u8> = Vec::new();
    let mut best: Option<(f64, Vec<u8>)> = None;
    for epoch in 1..=opts.epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut mistakes = 0;
        for &(d, s) in &order {
            let prep = &train_docs[d];
            let range = prep.doc.sentences[s].clone();
            emit.clear();
            for i in range.clone() {
                let mut e = [0f32; NTAGS];
                p.emit(prep.feats.of(i), &mut e);
                emit.push(e);
            }
            viterbi.decode(&emit, &p.start, &p.trans, &mut pred);
            let gold = &prep.doc.gold[range.clone()];
            if pred != gold {
                mistakes += 1;
                for (k, i) in range.clone().enumerate() {
                    let (g, q) = (gold[k], pred[k]);
                    let (gp, qp) = if k == 0 {
                        (None, None)
                    } else {
                        (Some(gold[k - 1]), Some(pred[k - 1]))
                    };
                    if g != q {
                        p.bump_feats(prep.feats.of(i), g, 1.0);
                        p.bump_feats(prep.feats.of(i), q, -1.0);
                    }
                    if g != q || gp != qp {
                        debug_assert!(allowed(gp, g));
                        p.bump_trans(gp, g, 1.0);
                        p.bump_trans(qp, q, -1.0);
                    }
                }
            }
            p.c += 1.0;
        }
        let report_dev = match &dev_docs {
            Some(docs) => {
                let bytes = p.averaged(opts.prune);
                let model = Model::decode(&bytes)?;
                let report = evaluate_prepared(&model, docs);
                let f1 = report.overall_f1();
                if !matches!(&best, Some((b, _)) if *b >= f1) {
                    best = Some((f1, bytes));
                }
                Some(report)
            }
            None => None,
        };
        progress(&EpochReport {
            epoch,
            mistakes,
            dev: report_dev,
        });
    }
    Ok(match best {
        Some((_, bytes)) => bytes,
        None => p.averaged(opts.prune),
    })
}

fn evaluate_prepared(model: &Model, docs: &[Prepared]) -> EvalReport {
    let mut report = EvalReport::default();
    let mut viterbi = Viterbi::default();
    let mut tags = Vec::new();
    for p in docs {
        super::decode_features(model, &p.feats, &p.doc.sentences, &mut viterbi, &mut tags);
        report.add(&p.doc.gold, &tags, &p.doc.sentences);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_generator_is_stable() {
        let mut r = Rng(42 | 1);
        let a: Vec<u64> = (0..3).map(|_| r.next()).collect();
        let mut r = Rng(42 | 1);
        let b: Vec<u64> = (0..3).map(|_| r.next()).collect();
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn perceptron_learns_and_training_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.conll");
        let mut text = String::from("-DOCSTART- -X- O O\n\n");
        for (a, b) in [
            ("Alice", "Paris"),
            ("Bob", "Rome"),
            ("Carol", "Oslo"),
            ("Dave", "Lima"),
        ] {
            text.push_str(&format!(
                "{a} NNP I-NP I-PER\nvisited VBD I-VP O\n{b} NNP I-NP I-LOC\n. . O O\n\n"
            ));
        }
        std::fs::write(&path, text).unwrap();
        let opts = TrainOptions {
            epochs: 5,
            bits: 14,
            prune: 1,
            ..TrainOptions::default()
        };
        let mut last = usize::MAX;
        let a = train(&path, Some(&path), &opts, |r| last = r.mistakes).unwrap();
        let b = train(&path, None, &opts, |_| {}).unwrap();
        assert_eq!(last, 0, "training data should be learned");
        let c = train(&path, None, &opts, |_| {}).unwrap();
        assert_eq!(b, c, "same inputs, same bytes");
        assert!(Model::decode(&a).is_ok());
    }
}

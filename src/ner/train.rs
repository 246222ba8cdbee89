//! Training: a linear-chain CRF fitted by SGD ([`super::crf`]), or the
//! averaged structured perceptron of earlier models, over the hashed
//! features; both decode with the same BIO-constrained Viterbi as at run time.
//!
//! Documents are visited in a shuffled order and their sentences in text
//! order, so the document-history feature ([`super::history`]) sees the
//! current weights' labels of earlier sentences, as it will when tagging.
//!
//! Deterministic: document order comes from a seeded generator, float
//! operations happen in a fixed order, and the encoder writes rows sorted by
//! feature id (and the lexicon sorted by key), so the same inputs give the
//! same model bytes.

use std::path::{Path, PathBuf};

use super::conll::{self, Doc};
use super::crf::{Crf, CrfOptions};
use super::eval::EvalReport;
use super::features::{doc_history_fid, extract, history_fid, Features, Scratch};
use super::gazetteer::Gazetteer;
use super::history::{History, NOT_YET};
use super::lexicon::Lexicon;
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
    /// Directory with `en_lexeme_cluster.json.gz` and `en_lexeme_prob.json.gz`
    /// (spacy-lookups-data 1.0.5); `None` trains without word classes.
    pub lexicon: Option<PathBuf>,
    /// Decode twice, the second time with the first pass's labels of every
    /// other mention in the document. On by default: with the CRF it scores
    /// higher on eng.testa (mean over eight shuffling seeds 0.9348 against
    /// 0.9340), for a second Viterbi pass at tagging time. (The averaged
    /// perceptron scored lower with it, 0.925 against 0.931.)
    pub two_pass: bool,
    /// Which learner fits the weights.
    pub learner: Learner,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 20,
            bits: 20,
            seed: 0x6E65_7773,
            prune: 128,
            lexicon: None,
            two_pass: true,
            learner: Learner::Crf(CrfOptions::default()),
        }
    }
}

/// How the weights are fitted. Both decode with the same constrained Viterbi,
/// so a model file does not say which one made it.
#[derive(Debug, Clone, Copy)]
pub enum Learner {
    /// A linear-chain CRF by SGD with an L2 penalty ([`super::crf`]): the
    /// shipped model. Over eight shuffling seeds on eng.testa, with the
    /// features of the time and one pass, it averaged 0.932 F1 where the
    /// perceptron averaged 0.929, with a narrower spread.
    Crf(CrfOptions),
    /// The averaged structured perceptron the models before it used.
    Perceptron,
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

fn prepare(gaz: &Gazetteer, lex: &Lexicon, bits: u32, docs: Vec<Doc>) -> Vec<Prepared> {
    let mut scratch = Scratch::default();
    docs.into_iter()
        .map(|doc| {
            let mut feats = Features::default();
            extract(
                gaz,
                lex,
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

/// Reused decoding buffers.
#[derive(Default)]
struct Buffers {
    viterbi: Viterbi,
    emit: Vec<[f32; NTAGS]>,
    pred: Vec<u8>,
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

/// What decoding a training sentence needs from a learner's current weights.
trait Scores {
    /// Emission scores of one token from its feature ids, summed in order.
    fn emit(&self, ids: impl Iterator<Item = u32>, out: &mut [f32; NTAGS]);
    fn start(&self) -> &[f32; NTAGS];
    fn trans(&self) -> &[[f32; NTAGS]; NTAGS];
}

/// One training sentence.
struct Sentence<'a> {
    /// The features of its document.
    f: &'a Features,
    /// Its tokens in the document.
    range: std::ops::Range<usize>,
    gold: &'a [u8],
    /// Per kind of history feature, one id per token of the sentence.
    extra: &'a [Vec<u32>],
}

impl Sentence<'_> {
    /// Feature ids of the sentence's `k`-th token: its own, then its history ids.
    fn ids(&self, k: usize) -> impl Iterator<Item = u32> + '_ {
        let own = self.f.of(self.range.start + k).iter().copied();
        own.chain(self.extra.iter().map(move |x| x[k]))
    }
}

/// Emission scores of sentence `s` into `buf.emit`, and its best tags into
/// `buf.pred`.
fn decode_sentence(l: &impl Scores, s: &Sentence<'_>, buf: &mut Buffers) {
    buf.emit.clear();
    for k in 0..s.range.len() {
        let mut e = [0f32; NTAGS];
        l.emit(s.ids(k), &mut e);
        buf.emit.push(e);
    }
    buf.viterbi
        .decode(&buf.emit, l.start(), l.trans(), &mut buf.pred);
}

impl Scores for Perceptron {
    fn emit(&self, ids: impl Iterator<Item = u32>, out: &mut [f32; NTAGS]) {
        *out = [0.0; NTAGS];
        for f in ids {
            let row = &self.w[f as usize * NTAGS..][..NTAGS];
            for (o, w) in out.iter_mut().zip(row) {
                *o += w;
            }
        }
    }
    fn start(&self) -> &[f32; NTAGS] {
        &self.start
    }
    fn trans(&self) -> &[[f32; NTAGS]; NTAGS] {
        &self.trans
    }
}

impl Scores for Crf {
    fn emit(&self, ids: impl Iterator<Item = u32>, out: &mut [f32; NTAGS]) {
        Crf::emit(self, ids, out);
    }
    fn start(&self) -> &[f32; NTAGS] {
        &self.start
    }
    fn trans(&self) -> &[[f32; NTAGS]; NTAGS] {
        &self.trans
    }
}

/// Averaged perceptron state: current weights and the running sums used for averaging.
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

    /// Decode sentence `s` and update towards its gold tags if it came out
    /// wrong. Leaves the decoded tags in `buf.pred`; returns whether they
    /// were wrong.
    fn learn(&mut self, s: &Sentence<'_>, buf: &mut Buffers) -> bool {
        decode_sentence(self, s, buf);
        let (f, gold, extra) = (s.f, s.gold, s.extra);
        let pred = &buf.pred;
        if pred == gold {
            return false;
        }
        for (k, i) in s.range.clone().enumerate() {
            let (g, q) = (gold[k], pred[k]);
            let (gp, qp) = if k == 0 {
                (None, None)
            } else {
                (Some(gold[k - 1]), Some(pred[k - 1]))
            };
            if g != q {
                self.bump_feats(f.of(i), g, 1.0);
                self.bump_feats(f.of(i), q, -1.0);
                for x in extra {
                    let h = std::slice::from_ref(&x[k]);
                    self.bump_feats(h, g, 1.0);
                    self.bump_feats(h, q, -1.0);
                }
            }
            if g != q || gp != qp {
                debug_assert!(allowed(gp, g));
                self.bump_trans(gp, g, 1.0);
                self.bump_trans(qp, q, -1.0);
            }
        }
        true
    }

    /// Averaged weights, encoded as model bytes.
    fn averaged(&self, prune: i16, lexicon: &Lexicon, two_pass: bool) -> Vec<u8> {
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
                lexicon,
                two_pass,
            },
            prune,
        )
    }
}

/// Decode a sentence with the CRF's current weights (into `buf.pred`, for
/// the history of later sentences) and take one SGD step on it.
fn crf_learn(crf: &mut Crf, s: &Sentence<'_>, buf: &mut Buffers) -> bool {
    decode_sentence(crf, s, buf);
    crf.step(&buf.emit, |k, cb| s.ids(k).for_each(&mut *cb), s.gold);
    buf.pred != s.gold
}

/// The learner being trained (one per run, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Fit {
    Crf(Crf),
    Perceptron(Perceptron),
}

impl Fit {
    /// Learn from one sentence; leaves its decoded tags in `buf.pred` and
    /// returns whether they were wrong.
    fn learn(&mut self, s: &Sentence<'_>, buf: &mut Buffers) -> bool {
        match self {
            Fit::Crf(c) => crf_learn(c, s, buf),
            Fit::Perceptron(p) => {
                let wrong = p.learn(s, buf);
                p.c += 1.0;
                wrong
            }
        }
    }

    /// The model bytes of the weights so far.
    fn model(&self, opts: &TrainOptions, lexicon: &Lexicon) -> Vec<u8> {
        match self {
            Fit::Crf(c) => crf_model(c, opts, lexicon),
            Fit::Perceptron(p) => p.averaged(opts.prune, lexicon, opts.two_pass),
        }
    }
}

fn crf_model(crf: &Crf, opts: &TrainOptions, lexicon: &Lexicon) -> Vec<u8> {
    let (emit, start, trans) = crf.weights();
    encode(
        &DenseWeights {
            bits: opts.bits,
            emit: &emit,
            start: &start,
            trans: &trans,
            lexicon,
            two_pass: opts.two_pass,
        },
        opts.prune,
    )
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
    let lex = match &opts.lexicon {
        Some(dir) => Lexicon::from_dir(dir)?,
        None => Lexicon::default(),
    };
    let train_docs = prepare(&gaz, &lex, opts.bits, conll::read(train)?);
    let dev_docs = match dev {
        Some(p) => Some(prepare(&gaz, &lex, opts.bits, conll::read(p)?)),
        None => None,
    };
    let mut order: Vec<usize> = (0..train_docs.len()).collect();
    let mut rng = Rng(opts.seed | 1);
    let nsent: usize = train_docs.iter().map(|d| d.doc.sentences.len()).sum();
    let mut fit = match opts.learner {
        Learner::Crf(o) => Fit::Crf(Crf::new(opts.bits, nsent, o)),
        Learner::Perceptron => Fit::Perceptron(Perceptron::new(opts.bits)),
    };
    let shift = 64 - opts.bits;
    let mut buf = Buffers::default();
    let mut history = History::default();
    // Per token of a sentence: the history feature ids.
    let mut extra: Vec<Vec<u32>> = Vec::new();
    let mut fwd: Vec<u64> = Vec::new();
    let mut first: Vec<u8> = Vec::new();
    let mut best: Option<(f64, Vec<u8>)> = None;
    for epoch in 1..=opts.epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut mistakes = 0;
        let nextra = 1 + usize::from(opts.two_pass);
        extra.resize(nextra, Vec::new());
        for &d in &order {
            let prep = &train_docs[d];
            let f = &prep.feats;
            history.clear();
            fwd.clear();
            first.clear();
            // First pass: earlier mentions only, as at tagging time.
            for range in &prep.doc.sentences {
                extra.iter_mut().for_each(Vec::clear);
                for i in range.clone() {
                    let h = history.value(f.slot[i], f.case[i]);
                    fwd.push(h);
                    extra[0].push(history_fid(h, f.case[i], shift));
                    if opts.two_pass {
                        extra[1].push(doc_history_fid(NOT_YET, f.case[i], shift));
                    }
                }
                let s = Sentence {
                    f,
                    range: range.clone(),
                    gold: &prep.doc.gold[range.clone()],
                    extra: &extra,
                };
                mistakes += usize::from(fit.learn(&s, &mut buf));
                history.record(&f.slot[range.clone()], &f.case[range.clone()], &buf.pred);
                first.extend_from_slice(&buf.pred);
            }
            if !opts.two_pass {
                continue;
            }
            // Second pass: every other mention's first-pass label.
            for range in &prep.doc.sentences {
                extra.iter_mut().for_each(Vec::clear);
                for i in range.clone() {
                    let case = f.case[i];
                    let dv = history.value_without(f.slot[i], case, first[i]);
                    extra[0].push(history_fid(fwd[i], case, shift));
                    extra[1].push(doc_history_fid(dv, case, shift));
                }
                let s = Sentence {
                    f,
                    range: range.clone(),
                    gold: &prep.doc.gold[range.clone()],
                    extra: &extra,
                };
                fit.learn(&s, &mut buf);
            }
        }
        let report_dev = match &dev_docs {
            Some(docs) => {
                let bytes = fit.model(opts, &lex);
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
        None => fit.model(opts, &lex),
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
    fn both_learners_learn_and_training_is_deterministic() {
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
        let mut models = Vec::new();
        for learner in [Learner::Crf(CrfOptions::default()), Learner::Perceptron] {
            let opts = TrainOptions {
                epochs: 8,
                bits: 14,
                prune: 1,
                learner,
                ..TrainOptions::default()
            };
            let mut last = usize::MAX;
            let a = train(&path, Some(&path), &opts, |r| last = r.mistakes).unwrap();
            let b = train(&path, None, &opts, |_| {}).unwrap();
            assert_eq!(last, 0, "{learner:?}: training data should be learned");
            let c = train(&path, None, &opts, |_| {}).unwrap();
            assert_eq!(b, c, "{learner:?}: same inputs, same bytes");
            assert!(Model::decode(&a).is_ok());
            models.push(b);
        }
        assert_ne!(models[0], models[1], "the learners differ");
    }
}

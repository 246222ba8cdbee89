//! Named-entity tagging: PER, ORG, LOC, MISC spans over article text.
//!
//! A BIO sequence tagger (linear-chain CRF, see [`crf`]; Viterbi decoding)
//! over hashed word, shape, affix, character-trigram, context, word-class (Brown clusters
//! learned from large unlabeled text, see [`lexicon`]), gazetteer and
//! document features, trained on CoNLL-2003 English. The model
//! (`models/tagger.bin`, with its word classes) and the gazetteer
//! (`models/gazetteer.tsv`) are compiled into the binary.
//!
//! Two kinds of evidence cross sentences: every token of a word sees the
//! word classes around the word's other capitalized mentions ([`contexts`]),
//! and sentences are decoded in order, each seeing the labels given to
//! earlier mentions of its words ([`history`]); a two-pass model (the
//! shipped one) then decodes the document again, each word seeing the first
//! pass's labels of its other mentions. After decoding, a document pass
//! links mentions: a surname or acronym seen after its full form, with the
//! same label, gets a `canonical` field; a missed surname is added; places
//! the gazetteer knows get a GeoNames id.
//!
//! Each worker thread keeps its buffers and a cache of per-word-type scores
//! (thread-local, bounded, tied to one [`Tagger`]) across articles, since
//! news repeats its vocabulary; the output is the same with or without it.
//!
//! Pure: no I/O beyond parsing a model from bytes (and reading CoNLL files in
//! [`train`] and [`evaluate`]), no async.

mod conll;
mod consistency;
mod contexts;
mod crf;
mod eval;
mod features;
mod gazetteer;
mod hash;
mod history;
mod lexicon;
mod model;
mod slots;
mod tokenize;
mod train;

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

pub use crf::CrfOptions;
pub use eval::{Counts, EvalReport, SeenSplit};
pub use tokenize::{tokenize, Token};
pub use train::{train, EpochReport, Learner, TrainOptions};

use crate::error::Error;
use crate::record::{Entity, Label};
use consistency::Mention;
use features::{doc_history_fid, history_fid, score, Acc, Features, Scratch, TypeCache};
use gazetteer::Gazetteer;
use history::{History, NOT_YET};
use model::{Model, Viterbi, NTAGS};

/// The shipped model, built by `newspipe train-tagger` (see the README).
static MODEL: &[u8] = include_bytes!("../../models/tagger.bin");
/// The shipped gazetteer, built by `scripts/build_gazetteer.py`.
static GAZETTEER: &str = include_str!("../../models/gazetteer.tsv");

/// Parse the gazetteer compiled into the binary.
pub(crate) fn builtin_gazetteer() -> Result<Gazetteer, Error> {
    Gazetteer::parse(GAZETTEER)
}

/// A loaded entity tagger. Immutable after loading, so one instance can be
/// shared by every worker thread.
#[derive(Debug)]
pub struct Tagger {
    model: Model,
    gaz: Gazetteer,
    /// Distinguishes taggers in the per-thread word-type cache.
    id: u64,
}

/// Source of [`Tagger`] ids (0 is never handed out, so it marks an empty cache).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Buffers and the word-type cache of one worker thread, reused across
/// articles: news repeats its vocabulary, so most tokens hit the cache.
#[derive(Debug, Default)]
struct Worker {
    scratch: Scratch,
    cache: TypeCache,
    acc: Vec<Acc>,
    emit: Vec<[f32; NTAGS]>,
    history: History,
    /// First-pass tags of a two-pass model.
    first: Vec<u8>,
    /// Per token: its earlier-mentions history value in the first pass.
    fwd: Vec<u64>,
    viterbi: Viterbi,
    sent_tags: Vec<u8>,
    tags: Vec<u8>,
}

thread_local! {
    static WORKER: RefCell<Worker> = RefCell::new(Worker::default());
    /// Token buffers reused by [`Tagger::tag_article`] (title and body).
    static TOKEN_BUFS: Cell<Vec<Vec<Token>>> = const { Cell::new(Vec::new()) };
}

/// Run `f` with this thread's worker state (a fresh one if it is in use).
fn with_worker<R>(f: impl FnOnce(&mut Worker) -> R) -> R {
    WORKER.with(|w| match w.try_borrow_mut() {
        Ok(mut w) => f(&mut w),
        Err(_) => f(&mut Worker::default()),
    })
}

/// Decode every sentence of a document from its extracted features, in
/// order, with the document history, and with a second pass over the
/// whole-document history when the model asks for it (the reference for
/// [`Tagger`]'s path).
pub(crate) fn decode_features(
    model: &Model,
    feats: &Features,
    sentences: &[Range<usize>],
    viterbi: &mut Viterbi,
    tags: &mut Vec<u8>,
) {
    let shift = 64 - model.bits;
    let mut history = History::default();
    let mut emit: Vec<[f32; NTAGS]> = Vec::with_capacity(64);
    let mut sent_tags = Vec::with_capacity(64);
    let mut fwd = Vec::with_capacity(feats.lower.len());
    let base = |i: usize| {
        let mut acc = [0i32; NTAGS];
        for &f in feats.of(i) {
            model.add(f, &mut acc);
        }
        acc
    };
    tags.clear();
    for r in sentences {
        emit.clear();
        for i in r.clone() {
            let mut acc = base(i);
            let h = history.value(feats.slot[i], feats.case[i]);
            fwd.push(h);
            model.add(history_fid(h, feats.case[i], shift), &mut acc);
            if model.two_pass {
                model.add(doc_history_fid(NOT_YET, feats.case[i], shift), &mut acc);
            }
            let mut e = [0f32; NTAGS];
            model.scale(&acc, &mut e);
            emit.push(e);
        }
        viterbi.decode_folded(&emit, &model.folded, &mut sent_tags);
        history.record(&feats.slot[r.clone()], &feats.case[r.clone()], &sent_tags);
        tags.extend_from_slice(&sent_tags);
    }
    if !model.two_pass {
        return;
    }
    // `history` now holds the whole document.
    let first = std::mem::take(tags);
    for r in sentences {
        emit.clear();
        for i in r.clone() {
            let mut acc = base(i);
            let case = feats.case[i];
            let d = history.value_without(feats.slot[i], case, first[i]);
            model.add(history_fid(fwd[i], case, shift), &mut acc);
            model.add(doc_history_fid(d, case, shift), &mut acc);
            let mut e = [0f32; NTAGS];
            model.scale(&acc, &mut e);
            emit.push(e);
        }
        viterbi.decode_folded(&emit, &model.folded, &mut sent_tags);
        tags.extend_from_slice(&sent_tags);
    }
}

/// Where the tokens of one string sit in a combined document.
struct Part<'a> {
    text: &'a str,
    tokens: Vec<Token>,
}

impl Tagger {
    /// The model shipped inside the binary.
    pub fn builtin() -> Result<Self, Error> {
        Tagger::from_model_bytes(MODEL)
    }

    /// A tagger from model bytes (as written by [`train`]) and the built-in gazetteer.
    pub fn from_model_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Ok(Tagger {
            model: Model::decode(bytes)?,
            gaz: builtin_gazetteer()?,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Tag pre-tokenized sentences of one document: returns the entity
    /// mentions (token ranges, labels and full forms) after the
    /// document-consistency pass. Leaves each token's folded-word hash in
    /// `w.scratch.lower`.
    fn tag_tokens(
        &self,
        words: &[&str],
        sentences: &[Range<usize>],
        w: &mut Worker,
    ) -> Vec<Mention> {
        score(
            &self.gaz,
            &self.model,
            self.id,
            &mut w.cache,
            words,
            sentences,
            &mut w.scratch,
            &mut w.acc,
        );
        w.tags.clear();
        w.history.clear();
        w.fwd.clear();
        let two_pass = self.model.two_pass;
        let s = &w.scratch;
        let add = |a: &mut Acc, row: Acc| {
            for (x, y) in a.iter_mut().zip(row) {
                *x += y;
            }
        };
        for r in sentences {
            w.emit.clear();
            for i in r.clone() {
                let mut a = w.acc[i];
                let case = s.case[i];
                let h = w.history.value(s.slot[i], case);
                w.fwd.push(h);
                add(&mut a, w.cache.history_row(false, h, case));
                if two_pass {
                    add(&mut a, w.cache.history_row(true, NOT_YET, case));
                }
                let mut e = [0f32; NTAGS];
                self.model.scale(&a, &mut e);
                w.emit.push(e);
            }
            w.viterbi
                .decode_folded(&w.emit, &self.model.folded, &mut w.sent_tags);
            w.history
                .record(&s.slot[r.clone()], &s.case[r.clone()], &w.sent_tags);
            w.tags.extend_from_slice(&w.sent_tags);
        }
        if two_pass {
            // `w.history` now holds the whole document's first-pass labels.
            std::mem::swap(&mut w.tags, &mut w.first);
            w.tags.clear();
            for r in sentences {
                w.emit.clear();
                for i in r.clone() {
                    let mut a = w.acc[i];
                    let case = s.case[i];
                    let d = w.history.value_without(s.slot[i], case, w.first[i]);
                    add(&mut a, w.cache.history_row(false, w.fwd[i], case));
                    add(&mut a, w.cache.history_row(true, d, case));
                    let mut e = [0f32; NTAGS];
                    self.model.scale(&a, &mut e);
                    w.emit.push(e);
                }
                w.viterbi
                    .decode_folded(&w.emit, &self.model.folded, &mut w.sent_tags);
                w.tags.extend_from_slice(&w.sent_tags);
            }
        }
        let chunks = conll::chunks(&w.tags, sentences);
        consistency::resolve(words, &w.scratch.lower, sentences, chunks)
    }

    /// Tag pre-tokenized sentences of one document: `(token range, label)` per entity.
    pub fn tag_words(
        &self,
        words: &[&str],
        sentences: &[Range<usize>],
    ) -> Vec<(Range<usize>, Label)> {
        with_worker(|w| self.tag_tokens(words, sentences, w))
            .into_iter()
            .map(|m| (m.range, m.label))
            .collect()
    }

    /// Tag a title and a body together, so mentions in one inform the other.
    /// Returns `(title_entities, text_entities)`; offsets are code points into
    /// `title` and `text` respectively.
    pub fn tag_article(&self, title: Option<&str>, text: &str) -> (Vec<Entity>, Vec<Entity>) {
        // Token buffers come from this thread's pool and go back to it, so an
        // article allocates none once the thread has seen a long one.
        let mut pool = TOKEN_BUFS.with(|p| p.take());
        let mut parts = Vec::with_capacity(2);
        for t in title.into_iter().chain(std::iter::once(text)) {
            let mut tokens = pool.pop().unwrap_or_default();
            tokens.clear();
            tokenize(t, &mut tokens);
            parts.push(Part { text: t, tokens });
        }
        let total: usize = parts.iter().map(|p| p.tokens.len()).sum();
        let mut words: Vec<&str> = Vec::with_capacity(total);
        let mut sentences: Vec<Range<usize>> = Vec::with_capacity(total / 16 + 4);
        for p in &parts {
            let base = words.len();
            words.extend(p.tokens.iter().map(|t| &p.text[t.start..t.end]));
            split_sentences(p.text, &p.tokens, base, &mut sentences);
        }
        let out = with_worker(|w| self.place_entities(&parts, &words, &sentences, w));
        pool.extend(parts.into_iter().map(|p| p.tokens));
        TOKEN_BUFS.with(|p| p.replace(pool));
        out
    }

    /// Tag the combined parts and turn mentions into per-part entities.
    fn place_entities(
        &self,
        parts: &[Part<'_>],
        words: &[&str],
        sentences: &[Range<usize>],
        w: &mut Worker,
    ) -> (Vec<Entity>, Vec<Entity>) {
        let mentions = self.tag_tokens(words, sentences, w);
        let scratch = &w.scratch;

        let mut out: Vec<Vec<Entity>> = vec![Vec::new(); parts.len()];
        let mut base = 0;
        let mut m = mentions.iter().peekable();
        for (k, p) in parts.iter().enumerate() {
            let end = base + p.tokens.len();
            let mut cursor = CharCursor::default();
            while let Some(men) = m.next_if(|men| men.range.start < end) {
                let first = p.tokens[men.range.start - base];
                let last = p.tokens[men.range.end - 1 - base];
                let (start, end_c) = (
                    cursor.chars_at(p.text, first.start),
                    cursor.chars_at(p.text, last.end),
                );
                let mut e = Entity {
                    text: p.text[first.start..last.end].to_owned(),
                    label: men.label,
                    start,
                    end: end_c,
                    canonical: men.full_form.as_ref().map(|r| span_text(parts, words, r)),
                    geonames_id: None,
                    country: None,
                };
                if e.label == Label::Loc {
                    if let Some((len, place)) = self
                        .gaz
                        .longest_place(&scratch.lower[..men.range.end], men.range.start)
                    {
                        if len == men.range.len() {
                            e.geonames_id = Some(place.geonames_id);
                            e.country =
                                (!place.country.is_empty()).then(|| place.country.to_string());
                            if e.canonical.is_none() {
                                e.canonical = place.canonical.as_deref().map(str::to_owned);
                            }
                        }
                    }
                }
                out[k].push(e);
            }
            base = end;
        }
        let text_entities = out.pop().unwrap_or_default();
        let title_entities = out.pop().unwrap_or_default();
        (title_entities, text_entities)
    }
}

/// The source text of a token range in the combined document (which lies
/// within one part, since sentences never cross parts).
fn span_text(parts: &[Part<'_>], words: &[&str], r: &Range<usize>) -> String {
    let mut base = 0;
    for p in parts {
        if r.start < base + p.tokens.len() {
            let (a, b) = (p.tokens[r.start - base], p.tokens[r.end - 1 - base]);
            return p.text[a.start..b.end].to_owned();
        }
        base += p.tokens.len();
    }
    words[r.clone()].join(" ")
}

/// Longest run of tokens decoded as one sentence. Real sentences are far
/// shorter (CoNLL's longest is 124); text without sentence breaks (a list,
/// a repeated word) is cut into runs this long, which bounds the decoder's
/// memory per input to a multiple of the input's size.
const MAX_SENTENCE_TOKENS: usize = 256;

/// Sentence ranges (offset by `base`) of tokenized text: a break after
/// sentence-final punctuation, at every line break, and after
/// [`MAX_SENTENCE_TOKENS`] tokens without either.
#[expect(
    clippy::manual_contains,
    reason = "`contains` calls memchr for a gap of a byte or two"
)]
fn split_sentences(text: &str, tokens: &[Token], base: usize, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        let ends = i + 1 - start >= MAX_SENTENCE_TOKENS
            || match tokens.get(i + 1) {
                None => true,
                // The gap between tokens is usually a byte or none: an inline
                // scan beats a memchr call.
                Some(n) => {
                    bytes[t.end..n.start].iter().any(|&b| b == b'\n')
                        || matches!(&bytes[t.start..t.end], b"." | b"!" | b"?" | b"...")
                            && !text[n.start..n.end]
                                .chars()
                                .next()
                                .is_some_and(|c| c.is_lowercase())
                }
            };
        if ends {
            out.push(base + start..base + i + 1);
            start = i + 1;
        }
    }
}

/// Converts increasing byte offsets into code-point offsets in one pass.
#[derive(Default)]
struct CharCursor {
    byte: usize,
    chars: usize,
}

impl CharCursor {
    fn chars_at(&mut self, text: &str, byte: usize) -> usize {
        if byte < self.byte {
            *self = CharCursor::default();
        }
        self.chars += text[self.byte..byte].chars().count();
        self.byte = byte;
        self.chars
    }
}

/// Evaluate a tagger on a CoNLL-format file (exact span and label, as
/// conlleval counts them).
pub fn evaluate(tagger: &Tagger, conll_path: &Path) -> Result<EvalReport, Error> {
    let docs = conll::read(conll_path)?;
    let mut report = EvalReport::default();
    for d in &docs {
        let words = d.word_refs();
        let pred: Vec<(Range<usize>, Label)> = tagger.tag_words(&words, &d.sentences);
        report.add_chunks(&conll::chunks(&d.gold, &d.sentences), &pred);
        report.tokens += d.words.len();
    }
    Ok(report)
}

/// [`evaluate`], also split into entities whose words all occur in the
/// training file `train_path` (case-folded) and the others.
pub fn evaluate_split(
    tagger: &Tagger,
    conll_path: &Path,
    train_path: &Path,
) -> Result<(EvalReport, SeenSplit), Error> {
    let mut vocab = hash::HashKeySet::default();
    let mut buf = String::new();
    for d in conll::read(train_path)? {
        for w in &d.words {
            hash::fold_into(w, &mut buf);
            vocab.insert(hash::hash_bytes(buf.as_bytes()));
        }
    }
    let docs = conll::read(conll_path)?;
    let mut report = EvalReport::default();
    let mut split = SeenSplit::default();
    for d in &docs {
        let words = d.word_refs();
        let seen: Vec<bool> = words
            .iter()
            .map(|w| {
                hash::fold_into(w, &mut buf);
                vocab.contains(&hash::hash_bytes(buf.as_bytes()))
            })
            .collect();
        let pred: Vec<(Range<usize>, Label)> = tagger.tag_words(&words, &d.sentences);
        let gold = conll::chunks(&d.gold, &d.sentences);
        report.add_chunks(&gold, &pred);
        let all_seen = |r: &Range<usize>| seen[r.clone()].iter().all(|&s| s);
        split.seen.add_chunks_where(&gold, &pred, all_seen);
        split
            .unseen
            .add_chunks_where(&gold, &pred, |r| !all_seen(r));
        report.tokens += d.words.len();
    }
    Ok((report, split))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_break_at_final_punctuation_and_lines() {
        let text = "He left. She stayed in the U.S. today\nNew line";
        let mut toks = Vec::new();
        tokenize(text, &mut toks);
        let mut s = Vec::new();
        split_sentences(text, &toks, 10, &mut s);
        assert_eq!(s, vec![10..13, 13..19, 19..21]);
    }

    #[test]
    fn text_without_breaks_is_cut_into_bounded_runs() {
        let text = "word ".repeat(600);
        let mut toks = Vec::new();
        tokenize(&text, &mut toks);
        let mut s = Vec::new();
        split_sentences(&text, &toks, 0, &mut s);
        assert_eq!(s, vec![0..256, 256..512, 512..600]);
    }

    /// Sentence splitting the straightforward way, token by token on `&str`.
    fn reference_sentences(text: &str, tokens: &[Token]) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        for i in 0..tokens.len() {
            let t = tokens[i];
            let line_break = tokens
                .get(i + 1)
                .is_some_and(|n| text[t.end..n.start].contains('\n'));
            let final_punct = matches!(&text[t.start..t.end], "." | "!" | "?" | "...")
                && tokens.get(i + 1).is_some_and(|n| {
                    !text[n.start..n.end]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_lowercase())
                });
            if line_break || final_punct || i + 1 == tokens.len() {
                out.push(start..i + 1);
                start = i + 1;
            }
        }
        out
    }

    #[test]
    fn sentence_split_agrees_with_reference() {
        let texts = [
            "",
            "one",
            "Stop. go on. Go! é? Über... ça... Ça.\n\nNext line\r\nand\tmore",
            "Ends with a period.",
            "“Quoted.” Then—dash. (Paren.) x . . ... ? ! !",
            " \n leading breaks \n\n",
        ];
        for text in texts {
            let mut toks = Vec::new();
            tokenize(text, &mut toks);
            let mut got = Vec::new();
            split_sentences(text, &toks, 0, &mut got);
            assert_eq!(got, reference_sentences(text, &toks), "{text:?}");
        }
    }

    #[test]
    fn tag_article_is_the_same_with_reused_buffers() {
        let t = Tagger::builtin().unwrap();
        let long = "Angela Merkel met Emmanuel Macron in Paris. ".repeat(50);
        let a = t.tag_article(Some("Merkel in Paris"), &long);
        // A short article after a long one reuses the larger buffers.
        let b = t.tag_article(None, "Boris Johnson visited Berlin.");
        let c = t.tag_article(Some("Merkel in Paris"), &long);
        assert_eq!(a, c);
        assert!(!a.1.is_empty() && !b.1.is_empty());
        assert_eq!(b, t.tag_article(None, "Boris Johnson visited Berlin."));
    }

    /// Emission rows the reference way: every feature id, then the model.
    fn reference_emissions(
        t: &Tagger,
        words: &[&str],
        sentences: &[Range<usize>],
    ) -> Vec<[f32; NTAGS]> {
        let mut feats = Features::default();
        features::extract(
            &t.gaz,
            &t.model.lexicon,
            t.model.bits,
            words,
            sentences,
            &mut Scratch::default(),
            &mut feats,
        );
        (0..words.len())
            .map(|i| {
                let mut e = [0f32; NTAGS];
                t.model.emit(feats.of(i), &mut e);
                e
            })
            .collect()
    }

    fn cached_emissions(
        t: &Tagger,
        w: &mut Worker,
        words: &[&str],
        sentences: &[Range<usize>],
    ) -> Vec<[f32; NTAGS]> {
        score(
            &t.gaz,
            &t.model,
            t.id,
            &mut w.cache,
            words,
            sentences,
            &mut w.scratch,
            &mut w.acc,
        );
        w.acc
            .iter()
            .map(|a| {
                let mut e = [0f32; NTAGS];
                t.model.scale(a, &mut e);
                e
            })
            .collect()
    }

    #[test]
    fn type_cache_scores_equal_reference_features() {
        let text =
            "FIFA CHIEF IN TALKS\nMr. O'Brien (of Acme Inc.) met Angela Merkel in New York on \
                    Monday. He said: \u{201c}Zürich’s banks won't move.\u{201d} Merkel left \
                    Berlin ( and Paris ) for the U.S. and 3.5% growth.";
        let mut toks = Vec::new();
        tokenize(text, &mut toks);
        let words: Vec<&str> = toks.iter().map(|t| &text[t.start..t.end]).collect();
        let mut sentences = Vec::new();
        split_sentences(text, &toks, 0, &mut sentences);
        assert!(sentences.len() >= 3);
        let a = Tagger::builtin().unwrap();
        let b = Tagger::builtin().unwrap();
        let mut w = Worker::default();
        let want = reference_emissions(&a, &words, &sentences);
        // Cold cache, warm cache, then a cache filled by another tagger.
        assert_eq!(cached_emissions(&a, &mut w, &words, &sentences), want);
        assert_eq!(cached_emissions(&a, &mut w, &words, &sentences), want);
        let whole = 0..words.len();
        let single = std::slice::from_ref(&whole);
        let want_b = reference_emissions(&b, &words, single);
        assert_eq!(cached_emissions(&b, &mut w, &words, single), want_b);
        assert_ne!(want_b, want);
    }

    #[test]
    fn type_cache_never_starts_over_within_a_document() {
        let t = Tagger::builtin().unwrap();
        let mut w = Worker::default();
        // Fill the cache to a few entries short of its bound...
        let filler: Vec<String> = (0..features::CACHE_TYPES - 3)
            .map(|i| format!("w{i}"))
            .collect();
        let words: Vec<&str> = filler.iter().map(String::as_str).collect();
        let whole = 0..words.len();
        cached_emissions(&t, &mut w, &words, std::slice::from_ref(&whole));
        // ...then score a document with more new words than fit: scores must
        // still be those of the reference path.
        let words = [
            "Angela", "Merkel", "met", "Acme", "Inc.", "in", "Zürich", "and", "Merkel", "left",
        ];
        let whole = 0..words.len();
        let sentences = std::slice::from_ref(&whole);
        assert_eq!(
            cached_emissions(&t, &mut w, &words, sentences),
            reference_emissions(&t, &words, sentences)
        );
    }

    #[test]
    fn tagging_path_decodes_like_the_training_reference_with_history() {
        let text = "Clinton met Mr. Lavrov in Geneva. Lavrov said Clinton and \
                    Geneva talks went well.\nLAVROV AND CLINTON AGREE\nLavrov left.";
        let mut toks = Vec::new();
        tokenize(text, &mut toks);
        let words: Vec<&str> = toks.iter().map(|t| &text[t.start..t.end]).collect();
        let mut sentences = Vec::new();
        split_sentences(text, &toks, 0, &mut sentences);
        let t = Tagger::builtin().unwrap();
        let mut feats = Features::default();
        features::extract(
            &t.gaz,
            &t.model.lexicon,
            t.model.bits,
            &words,
            &sentences,
            &mut Scratch::default(),
            &mut feats,
        );
        let mut want = Vec::new();
        decode_features(
            &t.model,
            &feats,
            &sentences,
            &mut Viterbi::default(),
            &mut want,
        );
        let mut w = Worker::default();
        t.tag_tokens(&words, &sentences, &mut w);
        assert_eq!(w.tags, want);
        assert!(t.model.lexicon != lexicon::Lexicon::default());
    }

    #[test]
    fn char_cursor_counts_code_points() {
        let text = "Zürich’s Kyiv";
        let mut c = CharCursor::default();
        let b = text.find("Kyiv").unwrap();
        assert_eq!(c.chars_at(text, b), 9);
        assert_eq!(c.chars_at(text, text.len()), 13);
    }
}

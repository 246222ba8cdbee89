//! Feature extraction: word, shape, affix, context, word-class (Brown
//! cluster prefixes and rarity), gazetteer and document-level features, each
//! hashed into a fixed table of `2^bits` ids.
//!
//! Two paths share one set of templates ([`token_features`]):
//! - [`extract`] lists every feature id of every token, for training (the
//!   order of ids is part of what makes retraining reproducible).
//! - [`score`] sums quantized weights straight away for tagging. Whatever
//!   depends on a word's string alone (its own templates, and what it adds
//!   as a neighbour within two tokens) is summed once per word type and kept
//!   in a [`TypeCache`]; templates over a few small values (casing, place
//!   codes, document flags) come from per-model tables. Integer sums do not
//!   depend on order, so the scores are exactly those of `extract`; only
//!   the templates that combine two strings still probe the model per token.
//!
//! No per-token allocation: the scratch buffers are reused.

use std::ops::Range;

use super::contexts::{Contexts, Share};
use super::gazetteer::Gazetteer;
use super::hash::{fold_into, hash_bytes, mix, HashKeyMap};
use super::history::HISTORY_VALUES;
use super::lexicon::{Lexicon, WordClass};
use super::model::{Model, NTAGS};
use super::slots::{SlotMap, SlotNumbers};

/// Casing class of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Lower = 1,
    InitCap,
    AllCaps,
    Mixed,
    Digit,
    Punct,
    Other,
}

fn case_of(word: &str) -> Case {
    if word.is_ascii() {
        return case_of_ascii(word.as_bytes());
    }
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return Case::Other;
    };
    let (mut upper, mut lower, mut digit, mut alpha) = (0usize, 0usize, 0usize, 0usize);
    for c in word.chars() {
        if c.is_uppercase() {
            upper += 1;
        } else if c.is_lowercase() {
            lower += 1;
        }
        if c.is_alphabetic() {
            alpha += 1;
        } else if c.is_ascii_digit() {
            digit += 1;
        }
    }
    if alpha == 0 {
        return if digit > 0 {
            Case::Digit
        } else if word
            .chars()
            .all(|c| c.is_ascii_punctuation() || !c.is_alphanumeric())
        {
            Case::Punct
        } else {
            Case::Other
        };
    }
    if upper == 0 {
        Case::Lower
    } else if lower == 0 {
        Case::AllCaps
    } else if first.is_uppercase() && chars.all(|c| !c.is_uppercase()) {
        Case::InitCap
    } else {
        Case::Mixed
    }
}

/// `case_of` for ASCII words, without char decoding.
fn case_of_ascii(w: &[u8]) -> Case {
    let Some(&first) = w.first() else {
        return Case::Other;
    };
    let (mut upper, mut lower, mut digit) = (0usize, 0usize, 0usize);
    let mut rest_upper = false;
    for (i, b) in w.iter().enumerate() {
        if b.is_ascii_uppercase() {
            upper += 1;
            rest_upper |= i > 0;
        } else if b.is_ascii_lowercase() {
            lower += 1;
        } else if b.is_ascii_digit() {
            digit += 1;
        }
    }
    if upper + lower == 0 {
        return if digit > 0 {
            Case::Digit
        } else if w.iter().all(u8::is_ascii_punctuation) {
            Case::Punct
        } else {
            Case::Other
        };
    }
    if upper == 0 {
        Case::Lower
    } else if lower == 0 {
        Case::AllCaps
    } else if first.is_ascii_uppercase() && !rest_upper {
        Case::InitCap
    } else {
        Case::Mixed
    }
}

/// Hash of the collapsed shape of a word: "Trump" -> "Xx", "U.S." -> "X.X.",
/// "1996-08-22" -> "d-d-d".
fn shape_hash(word: &str) -> u64 {
    let mut acc: u64 = 0x51A9E;
    let mut last = '\0';
    let mut n = 0;
    for c in word.chars() {
        let s = if c.is_ascii() {
            match c {
                'A'..='Z' => 'X',
                'a'..='z' => 'x',
                '0'..='9' => 'd',
                _ => c,
            }
        } else if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_ascii_digit() {
            'd'
        } else if c.is_alphabetic() {
            'a'
        } else if c == '\u{2019}' {
            '\''
        } else {
            c
        };
        if s != last {
            acc = mix(acc, s as u64);
            last = s;
            n += 1;
            if n > 8 {
                break;
            }
        }
    }
    acc
}

/// Hashes of the proper prefixes and suffixes of 1..=4 characters, computed
/// incrementally (one mix per character, not one hash per affix).
fn affix_hashes(folded: &str) -> [u64; 8] {
    let mut out = [0u64; 8];
    let n = if folded.is_ascii() {
        folded.len()
    } else {
        folded.chars().count()
    };
    let mut h = 0x9F1;
    for (k, c) in folded.chars().take(4.min(n.saturating_sub(1))).enumerate() {
        h = mix(h, c as u64);
        out[k] = h;
    }
    let mut h = 0x5FF;
    for (k, c) in folded
        .chars()
        .rev()
        .take(4.min(n.saturating_sub(1)))
        .enumerate()
    {
        h = mix(h, c as u64);
        out[4 + k] = h;
    }
    out
}

/// Feature templates. The numeric values are part of the model format.
#[derive(Clone, Copy)]
#[repr(u64)]
enum T {
    Bias = 1,
    Word,
    Lower,
    LowerM1,
    LowerP1,
    LowerM2,
    LowerP2,
    BigramM1,
    BigramP1,
    Shape,
    ShapeM1,
    ShapeP1,
    ShapeBiM1,
    ShapeBiP1,
    Prefix,
    Suffix,
    CaseInit,
    Place,
    PlaceM1,
    PlaceP1,
    Names,
    NamesM1,
    NamesP1,
    DocSeen,
    CapsLine,
    LowerM1Shape,
    ShapeLowerP1,
    Length,
    CaseM1CaseP1,
    InParens,
    Cluster,
    ClusterM1,
    ClusterP1,
    ClusterM2,
    ClusterP2,
    Rarity,
    History,
    DocHistory,
    /// A word class near another mention of the word ([`super::contexts`]).
    Lent,
    /// A character trigram of the folded word.
    CharGram,
}

/// Character trigrams of a folded word of at least `GRAM_MIN` characters,
/// the first `GRAM_MAX` of them, as hashes: what an unseen word shares with
/// seen ones beyond its ends.
const GRAM_MIN: usize = 5;
const GRAM_MAX: usize = 12;

fn char_grams(folded: &str, mut f: impl FnMut(u64)) {
    if folded.chars().nth(GRAM_MIN - 1).is_none() {
        return;
    }
    let mut w = ['\0'; 3];
    for (k, c) in folded.chars().enumerate() {
        w = [w[1], w[2], c];
        if k >= 2 {
            if k - 2 >= GRAM_MAX {
                break;
            }
            f(mix(mix(mix(0x36A, w[0] as u64), w[1] as u64), w[2] as u64));
        }
    }
}

/// Brown cluster prefix lengths (in bits) used as features, coarse to fine.
const CLUSTER_PREFIXES: [u32; 4] = [4, 6, 10, 20];

/// Feature values of a cluster's prefixes; the ones at `CLUSTER_PREFIXES[k]`.
#[inline]
fn cluster_values(cluster: u32) -> [u64; 4] {
    CLUSTER_PREFIXES.map(|k| mix(u64::from(k), u64::from(cluster & ((1 << k) - 1))))
}

/// Cluster templates of the neighbours: offset, template, and which of
/// [`CLUSTER_PREFIXES`] (all next door, two further out). No feature fires
/// past a sentence edge.
const NEIGHBOUR_CLUSTERS: [(isize, T, &[usize]); 4] = [
    (-1, T::ClusterM1, &[0, 1, 2, 3]),
    (1, T::ClusterP1, &[0, 1, 2, 3]),
    (-2, T::ClusterM2, &[1, 3]),
    (2, T::ClusterP2, &[1, 3]),
];

/// Feature id of the document-history template for `value` (see
/// [`super::history`]) on a token of casing `case`.
#[inline]
pub(crate) fn history_fid(value: u64, case: Case, shift: u32) -> u32 {
    fid(T::History, value * 8 + case as u64, shift)
}

/// Feature id of the whole-document history template (second pass).
#[inline]
pub(crate) fn doc_history_fid(value: u64, case: Case, shift: u32) -> u32 {
    fid(T::DocHistory, value * 8 + case as u64, shift)
}

/// Document-level facts about a folded word.
const SEEN_CAP: u8 = 1;
const SEEN_LOWER: u8 = 2;

/// Extracted features of one document: token `i` has `ids[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Default)]
pub(crate) struct Features {
    pub ids: Vec<u32>,
    pub offsets: Vec<usize>,
    /// Folded-word hash per token.
    pub lower: Vec<u64>,
    /// Folded-word slot per token (the document history's key).
    pub slot: Vec<u32>,
    /// Casing per token.
    pub case: Vec<Case>,
}

impl Features {
    /// Feature ids of token `i`.
    #[inline]
    pub(crate) fn of(&self, i: usize) -> &[u32] {
        &self.ids[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// Reusable per-document state.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Folded-word hash per token.
    pub lower: Vec<u64>,
    /// Folded-word slot per token (see [`super::slots`]).
    pub slot: Vec<u32>,
    /// Per token: whether a gazetteer place can start with its word.
    place_start: Vec<bool>,
    word: Vec<u64>,
    shape: Vec<u64>,
    /// Casing class per token.
    pub case: Vec<Case>,
    sent_start: Vec<bool>,
    caps_line: Vec<bool>,
    place: Vec<u64>,
    names: Vec<u8>,
    /// Seen-casing flags per slot.
    doc: SlotMap<u8>,
    /// Slot numbering of [`extract`] (the tagging path takes its slots
    /// from the [`TypeCache`]).
    numbers: SlotNumbers,
    /// Per token: hashes of the 1..=4-character prefixes, then suffixes, of
    /// the folded word (0 = the word is too short).
    affixes: Vec<[u64; 8]>,
    /// Per token: its entry in the [`TypeCache`].
    types: Vec<u32>,
    /// Per token: its word class ([`extract`] only).
    class: Vec<WordClass>,
    /// Where the other mentions of each word stand.
    contexts: Contexts,
    /// Per slot: the scores of every value lent to the word ([`score`] only).
    lent_total: SlotMap<Acc>,
    buf: String,
    buf2: String,
}

/// Per-token arrays, then the document-level passes (sentence starts,
/// capitals lines, seen-casing, gazetteer places) shared by both extractors.
fn reset(s: &mut Scratch, n: usize) {
    s.lower.clear();
    s.slot.clear();
    s.place_start.clear();
    s.word.clear();
    s.shape.clear();
    s.case.clear();
    s.names.clear();
    s.sent_start.clear();
    s.sent_start.resize(n, false);
    s.caps_line.clear();
    s.caps_line.resize(n, false);
    s.place.clear();
    s.place.resize(n, 0);
    s.doc.clear();
    s.affixes.clear();
    s.types.clear();
    s.class.clear();
    s.lower.reserve(n);
    s.slot.reserve(n);
    s.place_start.reserve(n);
    s.shape.reserve(n);
    s.case.reserve(n);
    s.names.reserve(n);
}

fn document_passes(gaz: &Gazetteer, sentences: &[Range<usize>], s: &mut Scratch) {
    let n = s.lower.len();
    for r in sentences {
        if r.start < n {
            s.sent_start[r.start] = true;
        }
        // Headlines in capitals lose the casing signal; mark them so the
        // model can lean on the folded word instead.
        let (mut caps, mut alpha) = (0, 0);
        for c in &s.case[r.clone()] {
            match c {
                Case::AllCaps => {
                    caps += 1;
                    alpha += 1
                }
                Case::Lower | Case::InitCap | Case::Mixed => alpha += 1,
                _ => {}
            }
        }
        if alpha > 1 && caps * 10 >= alpha * 8 {
            s.caps_line[r.clone()].fill(true);
        }
    }
    for i in 0..n {
        let flag = match s.case[i] {
            Case::InitCap if !s.sent_start[i] && !s.caps_line[i] => SEEN_CAP,
            Case::Lower => SEEN_LOWER,
            _ => 0,
        };
        if flag != 0 {
            *s.doc.get_or_insert(s.slot[i], 0) |= flag;
        }
    }
    // Gazetteer places: longest match, within sentences, marking B and I.
    for r in sentences {
        let mut i = r.start;
        while i < r.end {
            // A word no place name starts with cannot start a match: the
            // flag comes with the word type, saving two probes per token.
            if !s.place_start[i] || matches!(s.case[i], Case::Lower | Case::Punct | Case::Digit) {
                i += 1;
                continue;
            }
            match gaz.longest_place(&s.lower[..r.end], i) {
                Some((len, p)) => {
                    let code = p.kind.code() * 4;
                    s.place[i] = code + 1;
                    for j in i + 1..i + len {
                        s.place[j] = code + 2;
                    }
                    i += len;
                }
                None => i += 1,
            }
        }
    }
}

/// Feature id of template `t` with value `v` in a table of `2^(64 - shift)` ids.
#[inline]
fn fid(t: T, v: u64, shift: u32) -> u32 {
    (mix(t as u64, v) >> shift) as u32
}

/// Fill `out` with the features of a document of `words` split into `sentences`.
pub(crate) fn extract(
    gaz: &Gazetteer,
    lex: &Lexicon,
    bits: u32,
    words: &[&str],
    sentences: &[Range<usize>],
    s: &mut Scratch,
    out: &mut Features,
) {
    let n = words.len();
    reset(s, n);
    s.affixes.reserve(n);
    s.word.reserve(n);
    s.class.reserve(n);
    s.numbers.clear();
    for w in words {
        fold_into(w, &mut s.buf);
        let lh = hash_bytes(s.buf.as_bytes());
        s.slot.push(s.numbers.slot(lh));
        s.place_start.push(gaz.can_start(lh));
        let wh = hash_bytes(w.as_bytes());
        s.affixes.push(affix_hashes(&s.buf));
        s.class.push(lex.class_of(w, wh, &s.buf, &mut s.buf2));
        s.lower.push(lh);
        s.word.push(wh);
        s.shape.push(shape_hash(w));
        s.case.push(case_of(w));
        s.names.push(gaz.name_bits(lh));
    }
    document_passes(gaz, sentences, s);
    let class = &s.class;
    s.contexts.build(
        &s.slot,
        &s.case,
        &s.caps_line,
        |j| class[j].cluster,
        sentences,
    );

    out.ids.clear();
    out.ids.reserve(n * 40);
    out.offsets.clear();
    out.offsets.reserve(n + 1);
    out.offsets.push(0);
    let shift = 64 - bits;
    // A token's features go to a fixed buffer first (at most 54
    // templates fire), then to `out` in one copy.
    let mut buf = [0u32; 64];
    for r in sentences {
        let mut depth = 0usize;
        for i in r.clone() {
            let len = token_features(words, s, r, i, &mut depth, shift, true, &mut buf);
            out.ids.extend_from_slice(&buf[..len]);
            fold_into(words[i], &mut s.buf);
            char_grams(&s.buf, |v| out.ids.push(fid(T::CharGram, v, shift)));
            s.contexts
                .lent(s.slot[i], i, |v| out.ids.push(fid(T::Lent, v, shift)));
            out.offsets.push(out.ids.len());
        }
    }
    out.lower.clone_from(&s.lower);
    out.slot.clone_from(&s.slot);
    out.case.clone_from(&s.case);
}

/// The feature ids of token `i` of sentence `r` into `buf`; returns how many.
/// With `all` false, the templates a [`TypeEntry`] already sums (those of
/// the token's own string, its shape, and its neighbours' strings alone) and
/// those [`Tables`] cover (small integer values) are left out.
#[allow(clippy::too_many_arguments)]
#[inline]
fn token_features(
    words: &[&str],
    s: &Scratch,
    r: &Range<usize>,
    i: usize,
    depth: &mut usize,
    shift: u32,
    all: bool,
    buf: &mut [u32; 64],
) -> usize {
    let mut len = 0usize;
    macro_rules! push {
        ($t:expr, $v:expr) => {{
            buf[len] = fid($t, $v, shift);
            len += 1;
        }};
    }
    let ctx = |v: &Vec<u64>, d: isize, edge: u64| -> u64 {
        let j = i as isize + d;
        if j < r.start as isize || j >= r.end as isize {
            edge
        } else {
            v[j as usize]
        }
    };
    let w = words[i];
    let case = s.case[i] as u64;
    let lw = s.lower[i];
    let lm1 = ctx(&s.lower, -1, 1);
    let lp1 = ctx(&s.lower, 1, 2);
    let sh = s.shape[i];
    let shm1 = ctx(&s.shape, -1, 1);
    let shp1 = ctx(&s.shape, 1, 2);
    let caps = u64::from(s.caps_line[i]);
    if all {
        push!(T::Bias, 0);
        push!(T::Word, s.word[i]);
        push!(T::Lower, lw);
        push!(T::LowerM1, lm1);
        push!(T::LowerP1, lp1);
        push!(T::LowerM2, ctx(&s.lower, -2, 1));
        push!(T::LowerP2, ctx(&s.lower, 2, 2));
    }
    push!(T::BigramM1, mix(lm1, lw));
    push!(T::BigramP1, mix(lw, lp1));
    if all {
        push!(T::Shape, mix(sh, caps));
        push!(T::ShapeM1, shm1);
        push!(T::ShapeP1, shp1);
    }
    push!(T::ShapeBiM1, mix(shm1, sh));
    push!(T::ShapeBiP1, mix(sh, shp1));
    push!(T::LowerM1Shape, mix(lm1, sh));
    push!(T::ShapeLowerP1, mix(sh, lp1));
    if all {
        push!(
            T::CaseInit,
            mix(case, u64::from(s.sent_start[i]) * 2 + caps)
        );
    }
    if all {
        push!(T::Length, length_value(w));
    }
    let cm1 = if i > r.start { s.case[i - 1] as u64 } else { 0 };
    let cp1 = if i + 1 < r.end {
        s.case[i + 1] as u64
    } else {
        0
    };
    if all {
        push!(T::CaseM1CaseP1, cm1 * 16 + case * 256 + cp1);
    }
    if all {
        for (k, h) in s.affixes[i].iter().enumerate() {
            if *h != 0 {
                push!(if k < 4 { T::Prefix } else { T::Suffix }, mix(k as u64, *h));
            }
        }
    }
    if all {
        let place = s.place[i];
        push!(T::Place, mix(place, case));
        push!(T::PlaceM1, if i > r.start { s.place[i - 1] } else { 99 });
        push!(T::PlaceP1, if i + 1 < r.end { s.place[i + 1] } else { 99 });
    }
    if all {
        push!(T::Names, mix(u64::from(s.names[i]), case));
        push!(
            T::NamesM1,
            if i > r.start {
                u64::from(s.names[i - 1]) * 8 + cm1
            } else {
                999
            }
        );
        push!(
            T::NamesP1,
            if i + 1 < r.end {
                u64::from(s.names[i + 1]) * 8 + cp1
            } else {
                999
            }
        );
    }
    if all {
        let seen = s.doc.get(s.slot[i]).copied().unwrap_or(0);
        push!(T::DocSeen, mix(u64::from(seen), case * 2 + caps));
        let wc = s.class[i];
        for v in cluster_values(wc.cluster) {
            push!(T::Cluster, v);
        }
        push!(T::Rarity, mix(u64::from(wc.rarity), case));
        for (d, t, prefixes) in NEIGHBOUR_CLUSTERS {
            let j = i as isize + d;
            if j >= r.start as isize && j < r.end as isize {
                let v = cluster_values(s.class[j as usize].cluster);
                for &k in prefixes {
                    push!(t, v[k]);
                }
            }
        }
    }
    if caps == 1 {
        push!(T::CapsLine, lw);
    }
    if w == "(" {
        *depth += 1;
    } else if w == ")" {
        *depth = depth.saturating_sub(1);
    } else if *depth > 0 {
        push!(T::InParens, sh);
    }
    len
}

fn length_value(w: &str) -> u64 {
    w.chars().count().min(12) as u64
}

/// Partial emission scores (quantized, summed exactly in `i32`).
pub(crate) type Acc = [i32; NTAGS];

/// What one word type contributes to the scores of the tokens around it,
/// whatever its context: computed once per type and reused, which is exact
/// because quantized weights add as integers in any order.
#[derive(Debug, Clone)]
pub(crate) struct TypeEntry {
    /// Its Brown cluster (0 when unknown), lent to nearby capitalized words.
    cluster: u32,
    /// Its own templates: bias, word, folded word, length, affixes, names,
    /// clusters, rarity, and its shape outside a capitals line.
    own: Acc,
    /// As the left neighbour of a token: LowerM1, ShapeM1, NamesM1, ClusterM1.
    m1: Acc,
    /// As the second left neighbour: LowerM2, ClusterM2.
    m2: Acc,
    /// As the right neighbour: LowerP1, ShapeP1, NamesP1, ClusterP1.
    p1: Acc,
    /// As the second right neighbour: LowerP2, ClusterP2.
    p2: Acc,
}

/// What the first walk over a document's tokens needs of a word type. It
/// is the index's value, not part of the [`TypeEntry`], so that finding a
/// word costs one cache miss rather than two in a row (the index's bucket,
/// then the entry it names); the entry's rows are read later, when the
/// address is long known.
#[derive(Debug, Clone, Copy)]
struct Hot {
    /// Index of its [`TypeEntry`].
    k: u32,
    /// Slot of the folded form (shared by the types that fold alike).
    slot: u32,
    lower: u64,
    shape: u64,
    /// Whether a gazetteer place name can start with the word.
    place_start: bool,
    case: Case,
    names: u8,
}

/// Scores of the templates whose values are a few small integers (casing,
/// place codes, document flags), one row per value, so a token adds a row
/// instead of probing the model.
#[derive(Debug, Clone)]
struct Tables {
    /// CaseInit and DocSeen together (they share casing and the capitals
    /// flag): `((seen * 8 + case) * 2 + sent_start) * 2 + caps`.
    case_seen: Vec<Acc>,
    /// `(case_m1 * 8 + case) * 8 + case_p1`.
    case_ctx: Vec<Acc>,
    /// `place * 8 + case`, for `place < PLACES`.
    place: Vec<Acc>,
    /// `place` of the left / right neighbour, `PLACES` at a sentence edge.
    place_m1: Vec<Acc>,
    place_p1: Vec<Acc>,
    /// Both neighbours at once: `m1 * (PLACES + 1) + p1`.
    place_ctx: Vec<Acc>,
    /// `history * 8 + case`, earlier mentions, then the whole document.
    history: Vec<Acc>,
    doc_history: Vec<Acc>,
}

/// Place codes are `kind * 4 + 1..=2` over five kinds, so below this.
const PLACES: usize = 24;

impl Tables {
    fn new(model: &Model, shift: u32) -> Tables {
        let row = |t: T, v: u64| {
            let mut a = [0i32; NTAGS];
            model.add(fid(t, v, shift), &mut a);
            a
        };
        let edge = |t: T, k: usize| row(t, if k == PLACES { 99 } else { k as u64 });
        let sum = |mut a: Acc, b: Acc| {
            add_into(&mut a, &b);
            a
        };
        let place_m1: Vec<Acc> = (0..=PLACES).map(|k| edge(T::PlaceM1, k)).collect();
        let place_p1: Vec<Acc> = (0..=PLACES).map(|k| edge(T::PlaceP1, k)).collect();
        Tables {
            case_seen: (0..128u64)
                .map(|k| {
                    let (seen, case, ss, caps) = (k / 32, k / 4 % 8, k / 2 % 2, k % 2);
                    sum(
                        row(T::CaseInit, mix(case, ss * 2 + caps)),
                        row(T::DocSeen, mix(seen, case * 2 + caps)),
                    )
                })
                .collect(),
            case_ctx: (0..512u64)
                .map(|k| row(T::CaseM1CaseP1, (k / 64) * 16 + (k / 8 % 8) * 256 + k % 8))
                .collect(),
            place: (0..PLACES as u64 * 8)
                .map(|k| row(T::Place, mix(k / 8, k % 8)))
                .collect(),
            place_ctx: (0..(PLACES + 1) * (PLACES + 1))
                .map(|k| sum(place_m1[k / (PLACES + 1)], place_p1[k % (PLACES + 1)]))
                .collect(),
            place_m1,
            place_p1,
            history: (0..HISTORY_VALUES as u64 * 8)
                .map(|k| row(T::History, k))
                .collect(),
            doc_history: (0..HISTORY_VALUES as u64 * 8)
                .map(|k| row(T::DocHistory, k))
                .collect(),
        }
    }
}

/// Word types seen so far by one tagger, keyed by the hash of the raw word.
/// Bounded: cleared between documents when full, so memory stays flat on
/// endless streams (never within a document, whose tokens hold indices).
#[derive(Debug, Default)]
pub(crate) struct TypeCache {
    /// Identity of the tagger whose model filled the entries.
    owner: u64,
    index: HashKeyMap<Hot>,
    types: Vec<TypeEntry>,
    /// Slots of the folded forms of `types`, numbered as they come.
    slots: SlotNumbers,
    /// Scores of a missing neighbour: left 1, left 2, right 1, right 2.
    edges: Option<[Acc; 4]>,
    tables: Option<Tables>,
    /// Scratch for lexicon lookups.
    tmp: String,
}

/// Entries kept before the cache starts over: about 12 MB of entries (184
/// bytes each) and 5 MB of index (40-byte buckets, at most half full).
pub(crate) const CACHE_TYPES: usize = 1 << 16;

impl TypeCache {
    /// Scores of the document-history feature `value` on a token of casing
    /// `case` (for the model of the last [`score`] call).
    /// With `doc`, of the whole-document history instead.
    #[inline]
    pub(crate) fn history_row(&self, doc: bool, value: u64, case: Case) -> Acc {
        let k = value as usize * 8 + case as usize;
        self.tables
            .as_ref()
            .and_then(|t| {
                if doc {
                    t.doc_history.get(k)
                } else {
                    t.history.get(k)
                }
            })
            .copied()
            .unwrap_or([0; NTAGS])
    }

    /// Drop entries made for another tagger, and make room for a document
    /// of `n` tokens so that no entry is dropped while it is being scored.
    fn claim(&mut self, owner: u64, model: &Model, shift: u32, n: usize) {
        if self.types.len() + n > CACHE_TYPES {
            self.index.clear();
            self.types.clear();
            self.slots.clear();
        }
        if self.owner != owner || self.edges.is_none() {
            self.index.clear();
            self.types.clear();
            self.slots.clear();
            self.owner = owner;
            let mut e = [[0i32; NTAGS]; 4];
            model.add(fid(T::LowerM1, 1, shift), &mut e[0]);
            model.add(fid(T::ShapeM1, 1, shift), &mut e[0]);
            model.add(fid(T::NamesM1, 999, shift), &mut e[0]);
            model.add(fid(T::LowerM2, 1, shift), &mut e[1]);
            model.add(fid(T::LowerP1, 2, shift), &mut e[2]);
            model.add(fid(T::ShapeP1, 2, shift), &mut e[2]);
            model.add(fid(T::NamesP1, 999, shift), &mut e[2]);
            model.add(fid(T::LowerP2, 2, shift), &mut e[3]);
            self.edges = Some(e);
            self.tables = Some(Tables::new(model, shift));
        }
    }

    /// What the first walk needs of `word`, computing its entry on a miss.
    fn entry(
        &mut self,
        gaz: &Gazetteer,
        model: &Model,
        shift: u32,
        word: &str,
        buf: &mut String,
    ) -> Hot {
        let wh = hash_bytes(word.as_bytes());
        if let Some(&h) = self.index.get(&wh) {
            return h;
        }
        fold_into(word, buf);
        let lower = hash_bytes(buf.as_bytes());
        let shape = shape_hash(word);
        let case = case_of(word);
        let names = gaz.name_bits(lower);
        let wc = model.lexicon.class_of(word, wh, buf, &mut self.tmp);
        let clusters = cluster_values(wc.cluster);
        let c = case as u64;
        let mut own = [0i32; NTAGS];
        for (t, v) in [
            (T::Bias, 0),
            (T::Word, wh),
            (T::Lower, lower),
            (T::Shape, mix(shape, 0)),
            (T::Length, length_value(word)),
            (T::Names, mix(u64::from(names), c)),
            (T::Rarity, mix(u64::from(wc.rarity), c)),
        ] {
            model.add(fid(t, v, shift), &mut own);
        }
        for v in clusters {
            model.add(fid(T::Cluster, v, shift), &mut own);
        }
        for (k, h) in affix_hashes(buf).iter().enumerate() {
            if *h != 0 {
                let t = if k < 4 { T::Prefix } else { T::Suffix };
                model.add(fid(t, mix(k as u64, *h), shift), &mut own);
            }
        }
        char_grams(buf, |v| model.add(fid(T::CharGram, v, shift), &mut own));
        let nc = u64::from(names) * 8 + c;
        let mut m1 = [0i32; NTAGS];
        model.add(fid(T::LowerM1, lower, shift), &mut m1);
        model.add(fid(T::ShapeM1, shape, shift), &mut m1);
        model.add(fid(T::NamesM1, nc, shift), &mut m1);
        let mut m2 = [0i32; NTAGS];
        model.add(fid(T::LowerM2, lower, shift), &mut m2);
        let mut p1 = [0i32; NTAGS];
        model.add(fid(T::LowerP1, lower, shift), &mut p1);
        model.add(fid(T::ShapeP1, shape, shift), &mut p1);
        model.add(fid(T::NamesP1, nc, shift), &mut p1);
        let mut p2 = [0i32; NTAGS];
        model.add(fid(T::LowerP2, lower, shift), &mut p2);
        for (d, t, prefixes) in NEIGHBOUR_CLUSTERS {
            let acc = match d {
                -1 => &mut m1,
                1 => &mut p1,
                -2 => &mut m2,
                _ => &mut p2,
            };
            for &k in prefixes {
                model.add(fid(t, clusters[k], shift), acc);
            }
        }
        let hot = Hot {
            k: self.types.len() as u32,
            slot: self.slots.slot(lower),
            lower,
            shape,
            place_start: gaz.can_start(lower),
            case,
            names,
        };
        self.types.push(TypeEntry {
            cluster: wc.cluster,
            own,
            m1,
            m2,
            p1,
            p2,
        });
        self.index.insert(wh, hot);
        hot
    }
}

#[inline]
fn add_into(acc: &mut Acc, v: &Acc) {
    for (a, b) in acc.iter_mut().zip(v) {
        *a += *b;
    }
}

/// Emission scores of every token of a document (quantized sums, as
/// [`Model::emit`] would compute them from [`extract`]'s ids), using and
/// filling the per-type `cache`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn score(
    gaz: &Gazetteer,
    model: &Model,
    owner: u64,
    cache: &mut TypeCache,
    words: &[&str],
    sentences: &[Range<usize>],
    s: &mut Scratch,
    out: &mut Vec<Acc>,
) {
    let n = words.len();
    let shift = 64 - model.bits;
    cache.claim(owner, model, shift, n);
    reset(s, n);
    s.types.reserve(n);
    for w in words {
        let t = cache.entry(gaz, model, shift, w, &mut s.buf);
        s.lower.push(t.lower);
        s.slot.push(t.slot);
        s.place_start.push(t.place_start);
        s.shape.push(t.shape);
        s.case.push(t.case);
        s.names.push(t.names);
        s.types.push(t.k);
    }
    document_passes(gaz, sentences, s);
    let types = &cache.types;
    let ty = |j: usize| &types[s.types[j] as usize];
    s.contexts
        .build(&s.slot, &s.case, &s.caps_line, |j| ty(j).cluster, sentences);
    s.lent_total.clear();
    let (Some(edges), Some(tab)) = (cache.edges, cache.tables.as_ref()) else {
        return;
    };
    out.clear();
    out.reserve(n);
    let mut buf = [0u32; 64];
    for r in sentences {
        let mut depth = 0usize;
        for i in r.clone() {
            let mut acc = ty(i).own;
            if s.caps_line[i] {
                // `own` holds the shape outside a capitals line: swap it.
                let sh = s.shape[i];
                let mut off = [0i32; NTAGS];
                model.add(fid(T::Shape, mix(sh, 0), shift), &mut off);
                model.add(fid(T::Shape, mix(sh, 1), shift), &mut acc);
                for (a, o) in acc.iter_mut().zip(off) {
                    *a -= o;
                }
            }
            add_into(
                &mut acc,
                if i > r.start {
                    &ty(i - 1).m1
                } else {
                    &edges[0]
                },
            );
            add_into(
                &mut acc,
                if i > r.start + 1 {
                    &ty(i - 2).m2
                } else {
                    &edges[1]
                },
            );
            add_into(
                &mut acc,
                if i + 1 < r.end {
                    &ty(i + 1).p1
                } else {
                    &edges[2]
                },
            );
            add_into(
                &mut acc,
                if i + 2 < r.end {
                    &ty(i + 2).p2
                } else {
                    &edges[3]
                },
            );
            let case = s.case[i] as usize;
            let caps = usize::from(s.caps_line[i]);
            let ss = usize::from(s.sent_start[i]);
            // In range by construction: seen < 4, case < 8.
            let seen = usize::from(s.doc.get(s.slot[i]).copied().unwrap_or(0));
            add_into(
                &mut acc,
                &tab.case_seen[((seen * 8 + case) * 2 + ss) * 2 + caps],
            );
            let cm1 = if i > r.start {
                s.case[i - 1] as usize
            } else {
                0
            };
            let cp1 = if i + 1 < r.end {
                s.case[i + 1] as usize
            } else {
                0
            };
            add_into(&mut acc, &tab.case_ctx[(cm1 * 8 + case) * 8 + cp1]);
            let place = s.place[i] as usize;
            match tab.place.get(place * 8 + case) {
                Some(row) if place < PLACES => add_into(&mut acc, row),
                _ => model.add(
                    fid(T::Place, mix(place as u64, case as u64), shift),
                    &mut acc,
                ),
            }
            // Neighbour place codes, `PLACES` at a sentence edge.
            let pm1 = if i > r.start {
                s.place[i - 1]
            } else {
                PLACES as u64
            };
            let pp1 = if i + 1 < r.end {
                s.place[i + 1]
            } else {
                PLACES as u64
            };
            if pm1 <= PLACES as u64 && pp1 <= PLACES as u64 {
                add_into(
                    &mut acc,
                    &tab.place_ctx[pm1 as usize * (PLACES + 1) + pp1 as usize],
                );
            } else {
                for (p, t, rows) in [
                    (pm1, T::PlaceM1, &tab.place_m1),
                    (pp1, T::PlaceP1, &tab.place_p1),
                ] {
                    match rows.get(p as usize) {
                        Some(row) => add_into(&mut acc, row),
                        None => model.add(fid(t, p, shift), &mut acc),
                    }
                }
            }
            let len = token_features(words, s, r, i, &mut depth, shift, false, &mut buf);
            for &f in &buf[..len] {
                model.add(f, &mut acc);
            }
            let slot = s.slot[i];
            let share = s.contexts.share(slot, i);
            if share != Share::Nothing {
                // What every mention lends, once per word, less what only
                // this token lends (integer sums: exact in any order).
                let total = match s.lent_total.get(slot) {
                    Some(t) => *t,
                    None => {
                        let mut t = [0i32; NTAGS];
                        s.contexts
                            .all(slot, |v| model.add(fid(T::Lent, v, shift), &mut t));
                        s.lent_total.get_or_insert(slot, t);
                        t
                    }
                };
                add_into(&mut acc, &total);
                if share == Share::AllButOwn {
                    let mut own = [0i32; NTAGS];
                    s.contexts
                        .only_from(slot, i, |v| model.add(fid(T::Lent, v, shift), &mut own));
                    for (a, o) in acc.iter_mut().zip(own) {
                        *a -= o;
                    }
                }
            }
            out.push(acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str]) -> (Features, Scratch) {
        let g = Gazetteer::parse("P\tNew York\tS\t5128638\tUS\t\n").unwrap();
        let mut s = Scratch::default();
        let mut f = Features::default();
        let all = 0..words.len();
        let whole = std::slice::from_ref(&all);
        extract(&g, &Lexicon::default(), 20, words, whole, &mut s, &mut f);
        (f, s)
    }

    #[test]
    fn shapes_collapse_character_runs() {
        assert_eq!(shape_hash("Trump"), shape_hash("Lavrov"));
        assert_eq!(shape_hash("U.S."), shape_hash("U.K."));
        assert_ne!(shape_hash("Trump"), shape_hash("NATO"));
    }

    #[test]
    fn classifies_casing() {
        assert_eq!(case_of("Kyiv"), Case::InitCap);
        assert_eq!(case_of("NATO"), Case::AllCaps);
        assert_eq!(case_of("McCain"), Case::Mixed);
        assert_eq!(case_of("1996"), Case::Digit);
        assert_eq!(case_of("’s"), Case::Lower);
        assert_eq!(case_of(","), Case::Punct);
    }

    #[test]
    fn every_token_gets_features_within_the_table() {
        let (f, _) = run(&["He", "flew", "to", "New", "York", "."]);
        assert_eq!(f.offsets.len(), 7);
        for i in 0..6 {
            assert!(f.of(i).len() > 20);
            assert!(f.of(i).iter().all(|&id| id < 1 << 20));
        }
    }

    #[test]
    fn same_word_in_same_context_gets_same_features() {
        let (f, _) = run(&["in", "Paris", "and", "in", "Paris", "and"]);
        // Tokens 1 and 4 share every context except the words two away
        // (the second-left and second-right word, and the latter's two
        // cluster prefixes), and one of the three clusters each lends the
        // other (the word two away again).
        let a: Vec<u32> = f.of(1).to_vec();
        let b: Vec<u32> = f.of(4).to_vec();
        let shared = a.iter().filter(|x| b.contains(x)).count();
        assert!(shared >= a.len() - 5, "{shared} of {}", a.len());
    }

    #[test]
    fn char_grams_cover_long_words_only() {
        let grams = |w: &str| {
            let mut v = Vec::new();
            char_grams(w, |h| v.push(h));
            v
        };
        assert!(
            grams("bank").is_empty(),
            "four characters: affixes cover it"
        );
        assert_eq!(grams("banks").len(), 3);
        // "ban", "ank", "nks" against "ank", "nki", "kin", "ing": one shared.
        let (a, b) = (grams("banks"), grams("anking"));
        assert_eq!(a.iter().filter(|h| b.contains(h)).count(), 1);
        assert_eq!(grams(&"x".repeat(100)).len(), GRAM_MAX);
        assert_eq!(grams("zürich").len(), 4, "counted in characters");
    }

    #[test]
    fn words_of_one_cluster_share_cluster_features_at_every_prefix() {
        let lex = Lexicon::from_entries(
            [
                ("Paris", 0b1010100110u64, -11.0),
                ("Oslo", 0b1110100110, -13.0),
                ("said", 0b1110100, -7.0),
            ]
            .into_iter(),
        )
        .unwrap();
        let g = Gazetteer::default();
        let feats = |words: &[&str]| {
            let mut f = Features::default();
            let all = 0..words.len();
            let r = std::slice::from_ref(&all);
            extract(&g, &lex, 20, words, r, &mut Scratch::default(), &mut f);
            f
        };
        let cl = |t: T, k: usize, c: u32| fid(t, cluster_values(c)[k], 44);
        let a = feats(&["in", "Paris", "said"]);
        let b = feats(&["in", "Oslo", "said"]);
        // Paris and Oslo agree on their first 6 and 4 bits, not on 10.
        for k in 0..2 {
            assert!(a.of(1).contains(&cl(T::Cluster, k, 0b1010100110)));
            assert!(b.of(1).contains(&cl(T::Cluster, k, 0b1110100110)));
            assert_eq!(
                cl(T::Cluster, k, 0b1010100110),
                cl(T::Cluster, k, 0b1110100110)
            );
        }
        assert_ne!(
            cl(T::Cluster, 2, 0b1010100110),
            cl(T::Cluster, 2, 0b1110100110)
        );
        // The neighbour's cluster reaches "said" from the left.
        assert!(a.of(2).contains(&cl(T::ClusterM1, 3, 0b1010100110)));
        assert!(!b.of(2).contains(&cl(T::ClusterM1, 3, 0b1010100110)));
    }

    #[test]
    fn gazetteer_match_marks_begin_and_inside() {
        let (_, s) = run(&["He", "flew", "to", "New", "York", "."]);
        assert_eq!(s.place[3] % 4, 1);
        assert_eq!(s.place[4] % 4, 2);
        assert_eq!(s.place[2], 0);
    }
}

//! Feature extraction: word, shape, affix, context, gazetteer and
//! document-level features, each hashed into a fixed table of `2^bits` ids.
//!
//! Everything that depends on one token alone is computed once per token
//! (its folded hash, shape, casing); the context templates then only combine
//! those integers. No per-token allocation: the scratch buffers are reused.

use std::ops::Range;

use super::gazetteer::Gazetteer;
use super::hash::{fold_into, hash_bytes, mix, HashKeyMap};

/// Casing class of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
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
}

/// Document-level facts about a folded word.
const SEEN_CAP: u8 = 1;
const SEEN_LOWER: u8 = 2;

/// Extracted features of one document: token `i` has `ids[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Default)]
pub(crate) struct Features {
    pub ids: Vec<u32>,
    pub offsets: Vec<usize>,
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
    word: Vec<u64>,
    shape: Vec<u64>,
    case: Vec<Case>,
    sent_start: Vec<bool>,
    caps_line: Vec<bool>,
    place: Vec<u64>,
    names: Vec<u8>,
    doc: HashKeyMap<u8>,
    /// Per token: hashes of the 1..=4-character prefixes, then suffixes, of
    /// the folded word (0 = the word is too short).
    affixes: Vec<[u64; 8]>,
    buf: String,
}

/// Fill `out` with the features of a document of `words` split into `sentences`.
pub(crate) fn extract(
    gaz: &Gazetteer,
    bits: u32,
    words: &[&str],
    sentences: &[Range<usize>],
    s: &mut Scratch,
    out: &mut Features,
) {
    let n = words.len();
    s.lower.clear();
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
    s.affixes.reserve(n);
    s.lower.reserve(n);
    s.word.reserve(n);
    s.shape.reserve(n);
    s.case.reserve(n);
    s.names.reserve(n);
    for w in words {
        fold_into(w, &mut s.buf);
        let lh = hash_bytes(s.buf.as_bytes());
        s.affixes.push(affix_hashes(&s.buf));
        s.lower.push(lh);
        s.word.push(hash_bytes(w.as_bytes()));
        s.shape.push(shape_hash(w));
        s.case.push(case_of(w));
        s.names.push(gaz.name_bits(lh));
    }
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
            *s.doc.entry(s.lower[i]).or_insert(0) |= flag;
        }
    }
    // Gazetteer places: longest match, within sentences, marking B and I.
    for r in sentences {
        let mut i = r.start;
        while i < r.end {
            if matches!(s.case[i], Case::Lower | Case::Punct | Case::Digit) {
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

    out.ids.clear();
    out.ids.reserve(n * 40);
    out.offsets.clear();
    out.offsets.reserve(n + 1);
    out.offsets.push(0);
    let shift = 64 - bits;
    // A token's features go to a fixed buffer first (fewer than 40
    // templates fire), then to `out` in one copy.
    let mut buf = [0u32; 48];
    let mut len: usize;
    macro_rules! push {
        ($t:expr, $v:expr) => {{
            buf[len] = (mix($t as u64, $v) >> shift) as u32;
            len += 1;
        }};
    }
    for r in sentences {
        let ctx = |v: &Vec<u64>, i: usize, d: isize, edge: u64| -> u64 {
            let j = i as isize + d;
            if j < r.start as isize || j >= r.end as isize {
                edge
            } else {
                v[j as usize]
            }
        };
        let mut depth = 0usize;
        for i in r.clone() {
            len = 0;
            let w = words[i];
            let case = s.case[i] as u64;
            let lw = s.lower[i];
            let lm1 = ctx(&s.lower, i, -1, 1);
            let lp1 = ctx(&s.lower, i, 1, 2);
            let sh = s.shape[i];
            let shm1 = ctx(&s.shape, i, -1, 1);
            let shp1 = ctx(&s.shape, i, 1, 2);
            let caps = u64::from(s.caps_line[i]);
            push!(T::Bias, 0);
            push!(T::Word, s.word[i]);
            push!(T::Lower, lw);
            push!(T::LowerM1, lm1);
            push!(T::LowerP1, lp1);
            push!(T::LowerM2, ctx(&s.lower, i, -2, 1));
            push!(T::LowerP2, ctx(&s.lower, i, 2, 2));
            push!(T::BigramM1, mix(lm1, lw));
            push!(T::BigramP1, mix(lw, lp1));
            push!(T::Shape, mix(sh, caps));
            push!(T::ShapeM1, shm1);
            push!(T::ShapeP1, shp1);
            push!(T::ShapeBiM1, mix(shm1, sh));
            push!(T::ShapeBiP1, mix(sh, shp1));
            push!(T::LowerM1Shape, mix(lm1, sh));
            push!(T::ShapeLowerP1, mix(sh, lp1));
            push!(
                T::CaseInit,
                mix(case, u64::from(s.sent_start[i]) * 2 + caps)
            );
            push!(T::Length, w.chars().count().min(12) as u64);
            let cm1 = if i > r.start { s.case[i - 1] as u64 } else { 0 };
            let cp1 = if i + 1 < r.end {
                s.case[i + 1] as u64
            } else {
                0
            };
            push!(T::CaseM1CaseP1, cm1 * 16 + case * 256 + cp1);
            for (k, h) in s.affixes[i].iter().enumerate() {
                if *h != 0 {
                    push!(if k < 4 { T::Prefix } else { T::Suffix }, mix(k as u64, *h));
                }
            }
            let place = s.place[i];
            push!(T::Place, mix(place, case));
            push!(T::PlaceM1, if i > r.start { s.place[i - 1] } else { 99 });
            push!(T::PlaceP1, if i + 1 < r.end { s.place[i + 1] } else { 99 });
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
            let seen = s.doc.get(&lw).copied().unwrap_or(0);
            push!(T::DocSeen, mix(u64::from(seen), case * 2 + caps));
            if caps == 1 {
                push!(T::CapsLine, lw);
            }
            if w == "(" {
                depth += 1;
            } else if w == ")" {
                depth = depth.saturating_sub(1);
            } else if depth > 0 {
                push!(T::InParens, sh);
            }
            out.ids.extend_from_slice(&buf[..len]);
            out.offsets.push(out.ids.len());
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
        extract(&g, 20, words, whole, &mut s, &mut f);
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
        // Tokens 1 and 4 share every context except the second-left word.
        let a: Vec<u32> = f.of(1).to_vec();
        let b: Vec<u32> = f.of(4).to_vec();
        let shared = a.iter().filter(|x| b.contains(x)).count();
        assert!(shared >= a.len() - 2, "{shared} of {}", a.len());
    }

    #[test]
    fn gazetteer_match_marks_begin_and_inside() {
        let (_, s) = run(&["He", "flew", "to", "New", "York", "."]);
        assert_eq!(s.place[3] % 4, 1);
        assert_eq!(s.place[4] % 4, 2);
        assert_eq!(s.place[2], 0);
    }
}

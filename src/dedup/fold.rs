//! Folding text into the key that is hashed. The key is never output; it only
//! decides which texts count as the same.

use serde::{Deserialize, Serialize};

/// How much of the surface form the hashing key forgets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Folding {
    /// The text as it is (the pipeline has already normalized Unicode and whitespace).
    Verbatim,
    /// Lowercased.
    Case,
    /// Lowercased, typographic quotes and dashes replaced by their ASCII forms,
    /// whitespace runs collapsed to one space.
    CaseQuotes,
    /// Lowercased words only: apostrophes dropped inside words, every other
    /// non-alphanumeric run turned into one space.
    #[default]
    Words,
}

impl Folding {
    /// All variants, from least to most folding.
    pub const ALL: [Folding; 4] = [
        Folding::Verbatim,
        Folding::Case,
        Folding::CaseQuotes,
        Folding::Words,
    ];

    /// Short name, as in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Folding::Verbatim => "verbatim",
            Folding::Case => "case",
            Folding::CaseQuotes => "case_quotes",
            Folding::Words => "words",
        }
    }
}

/// Fold `text` into `out` (cleared first), so callers can reuse one buffer.
pub fn fold_into(text: &str, folding: Folding, out: &mut String) {
    out.clear();
    out.reserve(text.len());
    match folding {
        Folding::Verbatim => out.push_str(text),
        Folding::Case => push_lower(text, out),
        Folding::CaseQuotes => fold_case_quotes(text, out),
        Folding::Words => fold_words(text, out),
    }
}

fn push_lower(text: &str, out: &mut String) {
    if text.is_ascii() {
        out.extend(text.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.extend(text.chars().flat_map(char::to_lowercase));
    }
}

fn ascii_quote(c: char) -> Option<char> {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{02BC}' => Some('\''),
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
        | '\u{00BB}' => Some('"'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => Some('-'),
        _ => None,
    }
}

fn fold_case_quotes(text: &str, out: &mut String) {
    let mut space = true; // drops leading whitespace
    for c in text.chars() {
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        space = false;
        match ascii_quote(c) {
            Some(a) => out.push(a),
            None if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            None => out.extend(c.to_lowercase()),
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
}

/// What an ASCII byte becomes in a words key: its lowercase form when it
/// belongs to a word, 0 for the apostrophe (dropped), a space otherwise
/// (a separator, written only after a word).
const ASCII_WORD_BYTE: [u8; 128] = {
    let mut table = [b' '; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    table[b'\'' as usize] = 0;
    table
};

fn fold_words(text: &str, out: &mut String) {
    // Works on bytes: ASCII (most of any news text) goes through a branch-free
    // loop, and only non-ASCII characters are decoded.
    let mut buf = std::mem::take(out).into_bytes();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        i = fold_ascii_words(bytes, i, &mut buf);
        let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        i += c.len_utf8();
        if c.is_alphanumeric() {
            let mut utf8 = [0u8; 4];
            for lower in c.to_lowercase() {
                buf.extend_from_slice(lower.encode_utf8(&mut utf8).as_bytes());
            }
        } else if ascii_quote(c) != Some('\'') && buf.last().is_some_and(|&b| b != b' ') {
            // "don't" and "don’t" both become "dont"; other punctuation separates words.
            buf.push(b' ');
        }
    }
    if buf.last() == Some(&b' ') {
        buf.pop();
    }
    // Only whole characters were copied, so this cannot fail.
    *out = String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

/// Fold the ASCII bytes of `bytes` from `i` up to the next non-ASCII byte
/// onto `buf`, and return where it stopped. A separator is written only after
/// a word byte (never first, never twice), like a `space` state would.
fn fold_ascii_words(bytes: &[u8], mut i: usize, buf: &mut Vec<u8>) -> usize {
    // Word boundaries come every few bytes, too often to predict: every byte
    // is stored at the write position, which advances only for kept bytes.
    // Blocks bound the zero-filling ahead of the writes.
    const BLOCK: usize = 64;
    let mut last = buf.last().copied().unwrap_or(b' ');
    while i < bytes.len() {
        let block = &bytes[i..bytes.len().min(i + BLOCK)];
        let mut len = buf.len();
        buf.resize(len + block.len(), 0);
        let mut done = 0;
        for &b in block {
            if !b.is_ascii() {
                break;
            }
            let v = ASCII_WORD_BYTE[usize::from(b)];
            buf[len] = v;
            let keep = v != 0 && (v != b' ' || last != b' ');
            len += usize::from(keep);
            last = if keep { v } else { last };
            done += 1;
        }
        buf.truncate(len);
        i += done;
        if done < block.len() {
            break;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(text: &str, folding: Folding) -> String {
        let mut out = String::new();
        fold_into(text, folding, &mut out);
        out
    }

    #[test]
    fn verbatim_keeps_text() {
        assert_eq!(fold("A  “b”", Folding::Verbatim), "A  “b”");
    }

    #[test]
    fn case_lowercases_non_ascii_too() {
        assert_eq!(fold("ÉTÉ Grand Slam", Folding::Case), "été grand slam");
    }

    #[test]
    fn case_quotes_maps_typographic_quotes_and_collapses_space() {
        assert_eq!(
            fold("  He said “It’s over” \n\n – Done ", Folding::CaseQuotes),
            "he said \"it's over\" - done"
        );
    }

    #[test]
    fn words_forget_punctuation_and_apostrophes() {
        assert_eq!(
            fold("Don’t panic, it's £1.5bn — “really”!", Folding::Words),
            "dont panic its 1 5bn really"
        );
        assert_eq!(fold("Don't", Folding::Words), fold("don’t", Folding::Words));
    }

    #[test]
    fn words_keep_non_ascii_letters_lowercased() {
        assert_eq!(fold("Ça VA, Zoë! Ωmega", Folding::Words), "ça va zoë ωmega");
    }

    #[test]
    fn words_of_punctuation_only_text_is_empty() {
        assert_eq!(fold(" -- ... !", Folding::Words), "");
    }

    /// `Folding::Words` one character at a time, with an explicit state.
    fn reference_words(text: &str) -> String {
        let mut out = String::new();
        let mut space = true;
        for c in text.chars() {
            if c.is_alphanumeric() {
                out.extend(c.to_lowercase());
                space = false;
            } else if c != '\'' && ascii_quote(c) != Some('\'') && !space {
                out.push(' ');
                space = true;
            }
        }
        if out.ends_with(' ') {
            out.pop();
        }
        out
    }

    #[test]
    fn words_agree_with_reference_on_tricky_text() {
        let long: String = "Ab, c'd ".repeat(40) + "é" + &"x-y ".repeat(30);
        let fixed = [
            "",
            " ",
            "'",
            "''a''",
            "a'",
            "\0\x01 a\x7f",
            "’leading quote",
            "   spaces   everywhere   ",
            "İstanbul ǅ ß ΣΑΣ",
            "café—naïve…“x”",
            "no-ascii:日本語テキスト",
            &long,
        ];
        for text in fixed {
            assert_eq!(
                fold(text, Folding::Words),
                reference_words(text),
                "{text:?}"
            );
        }
        let pieces = [
            "a", "B", "7", " ", "  ", "'", "’", "-", ".", "é", "İ", "—", "\n", "x", "日", "\t",
        ];
        let mut state = 0x9e37_79b9_u64;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(state % 150) {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            assert_eq!(
                fold(&text, Folding::Words),
                reference_words(&text),
                "{text:?}"
            );
        }
    }
}

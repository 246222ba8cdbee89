//! Tokenizer for raw article text, following CoNLL-2003 conventions closely
//! enough that the trained model sees familiar tokens: punctuation is split
//! off, "U.S." and known abbreviations stay whole, clitics ("'s", "n't") are
//! separate tokens. Tokens are byte ranges into the input, so nothing is
//! allocated per token and every token maps back to its exact source text.

/// A token: a byte range `start..end` into the tokenized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// First byte of the token.
    pub start: usize,
    /// One past the last byte of the token.
    pub end: usize,
}

/// Abbreviations that keep their final period (CoNLL writes "Mr.", "Inc.", "vs.").
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "inc", "corp", "co", "ltd", "vs", "gen", "sen",
    "rep", "gov", "lt", "col", "capt", "sgt", "prof", "rev", "no", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "calif", "fla", "mass", "ariz",
    "penn", "wash", "bros", "ft", "mt", "adm", "cmdr", "pres", "messrs", "etc",
];

/// Characters split off the front of a word.
fn is_opening(c: char) -> bool {
    matches!(
        c,
        '(' | '[' | '{' | '"' | '\'' | '`' | '\u{201C}' | '\u{2018}' | '\u{00AB}' | '\u{201E}'
    )
}

/// Characters split off the end of a word (the period is handled apart).
fn is_closing(c: char) -> bool {
    matches!(
        c,
        ')' | ']'
            | '}'
            | '"'
            | '\''
            | '\u{201D}'
            | '\u{2019}'
            | '\u{00BB}'
            | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '\u{2026}'
    )
}

/// Characters that always stand alone, even inside a word ("war—and").
const fn is_standalone(c: char) -> bool {
    matches!(
        c,
        '\u{2014}' | '\u{2013}' | '\u{2026}' | '"' | '\u{201C}' | '\u{201D}'
    )
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Append the tokens of `text` to `out`.
pub fn tokenize(text: &str, out: &mut Vec<Token>) {
    let bytes = text.as_bytes();
    let mut chunk_start = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        // ASCII (nearly every byte of news text) by table, without decoding.
        let c = if b.is_ascii() {
            match ASCII_CLASS[usize::from(b)] {
                Class::Word => {
                    if chunk_start.is_none() {
                        chunk_start = Some(i);
                    }
                    i += 1;
                    continue;
                }
                Class::Space => ' ',
                Class::Standalone => char::from(b),
            }
        } else {
            match text.get(i..).and_then(|t| t.chars().next()) {
                Some(c) => c,
                None => break,
            }
        };
        let at = i;
        i += c.len_utf8();
        if c.is_whitespace() {
            if let Some(s) = chunk_start.take() {
                split_chunk(text, s, at, out);
            }
        } else if is_standalone(c) {
            if let Some(s) = chunk_start.take() {
                split_chunk(text, s, at, out);
            }
            out.push(Token { start: at, end: i });
        } else if chunk_start.is_none() {
            chunk_start = Some(at);
        }
    }
    if let Some(s) = chunk_start {
        split_chunk(text, s, text.len(), out);
    }
}

/// How the tokenizer treats an ASCII byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Space,
    Standalone,
}

/// [`Class`] of every ASCII byte, agreeing with `char::is_whitespace` and
/// [`is_standalone`].
const ASCII_CLASS: [Class; 128] = {
    let mut t = [Class::Word; 128];
    let mut b = 0;
    while b < 128 {
        // The ASCII characters `char::is_whitespace` accepts.
        if matches!(b as u8, b' ' | b'\t'..=b'\r') {
            t[b] = Class::Space;
        } else if is_standalone(b as u8 as char) {
            t[b] = Class::Standalone;
        }
        b += 1;
    }
    t
};

/// Split one whitespace-free chunk `text[start..end]` into tokens.
fn split_chunk(text: &str, mut start: usize, mut end: usize, out: &mut Vec<Token>) {
    // Most chunks are plain words or numbers: nothing to split.
    if text.as_bytes()[start..end]
        .iter()
        .all(u8::is_ascii_alphanumeric)
    {
        out.push(Token { start, end });
        return;
    }
    // Leading punctuation, one token per character.
    while let Some(c) = text[start..end].chars().next() {
        if !is_opening(c) || start + c.len_utf8() == end {
            break;
        }
        // "'s" at the start of a chunk is a clitic, not a quote.
        if is_apostrophe(c) && clitic_len(&text[start..end]) == end - start {
            break;
        }
        out.push(Token {
            start,
            end: start + c.len_utf8(),
        });
        start += c.len_utf8();
    }
    // Trailing punctuation, collected in reverse at the end of `out`, then
    // moved behind the word.
    let tail_at = out.len();
    while end > start {
        let word = &text[start..end];
        let Some(c) = word.chars().next_back() else {
            break;
        };
        if word.len() == c.len_utf8() {
            break;
        }
        if c == '.' {
            if word.ends_with("...") && word.len() > 3 {
                out.push(Token {
                    start: end - 3,
                    end,
                });
                end -= 3;
                continue;
            }
            if keeps_period(word) {
                break;
            }
            out.push(Token {
                start: end - 1,
                end,
            });
            end -= 1;
            continue;
        }
        if is_closing(c) {
            // "players'" keeps the apostrophe apart, but "O'" inside stays.
            out.push(Token {
                start: end - c.len_utf8(),
                end,
            });
            end -= c.len_utf8();
            continue;
        }
        break;
    }
    out[tail_at..].reverse();
    let tail_len = out.len() - tail_at;
    if end > start {
        let word = &text[start..end];
        let cl = clitic_len(word);
        if cl > 0 && cl < word.len() {
            out.push(Token {
                start,
                end: end - cl,
            });
            out.push(Token {
                start: end - cl,
                end,
            });
        } else {
            out.push(Token { start, end });
        }
    }
    // Rotate the word (and clitic) in front of the trailing punctuation.
    let word_len = out.len() - tail_at - tail_len;
    out[tail_at..].rotate_right(word_len);
}

/// Byte length of a trailing clitic ("'s", "n't", "’ll", ...), or 0.
fn clitic_len(word: &str) -> usize {
    let lower_ends = |suffix: &str| {
        word.len() >= suffix.len()
            && word.is_char_boundary(word.len() - suffix.len())
            && word[word.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    const CLITICS: &[&str] = &[
        "n't",
        "n\u{2019}t",
        "'s",
        "\u{2019}s",
        "'re",
        "\u{2019}re",
        "'ve",
        "\u{2019}ve",
        "'ll",
        "\u{2019}ll",
        "'d",
        "\u{2019}d",
        "'m",
        "\u{2019}m",
    ];
    for cl in CLITICS {
        if lower_ends(cl) {
            return cl.len();
        }
    }
    0
}

/// Whether a word ending in "." keeps it: initials ("U.S.", "a.m.") and
/// known abbreviations ("Mr.", "Inc.").
fn keeps_period(word: &str) -> bool {
    let body = &word[..word.len() - 1];
    if body.is_empty() {
        return false;
    }
    // Letter-dot sequences: "U.S", "a.m", "J".
    let bytes = body.as_bytes();
    let initials = bytes.iter().enumerate().all(|(i, b)| {
        if i % 2 == 0 {
            b.is_ascii_alphabetic()
        } else {
            *b == b'.'
        }
    });
    if initials
        && bytes.len() <= 9
        && (bytes.len() == 1 && bytes[0].is_ascii_uppercase() || bytes.len() > 1)
    {
        return true;
    }
    ABBREVIATIONS
        .iter()
        .any(|a| a.len() == body.len() && a.eq_ignore_ascii_case(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        tokenize(text, &mut out);
        out.iter().map(|t| &text[t.start..t.end]).collect()
    }

    #[test]
    fn splits_punctuation_but_keeps_initialisms() {
        assert_eq!(
            toks("former U.S. President, (Donald) Trump."),
            [
                "former",
                "U.S.",
                "President",
                ",",
                "(",
                "Donald",
                ")",
                "Trump",
                "."
            ]
        );
    }

    #[test]
    fn splits_possessives_with_curly_apostrophes() {
        assert_eq!(toks("Trump’s view"), ["Trump", "’s", "view"]);
        assert_eq!(toks("NATO's role"), ["NATO", "'s", "role"]);
        assert_eq!(toks("don't go"), ["do", "n't", "go"]);
    }

    #[test]
    fn keeps_known_abbreviations_and_names_with_apostrophes() {
        assert_eq!(
            toks("Mr. O'Brien of Acme Inc. left"),
            ["Mr.", "O'Brien", "of", "Acme", "Inc.", "left"]
        );
    }

    #[test]
    fn splits_dashes_and_quotes_inside_words() {
        assert_eq!(
            toks("war—and “peace”"),
            ["war", "—", "and", "“", "peace", "”"]
        );
    }

    #[test]
    fn offsets_cover_exact_source_text_with_unicode() {
        let text = "Zürich’s café, Kyiv.";
        let mut out = Vec::new();
        tokenize(text, &mut out);
        for t in &out {
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
            assert!(!text[t.start..t.end].trim().is_empty());
        }
        assert_eq!(toks(text), ["Zürich", "’s", "café", ",", "Kyiv", "."]);
    }

    #[test]
    fn ascii_table_agrees_with_char_classes() {
        for b in 0u8..128 {
            let c = char::from(b);
            let want = if c.is_whitespace() {
                Class::Space
            } else if is_standalone(c) {
                Class::Standalone
            } else {
                Class::Word
            };
            assert!(ASCII_CLASS[usize::from(b)] == want, "byte {b}");
        }
    }

    #[test]
    fn keeps_numbers_and_hyphenated_words() {
        assert_eq!(toks("1,000 anti-war 3.5%"), ["1,000", "anti-war", "3.5%"]);
    }
}

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
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        // Between chunks: skip whitespace, emit standalone characters.
        match BYTE_CLASS[usize::from(b)] {
            Class::Space => {
                i += 1;
                continue;
            }
            Class::Standalone => {
                out.push(Token {
                    start: i,
                    end: i + 1,
                });
                i += 1;
                continue;
            }
            Class::Alnum | Class::Punct => {}
            Class::NonAscii => {
                let Some(c) = text.get(i..).and_then(|t| t.chars().next()) else {
                    break;
                };
                if c.is_whitespace() {
                    i += c.len_utf8();
                    continue;
                }
                if is_standalone(c) {
                    out.push(Token {
                        start: i,
                        end: i + c.len_utf8(),
                    });
                    i += c.len_utf8();
                    continue;
                }
            }
        }
        // A chunk starts here. Most are plain words or numbers (ASCII letters
        // and digits only), which are whole tokens: scan those once, by table.
        let start = i;
        while bytes
            .get(i)
            .is_some_and(|&b| BYTE_CLASS[usize::from(b)] == Class::Alnum)
        {
            i += 1;
        }
        let end = chunk_end(text, i);
        if end == i {
            out.push(Token { start, end });
        } else {
            split_chunk(text, start, end, out);
        }
        i = end;
    }
}

/// End of the chunk that continues at byte `i`: the next whitespace or
/// standalone character, or the end of `text`.
fn chunk_end(text: &str, mut i: usize) -> usize {
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(i) {
        match BYTE_CLASS[usize::from(b)] {
            Class::Alnum | Class::Punct => i += 1,
            Class::Space | Class::Standalone => return i,
            Class::NonAscii => {
                let Some(c) = text.get(i..).and_then(|t| t.chars().next()) else {
                    return i;
                };
                if c.is_whitespace() || is_standalone(c) {
                    return i;
                }
                i += c.len_utf8();
            }
        }
    }
    i
}

/// How the tokenizer treats a byte.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// ASCII letter or digit.
    Alnum,
    /// Any other ASCII character that belongs to a chunk.
    Punct,
    /// ASCII whitespace.
    Space,
    /// An ASCII character that always stands alone.
    Standalone,
    /// Part of a multi-byte character: decoded to classify.
    NonAscii,
}

/// [`Class`] of every byte, agreeing with `char::is_whitespace` and
/// [`is_standalone`] on ASCII.
const BYTE_CLASS: [Class; 256] = {
    let mut t = [Class::NonAscii; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        // The ASCII characters `char::is_whitespace` accepts.
        t[b] = if matches!(c, b' ' | b'\t'..=b'\r') {
            Class::Space
        } else if is_standalone(c as char) {
            Class::Standalone
        } else if c.is_ascii_alphanumeric() {
            Class::Alnum
        } else {
            Class::Punct
        };
        b += 1;
    }
    t
};

/// Split one whitespace-free chunk `text[start..end]` into tokens.
fn split_chunk(text: &str, mut start: usize, mut end: usize, out: &mut Vec<Token>) {
    // Plain words never get here (see `tokenize`), but would come out whole.
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
    // Every clitic holds an apostrophe (' or the last byte of ’) within its
    // last five bytes; most words have none, so skip the suffix tests.
    let tail = &word.as_bytes()[word.len().saturating_sub(5)..];
    if !tail.iter().any(|&b| b == b'\'' || b == 0x99) {
        return 0;
    }
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
    is_abbreviation(body)
}

/// Whether `body` is one of [`ABBREVIATIONS`], ignoring ASCII case.
fn is_abbreviation(body: &str) -> bool {
    let b = body.as_bytes();
    // Every entry has 2 to 6 letters: rule out the rest before comparing.
    if !(2..=6).contains(&b.len()) || !b[0].is_ascii_alphabetic() {
        return false;
    }
    ABBREVIATIONS
        .iter()
        .any(|a| a.len() == b.len() && a.as_bytes().eq_ignore_ascii_case(b))
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
    fn byte_table_agrees_with_char_classes() {
        for b in 0u8..=255 {
            let c = char::from(b);
            let want = if !b.is_ascii() {
                Class::NonAscii
            } else if c.is_whitespace() {
                Class::Space
            } else if is_standalone(c) {
                Class::Standalone
            } else if c.is_ascii_alphanumeric() {
                Class::Alnum
            } else {
                Class::Punct
            };
            assert_eq!(BYTE_CLASS[usize::from(b)], want, "byte {b}");
        }
    }

    /// The tokenizer without fast paths: chunks found char by char, each one
    /// split by `split_chunk`.
    fn reference(text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        let mut chunk = None;
        for (at, c) in text.char_indices() {
            if c.is_whitespace() || is_standalone(c) {
                if let Some(s) = chunk.take() {
                    split_chunk(text, s, at, &mut out);
                }
                if is_standalone(c) {
                    out.push(Token {
                        start: at,
                        end: at + c.len_utf8(),
                    });
                }
            } else if chunk.is_none() {
                chunk = Some(at);
            }
        }
        if let Some(s) = chunk {
            split_chunk(text, s, text.len(), &mut out);
        }
        out
    }

    fn slow_clitic_len(word: &str) -> usize {
        [
            "n't", "n’t", "'s", "’s", "'re", "’re", "'ve", "’ve", "'ll", "’ll", "'d", "’d", "'m",
            "’m",
        ]
        .iter()
        .find(|cl| {
            word.len() >= cl.len()
                && word.is_char_boundary(word.len() - cl.len())
                && word[word.len() - cl.len()..].eq_ignore_ascii_case(cl)
        })
        .map_or(0, |cl| cl.len())
    }

    #[test]
    fn fast_paths_agree_with_reference_on_tricky_text() {
        let fixed = [
            "",
            " ",
            "\t\n",
            "word",
            "a",
            ".",
            "...",
            "..",
            "!?!",
            "Mr. MR. mR. Messrs. etc. no. No. ok.",
            "U.S. u.s. J. j. A.B.C.D.E. a.m.",
            "don't DON'T don’t won’T it’ll we'VE I'm ’s 's '",
            "(Zürich) «Genève» „Quote“ ‘single’ ...and… end…",
            "war—and peace–time —x— \u{a0}nbsp\u{2003}em\u{3000}ideo",
            "3.5% 1,000 $5 #tag @user e-mail x/y a_b",
            "ÉTÉ çà ωmega 日本語 Ünïcödé’s",
            "\"quoted\" 'single' `tick` {brace} [bracket]",
            "trailing space ",
            "no-final-newline.\n\n",
        ];
        for text in fixed {
            let mut got = Vec::new();
            tokenize(text, &mut got);
            assert_eq!(got, reference(text), "{text:?}");
        }
        // Pseudo-random strings over an alphabet of awkward pieces.
        let pieces = [
            "a", "Z", "9", " ", "\n", ".", ",", "'", "’", "\"", "“", "”", "—", "…", "(", ")", "é",
            "s", "t", "n", "Mr", "U", "\u{a0}", "!", "-", "ll",
        ];
        let mut state = 0x1234_5678_u64;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..12 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            let mut got = Vec::new();
            tokenize(&text, &mut got);
            assert_eq!(got, reference(&text), "{text:?}");
            for w in text.split_whitespace() {
                assert_eq!(clitic_len(w), slow_clitic_len(w), "{w:?}");
            }
        }
    }

    #[test]
    fn abbreviation_check_matches_the_list() {
        for a in ABBREVIATIONS {
            assert!(
                is_abbreviation(a) && is_abbreviation(&a.to_uppercase()),
                "{a}"
            );
        }
        for w in ["", "m", "mrx", "messrss", "é", "ms\u{e9}", "1no"] {
            assert!(!is_abbreviation(w), "{w}");
        }
    }

    #[test]
    fn keeps_numbers_and_hyphenated_words() {
        assert_eq!(toks("1,000 anti-war 3.5%"), ["1,000", "anti-war", "3.5%"]);
    }
}

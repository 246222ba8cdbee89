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

fn fold_words(text: &str, out: &mut String) {
    let mut space = true;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            space = false;
        } else if c == '\'' || ascii_quote(c) == Some('\'') {
            // "don't" and "don’t" both become "dont"; quotes around words vanish.
        } else if !c.is_ascii() && c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
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
    fn words_of_punctuation_only_text_is_empty() {
        assert_eq!(fold(" -- ... !", Folding::Words), "");
    }
}

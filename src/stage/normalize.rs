//! Text normalization: NFC, whitespace, control characters, paragraphs.
//!
//! Two input layouts are common and both end up the same way, paragraphs
//! separated by exactly one blank line:
//!
//! - blank-line layout (BBC files): blocks separated by blank lines are the
//!   paragraphs. A line break inside a block (a bulleted list, a hard wrap) is
//!   kept as a single `\n`, since guessing which it is would risk rewording.
//! - line layout (the seed, many scraped pages): no blank line anywhere, so
//!   every line is a paragraph.

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::record::Article;
use crate::stage::{Stage, Verdict};

/// Normalize article text. The result keeps the article's wording; it only
/// fixes encoding-level noise and layout. Paragraphs are separated by exactly
/// one blank line; no line has leading or trailing whitespace.
///
/// - CRLF, CR, VT, FF, NEL and U+2028 end a line; U+2029 ends a paragraph.
/// - Tabs, NBSP and the other Unicode spaces become a space; runs of spaces
///   collapse to one.
/// - Zero-width spaces, word joiners, stray BOMs and soft hyphens are dropped,
///   as are all other control characters. ZWJ/ZWNJ are kept: they change how
///   emoji and several scripts render, so dropping them would alter the text.
/// - The result is in Unicode NFC.
pub fn normalize(text: &str) -> String {
    let mut b = Builder::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                b.line(&text[start..i]);
                b.end_line();
                i += 1;
                start = i;
            }
            b'\r' => {
                b.line(&text[start..i]);
                b.end_line();
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    b.line(&text[start..]);
    b.finish()
}

/// Normalize text that must stay on one line (a supplied title): as
/// [`normalize`], with every line or paragraph break turned into a space.
pub fn normalize_line(text: &str) -> String {
    let text = normalize(text);
    if !text.contains('\n') {
        return text;
    }
    text.split('\n')
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Output under construction. Separators are written lazily, when the next
/// visible character arrives, so trailing spaces and blank lines never need
/// to be taken back.
struct Builder {
    out: String,
    /// Line ends seen since the last visible character (2+ means a blank line).
    pending_newlines: usize,
    pending_space: bool,
    line_has_content: bool,
    saw_blank_line: bool,
    /// A character that NFC might change was copied.
    maybe_not_nfc: bool,
}

impl Builder {
    fn with_capacity(n: usize) -> Self {
        Builder {
            out: String::with_capacity(n + n / 16),
            pending_newlines: 0,
            pending_space: false,
            line_has_content: false,
            saw_blank_line: false,
            maybe_not_nfc: false,
        }
    }

    /// Append one physical line (no CR or LF inside).
    fn line(&mut self, line: &str) {
        if is_plain_ascii(line) {
            // Fast path, nearly every line of English news: copy the trimmed slice.
            let t = line.trim_matches(' ');
            if !t.is_empty() {
                self.push_run(t);
            }
            return;
        }
        // Copy runs of ordinary characters whole; only the others are looked at.
        let mut run = 0;
        for (i, c) in line.char_indices() {
            if is_ordinary(c) {
                // Nothing below U+0300 can change under NFC.
                self.maybe_not_nfc |= c >= '\u{300}';
                continue;
            }
            if run < i {
                self.push_run(&line[run..i]);
            }
            self.special(c);
            run = i + c.len_utf8();
        }
        if run < line.len() {
            self.push_run(&line[run..]);
        }
    }

    /// Append visible text (no whitespace at either end).
    fn push_run(&mut self, s: &str) {
        self.begin_content();
        self.out.push_str(s);
    }

    /// Handle a character [`is_ordinary`] turned down.
    fn special(&mut self, c: char) {
        match c {
            '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' => self.end_line(),
            '\u{2029}' => {
                self.end_line();
                self.end_line();
            }
            c if is_space(c) => self.pending_space = true,
            // Zero-width characters, soft hyphens, other controls: dropped.
            _ => {}
        }
    }

    /// Write whatever separator is due before the next visible character.
    fn begin_content(&mut self) {
        if self.line_has_content {
            if self.pending_space {
                self.out.push(' ');
            }
        } else {
            if !self.out.is_empty() {
                if self.pending_newlines >= 2 {
                    self.out.push_str("\n\n");
                    self.saw_blank_line = true;
                } else {
                    self.out.push('\n');
                }
            }
            self.line_has_content = true;
            self.pending_newlines = 0;
        }
        self.pending_space = false;
    }

    fn end_line(&mut self) {
        if self.line_has_content {
            self.line_has_content = false;
            self.pending_newlines = 1;
        } else if !self.out.is_empty() {
            self.pending_newlines += 1;
        }
        self.pending_space = false;
    }

    fn finish(self) -> String {
        let mut out = self.out;
        if !self.saw_blank_line && out.contains('\n') {
            // Line layout: every line is a paragraph.
            out = out.replace('\n', "\n\n");
        }
        if self.maybe_not_nfc && is_nfc_quick(out.chars()) != IsNormalized::Yes {
            out = out.nfc().collect();
        }
        out
    }
}

/// Printable ASCII with no doubled space: a line the fast path may copy as is.
fn is_plain_ascii(line: &str) -> bool {
    // Two simple scans vectorize; one loop tracking the previous byte does not.
    line.bytes().all(|b| (0x20..0x7F).contains(&b)) && !line.contains("  ")
}

/// Spaces other than line breaks: ASCII space and tab, NBSP, the Unicode
/// spaces (U+2000..U+200A, U+202F, U+205F, U+3000, U+1680).
fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// A character copied unchanged: visible, not a space, not one to drop.
fn is_ordinary(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_graphic();
    }
    !(c.is_control()
        || is_space(c)
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}' | '\u{180E}'
        ))
}

/// The normalize stage. Always on: every later stage relies on its output.
#[derive(Debug, Default, Clone)]
pub struct Normalize;

impl Stage for Normalize {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn process(&self, article: &mut Article) -> Verdict {
        article.text = normalize(&article.text);
        if let Some(t) = article.given_title.take() {
            article.given_title = Some(normalize_line(&t));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_lone_cr_become_lf() {
        assert_eq!(normalize("Head\r\n\r\nOne\r\rTwo"), "Head\n\nOne\n\nTwo");
    }

    #[test]
    fn every_line_is_a_paragraph_when_there_are_no_blank_lines() {
        assert_eq!(
            normalize("First line.\nSecond line.\nThird."),
            "First line.\n\nSecond line.\n\nThird."
        );
    }

    #[test]
    fn runs_of_blank_lines_become_one() {
        assert_eq!(
            normalize("\n\nHead\n\n\n\n  \t \nBody one.\n\nBody two.\n\n\n"),
            "Head\n\nBody one.\n\nBody two."
        );
    }

    #[test]
    fn line_breaks_inside_a_block_are_kept_in_blank_line_layout() {
        let text = "Head\n\nThe plan:\n - cut tax \n - raise spending\n\nMore.";
        assert_eq!(
            normalize(text),
            "Head\n\nThe plan:\n- cut tax\n- raise spending\n\nMore."
        );
    }

    #[test]
    fn spaces_are_trimmed_and_collapsed_and_tabs_become_spaces() {
        assert_eq!(
            normalize("  Two   spaces\tand\t\ttabs.  "),
            "Two spaces and tabs."
        );
    }

    #[test]
    fn nbsp_and_unicode_spaces_become_plain_spaces() {
        assert_eq!(
            normalize("10\u{A0}km away,\u{2009}\u{A0}said\u{3000}Mr\u{202F}Lee"),
            "10 km away, said Mr Lee"
        );
    }

    #[test]
    fn zero_width_characters_and_soft_hyphens_are_removed() {
        assert_eq!(
            normalize("\u{FEFF}in\u{AD}ter\u{200B}na\u{2060}tional"),
            "international"
        );
    }

    #[test]
    fn zwj_in_emoji_sequences_is_kept() {
        let family = "Team \u{1F469}\u{200D}\u{1F4BB} wins";
        assert_eq!(normalize(family), family);
    }

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(
            normalize("Bell\u{7}ed\u{1B} and\u{85}NEL\u{9C}"),
            "Belled and\n\nNEL"
        );
    }

    #[test]
    fn vertical_tab_and_form_feed_end_lines() {
        assert_eq!(normalize("A\u{0B}B\u{0C}C"), "A\n\nB\n\nC");
    }

    #[test]
    fn unicode_paragraph_separator_ends_a_paragraph() {
        assert_eq!(
            normalize("Head\u{2029}Line one\u{2028}line two"),
            "Head\n\nLine one\nline two"
        );
    }

    #[test]
    fn output_is_nfc() {
        assert_eq!(
            normalize("Cafe\u{301} Ame\u{301}lie"),
            "Caf\u{E9} Am\u{E9}lie"
        );
        // A removed zero-width space no longer blocks composition.
        assert_eq!(normalize("e\u{200B}\u{301}"), "\u{E9}");
    }

    #[test]
    fn quotes_dashes_and_wording_are_untouched() {
        let text = "“It’s over” — he said, ‘quietly’ … \"really\" - 'ok'";
        assert_eq!(normalize(text), text);
    }

    #[test]
    fn whitespace_only_input_becomes_empty() {
        assert_eq!(normalize(" \u{A0}\r\n\t\u{200B}\n"), "");
    }

    #[test]
    fn normalize_is_idempotent() {
        for text in [
            "Head\r\n\r\n\r\nA  b\u{A0}c.\n - x\n - y\n\nEnd",
            "One.\nTwo.\nThree.",
            "e\u{301}\u{2029}\u{2029}x",
        ] {
            let once = normalize(text);
            assert_eq!(normalize(&once), once, "{text:?}");
        }
    }

    #[test]
    fn normalize_line_joins_breaks_with_spaces() {
        assert_eq!(normalize_line(" Big\r\nnews \n\n today "), "Big news today");
    }

    #[test]
    fn stage_normalizes_text_and_given_title() {
        let mut a = Article::new(0, Default::default(), "A\r\nB".into());
        a.given_title = Some("  Split\ntitle ".into());
        Normalize.process(&mut a).unwrap();
        assert_eq!(a.text, "A\n\nB");
        assert_eq!(a.given_title.as_deref(), Some("Split title"));
    }

    #[test]
    fn seed_lines_become_paragraphs_and_keep_their_words() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/seeds/000_104e59b0cc160511.txt"
        );
        let raw = std::fs::read_to_string(path).unwrap();
        let out = normalize(&raw);
        assert_eq!(out.split("\n\n").count(), raw.lines().count());
        assert!(
            out.contains("Also Read; U.S. Considers Plan to Inspect\n\nIranian Oil Tankers\n\n")
        );
        assert!(raw.split_whitespace().eq(out.split_whitespace()));
    }

    #[test]
    fn crlf_copy_of_a_seed_normalizes_identically() {
        let seeds = corpus::seeds_raw();
        let get = |p: &str| &seeds.iter().find(|(n, _)| n.starts_with(p)).unwrap().1;
        assert_ne!(get("003_"), get("005_"));
        assert_eq!(normalize(get("003_")), normalize(get("005_")));
    }

    #[test]
    fn bom_crlf_seed_loses_its_noise() {
        let seeds = corpus::seeds_raw();
        let (_, raw) = seeds.iter().find(|(n, _)| n.starts_with("001_")).unwrap();
        let out = normalize(raw);
        assert!(out.starts_with("Harbour town votes"));
        assert!(!out.contains(['\r', '\t', '\u{A0}', '\u{FEFF}']));
        assert!(out.contains("five years") && out.contains("\u{A3}2.4m"));
        assert!(out.contains("48%.\n\n\"People here"));
    }

    #[test]
    fn bbc_corpus_keeps_every_word_and_gets_one_layout() {
        let Some(corpus) = corpus::bbc_raw() else {
            return;
        };
        for (p, raw) in &corpus {
            let out = normalize(raw);
            assert!(raw.split_whitespace().eq(out.split_whitespace()), "{p}");
            assert!(!out.contains("\n\n\n"), "{p}");
            assert!(out.lines().all(|l| l.trim() == l), "{p}");
            let head = raw
                .lines()
                .next()
                .map(|l| l.split_whitespace().collect::<Vec<_>>());
            let got = out.split_once("\n\n").map(|(h, _)| h.split(' ').collect());
            assert_eq!(got, head, "{p}");
        }
        assert_eq!(corpus.len(), 2225);
    }
}

/// Test access to the corpora under `../shared` and `seeds/`.
#[cfg(test)]
pub(crate) mod corpus {
    use std::path::Path;

    /// Every BBC article as decoded text, keyed by `category/NNN.txt`, or
    /// `None` (after saying so) when `../shared` is absent.
    pub(crate) fn bbc_raw() -> Option<Vec<(String, String)>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/bbc");
        if !root.is_dir() {
            crate::test_support::skip(&format!("{} not present", root.display()));
            return None;
        }
        let mut out = Vec::new();
        let mut cats: Vec<_> = std::fs::read_dir(&root).ok()?.flatten().collect();
        cats.sort_by_key(|e| e.file_name());
        for cat in cats.iter().filter(|e| e.path().is_dir()) {
            let mut files: Vec<_> = std::fs::read_dir(cat.path()).ok()?.flatten().collect();
            files.sort_by_key(|e| e.file_name());
            for f in files {
                let bytes = std::fs::read(f.path()).ok()?;
                let (text, _) = crate::source::decode::decode(&bytes).ok()?;
                let name = format!(
                    "{}/{}",
                    cat.file_name().to_string_lossy(),
                    f.file_name().to_string_lossy()
                );
                out.push((name, text));
            }
        }
        Some(out)
    }

    /// Every `.txt` file in `seeds/` as decoded text, keyed by file name.
    pub(crate) fn seeds_raw() -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let mut files: Vec<_> = std::fs::read_dir(root)
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        files.sort_by_key(|e| e.file_name());
        files
            .iter()
            .filter(|f| f.path().extension().is_some_and(|x| x == "txt"))
            .filter_map(|f| {
                let bytes = std::fs::read(f.path()).ok()?;
                let (text, _) = crate::source::decode::decode(&bytes).ok()?;
                Some((f.file_name().to_string_lossy().into_owned(), text))
            })
            .collect()
    }
}

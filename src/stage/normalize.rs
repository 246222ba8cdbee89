//! Text normalization: NFC, whitespace, control characters, paragraphs.
//!
//! Two input layouts are common and both end up the same way, paragraphs
//! separated by exactly one blank line:
//!
//! - blank-line layout (BBC files): blocks separated by blank lines are the
//!   paragraphs. A line break inside a block (a bulleted list, a heading over
//!   its paragraph) is kept as a single `\n`.
//! - line layout (the seed, many scraped pages): no blank line anywhere, so
//!   every line is a paragraph.
//!
//! In either layout, a paragraph hard-wrapped at a fixed width (lines broken
//! at 60, 72 or 80 columns by a mailer or a text dump) is joined back into one
//! line first ([`join_wrapped`]), so the text, and the `id` made from it, is
//! the same as the unwrapped copy's. The test is conservative: only runs of
//! three or more long lines that a greedy wrapper would have broken where they
//! are; short lines (headings, list items, bylines, related links) never join.

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
    normalize_layout(text, true)
}

/// [`normalize`], joining hard-wrapped paragraphs back or not.
fn normalize_layout(text: &str, join: bool) -> String {
    let mut b = Builder::with_capacity(text.len());
    b.join_wrapped = join;
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
    /// Join hard-wrapped paragraphs back ([`join_wrapped`]).
    join_wrapped: bool,
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
            join_wrapped: false,
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
        if self.join_wrapped {
            // Without blank lines, paragraph ends are unknown: no line that
            // ends a sentence may join the next.
            if let Some(joined) = join_wrapped(&out, !self.saw_blank_line) {
                out = joined;
            }
        }
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

/// Narrowest and widest wrap width joined back, in characters.
const WRAP_WIDTHS: std::ops::RangeInclusive<usize> = 50..=100;
/// A wrapped line (every line of a run but its last) fills at least this
/// share of the width, in percent.
const WRAP_FILL_PERCENT: usize = 80;
/// Shortest line that can be a wrapped line at any width.
const WRAP_MIN_LINE: usize = *WRAP_WIDTHS.start() * WRAP_FILL_PERCENT / 100;

/// `text` (normalized lines, blocks separated by one blank line) with its
/// hard-wrapped paragraphs joined back, or `None` when it has none.
///
/// A run of three or more consecutive lines is a wrapped paragraph when:
/// - there is a width that every line fits in and at which a greedy wrapper
///   breaks each line but the last where it is: the next line's first word
///   (or its part through a hyphen) would not have fit;
/// - the longest line is 50 to 100 characters, and every line but the last
///   is at least 80% of it;
/// - no line of it is a list item (`- `, `* `, `• `, `1. `, `1) `); the line
///   before the last does not end a sentence, nor do more than a third of the
///   others (`strict`: none of them).
///
/// Lines are joined with one space, except after a word broken at its own
/// hyphen (`well-` + `known`), which is joined as `well-known`: the hyphen is
/// kept, never guessed away.
pub fn join_wrapped(text: &str, strict: bool) -> Option<String> {
    // Most texts have no two adjacent lines long enough to be a run: decide
    // that without allocating.
    let mut prev_long = false;
    let mut any = false;
    for line in text.split('\n') {
        let long = could_wrap(line);
        if long && prev_long {
            any = true;
            break;
        }
        prev_long = long;
    }
    if !any {
        return None;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let lens: Vec<usize> = lines.iter().map(|l| char_len(l)).collect();
    // joins[k]: line k is joined to line k - 1, with this separator.
    let mut joins: Vec<Option<&str>> = vec![None; lines.len()];
    let mut joined = false;
    let wrapped = |k: usize| {
        could_wrap(lines[k]) && !is_list_item(lines[k]) && !(strict && ends_sentence(lines[k]))
    };
    let mut i = 0;
    while i < lines.len() {
        let mut j = i;
        while j + 1 < lines.len()
            && wrapped(j)
            && !lines[j + 1].is_empty()
            && !is_list_item(lines[j + 1])
        {
            j += 1;
        }
        // lines[i..j] may be wrapped lines, lines[j] their last. Only the
        // tail can spoil a run of long lines (a last line that is a paragraph
        // of its own, a sentence end before it): try one line shorter too.
        for last in [j, j.saturating_sub(1)] {
            if last >= i + 2 && is_wrapped_run(&lines[i..=last], &lens[i..=last], strict) {
                for k in i + 1..=last {
                    joins[k] = Some(if hyphen_break(lines[k - 1], lines[k]) {
                        ""
                    } else {
                        " "
                    });
                }
                joined = true;
                break;
            }
        }
        i = j + 1;
    }
    if !joined {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for (k, line) in lines.iter().enumerate() {
        if k > 0 {
            out.push_str(joins[k].unwrap_or("\n"));
        }
        out.push_str(line);
    }
    Some(out)
}

/// See [`join_wrapped`]: `lines` (at least three) and their lengths.
fn is_wrapped_run(lines: &[&str], lens: &[usize], strict: bool) -> bool {
    let n = lines.len() - 1;
    // The wrap width lies between the longest line (the last included: it
    // can be the longest) and the narrowest width that still forces every
    // break: a line plus the next line's first piece would not fit.
    let narrowest = lens.iter().copied().max().unwrap_or(0);
    let widest = (0..n)
        .map(|k| {
            let gap = usize::from(!hyphen_break(lines[k], lines[k + 1]));
            lens[k] + gap + first_chunk_len(lines[k + 1]) - 1
        })
        .min()
        .unwrap_or(0);
    if narrowest > widest
        || !WRAP_WIDTHS.contains(&narrowest)
        || lens[..n]
            .iter()
            .any(|&l| l * 100 < narrowest * WRAP_FILL_PERCENT)
        || ends_sentence(lines[n - 1])
    {
        return false;
    }
    let sentence_ends = lines[..n].iter().filter(|l| ends_sentence(l)).count();
    sentence_ends <= if strict { 0 } else { n / 3 }
}

/// Long enough and short enough to be a wrapped line at some width.
fn could_wrap(line: &str) -> bool {
    // Bytes bound characters from above and, four to one, from below.
    line.len() >= WRAP_MIN_LINE
        && line.len() <= 4 * WRAP_WIDTHS.end()
        && (WRAP_MIN_LINE..=*WRAP_WIDTHS.end()).contains(&char_len(line))
}

fn char_len(line: &str) -> usize {
    if line.is_ascii() {
        line.len()
    } else {
        line.chars().count()
    }
}

/// A bulleted or numbered list item.
fn is_list_item(line: &str) -> bool {
    let mut chars = line.chars();
    match chars.next() {
        Some('-' | '*' | '•' | '·' | '–' | '—' | '+') => chars.next() == Some(' '),
        Some(c) if c.is_ascii_digit() => {
            let rest = line.trim_start_matches(|c: char| c.is_ascii_digit());
            rest.starts_with(". ") || rest.starts_with(") ")
        }
        _ => false,
    }
}

/// The line ends a sentence (or a clause that introduces what follows):
/// `.`, `!`, `?`, `…` or `:`, before any closing quotes and brackets.
fn ends_sentence(line: &str) -> bool {
    let t = line.trim_end_matches(['"', '\'', '”', '’', ')', ']', '»']);
    t.ends_with(['.', '!', '?', '…', ':'])
}

/// `line` ends in a word broken at its own hyphen and `next` goes on with a
/// word: `well-` / `known`.
fn hyphen_break(line: &str, next: &str) -> bool {
    let mut end = line.chars().rev();
    end.next() == Some('-')
        && end.next().is_some_and(char::is_alphanumeric)
        && next.chars().next().is_some_and(char::is_alphanumeric)
}

/// Length of the first piece of `line` a wrapper could have moved up: its
/// first word, or the word's part through its first inner hyphen.
fn first_chunk_len(line: &str) -> usize {
    let mut n = 0;
    let mut prev_alnum = false;
    for c in line.chars() {
        if c == ' ' {
            break;
        }
        n += 1;
        if c == '-' && prev_alnum {
            break;
        }
        prev_alnum = c.is_alphanumeric();
    }
    n
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

    /// `par` wrapped greedily at `width`, breaking after a word's inner
    /// hyphens too, as Python's `textwrap` does.
    fn wrap(par: &str, width: usize) -> String {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for word in par.split(' ') {
            let mut pieces: Vec<&str> = Vec::new();
            let mut rest = word;
            while let Some(i) = rest[1..].find('-').map(|i| i + 2) {
                if i >= rest.len() {
                    break;
                }
                pieces.push(&rest[..i]);
                rest = &rest[i..];
            }
            pieces.push(rest);
            for (n, piece) in pieces.iter().enumerate() {
                let gap = usize::from(n == 0 && !line.is_empty());
                if !line.is_empty() && line.len() + gap + piece.len() > width {
                    lines.push(std::mem::take(&mut line));
                } else if gap == 1 {
                    line.push(' ');
                }
                line.push_str(piece);
            }
        }
        lines.push(line);
        lines.join("\n")
    }

    const PARAGRAPHS: [&str; 3] = [
        "The council voted on Tuesday to rebuild the old bridge, which has carried traffic across the river since 1921, at a cost of twelve million pounds, a well-known local engineer told the meeting after a long-term survey of its piers and arches.",
        "Residents who had campaigned for twenty-five years said the decision came too late for the shops on the east bank, whose trade fell by a third while the cost-of-living crisis kept shoppers at home and the detour added half an hour to every journey into town.",
        "Work is due to start in the spring and the crossing will close for eighteen months, although a temporary footbridge will let people walk over the water; the council said buses would run every ten minutes from the station to the market square during the works.",
    ];

    #[test]
    fn paragraphs_wrapped_at_60_72_and_80_columns_are_joined_back() {
        let plain = format!("Bridge to be rebuilt\n\n{}", PARAGRAPHS.join("\n\n"));
        let mut hyphen_breaks = 0;
        for width in [60, 72, 80] {
            let wrapped: Vec<String> = PARAGRAPHS.iter().map(|p| wrap(p, width)).collect();
            for w in &wrapped {
                assert!(w.lines().count() >= 3, "{width}: {w}");
                assert!(w.lines().all(|l| l.len() <= width), "{width}: {w}");
                hyphen_breaks += w
                    .lines()
                    .filter(|l| l.ends_with('-') && !l.ends_with(" -"))
                    .count();
            }
            let text = format!("Bridge to be rebuilt\n\n{}", wrapped.join("\n\n"));
            assert_eq!(normalize(&text), normalize(&plain), "width {width}");
            // As a mailer sends it: CRLF, trailing spaces.
            let crlf = text.replace('\n', " \r\n");
            assert_eq!(normalize(&crlf), normalize(&plain), "width {width}, CRLF");
        }
        // The hyphenated words were broken at their hyphens somewhere, and
        // came back whole, hyphen kept.
        assert!(hyphen_breaks > 0);
        for w in ["well-known", "long-term", "twenty-five", "cost-of-living"] {
            assert!(normalize(&plain).contains(w));
        }
    }

    #[test]
    fn a_wrapped_paragraph_under_a_heading_in_its_block_is_joined_and_the_heading_kept() {
        let text = format!(
            "Bridge to be rebuilt\nBy Ana Lima\n{}",
            wrap(PARAGRAPHS[0], 72)
        );
        let text = format!("{text}\n\nMore to follow.");
        assert_eq!(
            normalize(&text),
            format!(
                "Bridge to be rebuilt\nBy Ana Lima\n{}\n\nMore to follow.",
                PARAGRAPHS[0]
            )
        );
    }

    #[test]
    fn a_wrapped_paragraph_in_line_layout_is_joined_when_no_wrap_ends_a_sentence() {
        // No blank line anywhere: every line is a paragraph, except the
        // wrapped ones, which join.
        let wrapped = wrap(PARAGRAPHS[1], 72);
        assert!(
            !wrapped.lines().rev().skip(1).any(ends_sentence),
            "{wrapped}"
        );
        let text = format!("Bridge to be rebuilt\n{wrapped}\nMore to follow.");
        assert_eq!(
            normalize(&text),
            format!(
                "Bridge to be rebuilt\n\n{}\n\nMore to follow.",
                PARAGRAPHS[1]
            )
        );
    }

    #[test]
    fn a_last_line_longer_than_the_others_still_joins() {
        let par = "Residents who had campaigned for twenty-five years said the decision came too late for the shops on the east bank, whose trade fell by a third while the detour added half an hour to every journey into town.";
        let wrapped = wrap(&par.replace("twenty-five", "twenty five"), 72);
        let lens: Vec<usize> = wrapped.lines().map(str::len).collect();
        assert_eq!(lens, [68, 67, 69]);
        let text = format!("Head\n\n{wrapped}");
        assert_eq!(
            normalize(&text),
            format!("Head\n\n{}", par.replace("twenty-five", "twenty five"))
        );
    }

    #[test]
    fn short_lines_lists_and_paragraph_lines_are_never_joined() {
        for text in [
            // Headings, bylines, related links, list items.
            "Top stories\nAlso Read: Markets rally as the Bank of England holds rates\nBy Jane Smith, business reporter\n- first item\n- second item",
            // Long list items of similar length, no sentence ends.
            "- Increased spending on primary education to 71.56bn rupees ($1.6bn)\n- Increased spending on health and on hospitals to 102.8bn rupees\n- Announced that 80bn rupees will be spent on rural infrastructure\n- Pledged 102.16bn rupees ($2.3bn) for the victims of the tsunami",
            // One paragraph per line, of like lengths: each ends a sentence.
            "The council met on Tuesday evening to discuss the future of the bridge.\nResidents said the detour added half an hour to every journey in town.\nWork is due to start in the spring and take around eighteen months.\nBuses will run every ten minutes from the station to the square.",
            // Lines of like length that a wrapper would not have broken there.
            "The council met on Tuesday evening to discuss the future of the old bridge\nand residents said the detour had added half an hour, they said,\nto every journey into town while shops on the east bank closed early\nfor the winter.",
            // Only two long lines: too little to tell a wrap.
            &wrap(&PARAGRAPHS[0][..120], 72),
        ] {
            assert_eq!(normalize(text), normalize_layout(text, false), "{text}");
        }
    }

    #[test]
    fn joined_text_is_stable() {
        let text = PARAGRAPHS.map(|p| wrap(p, 60)).join("\n\n");
        let once = normalize(&text);
        assert_eq!(normalize(&once), once);
        assert_eq!(once.matches("\n\n").count(), 2);
    }

    #[test]
    fn bbc_articles_are_not_changed_by_the_joiner() {
        let Some(corpus) = corpus::bbc_raw() else {
            return;
        };
        let changed: Vec<&str> = corpus
            .iter()
            .filter(|(_, raw)| normalize(raw) != normalize_layout(raw, false))
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(changed, Vec::<&str>::new());
        assert_eq!(corpus.len(), 2225);
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

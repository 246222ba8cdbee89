//! Line templates: a line with its variable parts (numbers, years, dates,
//! counts, month and weekday names) folded to placeholders, then hashed, so
//! "© 2024 Harbor Media" and "© 2025 Harbor Media" are one template.

use xxhash_rust::xxh3::Xxh3;

/// Abbreviated month and weekday names, folded with the full names of
/// [`crate::calendar`] to one placeholder: a dateline or "Updated Monday 3
/// March" varies in them.
const CALENDAR_ABBREVIATIONS: &[&str] = &[
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon",
    "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
];

/// A line's template: its hash and what it is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// xxh3-64 of the folded line.
    pub hash: u64,
    /// Words of the line.
    pub words: usize,
    /// Words holding a letter that is not a folded calendar word.
    pub letter_words: usize,
}

/// The template of one normalized line.
///
/// Folding: letters are lowercased; every run of digits, together with the
/// separators inside it ("12,345", "2024-05-01", "10:30", "3.5") and an
/// ordinal suffix ("1st", "22nd"), becomes `#`; month and weekday names
/// become `@`; runs of white space become one space. Everything else is
/// kept, so "The Bank of England said" and "The Bank of England says" differ.
pub fn template(line: &str) -> Template {
    let mut h = Xxh3::new();
    let mut words = 0;
    let mut letter_words = 0;
    let mut word = String::new();
    for w in line.split_whitespace() {
        words += 1;
        word.clear();
        let folded = fold_word(w, &mut word);
        if folded {
            letter_words += 1;
        }
        h.update(word.as_bytes());
        h.update(b" ");
    }
    Template {
        hash: h.digest(),
        words,
        letter_words,
    }
}

/// Fold one word into `out`; true when it keeps a letter of its own.
fn fold_word(w: &str, out: &mut String) -> bool {
    // A calendar word, possibly with trailing punctuation ("March," "Mon.").
    let core = w.trim_end_matches(|c: char| c.is_ascii_punctuation());
    if core.len() >= 3
        && core.len() <= 9
        && (crate::calendar::is_full_name(core)
            || CALENDAR_ABBREVIATIONS
                .iter()
                .any(|c| c.eq_ignore_ascii_case(core)))
    {
        out.push('@');
        out.push_str(&w[core.len()..]);
        return false;
    }
    let mut letters = false;
    let mut chars = w.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            // The number with its inner separators and an ordinal suffix.
            while let Some(&n) = chars.peek() {
                if n.is_ascii_digit() {
                    chars.next();
                } else if matches!(n, ',' | '.' | ':' | '/' | '-') {
                    let mut ahead = chars.clone();
                    ahead.next();
                    if ahead.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    } else {
                        break;
                    }
                } else {
                    break;
                }
            }
            let rest: String = chars.clone().take(2).collect();
            let rest = rest.to_ascii_lowercase();
            if ["st", "nd", "rd", "th"].contains(&rest.as_str())
                && chars.clone().nth(2).is_none_or(|c| !c.is_alphanumeric())
            {
                chars.next();
                chars.next();
            }
            out.push('#');
        } else if c.is_alphabetic() {
            letters = true;
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    letters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        template(a).hash == template(b).hash
    }

    #[test]
    fn years_and_counts_fold_to_one_template() {
        assert!(same("© 2024 Harbor Media", "© 2025 Harbor Media"));
        assert!(same(
            "Join 12,345 readers who get our briefing",
            "Join 9,870 readers who get our briefing"
        ));
        assert!(same("Updated 10:30 GMT", "Updated 9:05 GMT"));
    }

    #[test]
    fn dates_fold_whatever_the_month_or_day() {
        assert!(same(
            "Published Monday 3rd March 2025",
            "Published Friday 21st November 2024"
        ));
        assert!(same("Last updated 2024-05-01", "Last updated 2025-12-31"));
    }

    #[test]
    fn case_and_spacing_do_not_matter() {
        assert!(same("SUPPORT  Harbor Media", "support harbor media"));
    }

    #[test]
    fn different_words_are_different_templates() {
        assert!(!same(
            "The Bank of England said rates would rise.",
            "The Bank of England says rates would rise."
        ));
        assert!(!same("© 2024 Harbor Media", "© 2024 Harbour Media"));
    }

    #[test]
    fn letter_words_leave_out_numbers_and_calendar_words() {
        let t = template("12 GMT Monday");
        assert_eq!((t.words, t.letter_words), (3, 1));
        let t = template("1,000");
        assert_eq!(t.letter_words, 0);
    }

    #[test]
    fn a_word_that_only_starts_like_an_ordinal_keeps_its_letters() {
        assert!(!same("4 stars", "4 sthem"));
        assert!(same("4th place", "5th place"));
        assert!(!same("4thly place", "4 place"));
    }
}

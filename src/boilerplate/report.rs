//! What was learned, printed for review as rules (`newspipe boilerplate
//! learn`): each chrome template becomes a `[[rule]]` that can be pinned
//! into a rules file, with its counts in a note.

use std::fmt::Write as _;

use super::learn::Learned;

/// Most near misses listed per source.
const MAX_NEAR_MISSES: usize = 20;

/// `learned` as a TOML rules file: per source a comment with its counts,
/// a rule per chrome template (its example with numbers generalised), and
/// as comments the templates seen in at least `near_misses` stories that
/// stay text.
pub fn as_rules(learned: &Learned, near_misses: u32) -> String {
    let mut out = String::new();
    let p = &learned.params;
    let _ = writeln!(
        out,
        "# Learned boilerplate: a line is chrome when seen in at least {} distinct stories \
         of its source and in {} of them.\n# Review, then copy the rules you want into a rules file \
         (boilerplate.rules_file).",
        p.min_stories, p.min_share
    );
    let chrome = learned.chrome();
    for (name, s) in &learned.sources {
        let need = chrome.need(name).unwrap_or(p.min_stories);
        let _ = writeln!(
            out,
            "\n# source {name}: {} articles, {} distinct stories, {} templates kept; chrome needs {need} stories",
            s.articles,
            s.stories,
            s.templates.len()
        );
        let id_base = rule_id_base(name);
        let mut n = 0;
        for e in s.templates.iter().filter(|e| e.stories >= need) {
            n += 1;
            let words = e.example.split_whitespace().count();
            let _ = writeln!(
                out,
                "[[rule]]\nid = \"{id_base}-{n}\"\nnote = {}\npattern = {}\nrest = \"none\"\nmax_words = {}",
                toml_str(&format!("learned from {name}: in {} of {} stories", e.stories, s.stories)),
                toml_str(&pattern_for(&e.example)),
                words.max(1)
            );
        }
        let misses: Vec<_> = s
            .templates
            .iter()
            .filter(|e| e.stories < need && e.stories >= near_misses)
            .take(MAX_NEAR_MISSES)
            .collect();
        for e in misses {
            let _ = writeln!(
                out,
                "# kept as text, in {} stories: {:?}",
                e.stories, e.example
            );
        }
    }
    out
}

/// A rule id prefix from a source name: `learned-` and the name with
/// anything but a-z, 0-9, '-', '_' and '.' turned into '-'.
fn rule_id_base(source: &str) -> String {
    let name: String = source
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '_' | '.') => c,
            _ => '-',
        })
        .collect();
    format!("learned-{name}")
}

/// A pattern matching `line` with any number where it has one.
fn pattern_for(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|n| n.is_ascii_digit() || ",.:/-".contains(*n))
            {
                chars.next();
            }
            out.push_str(r"\d[\d,.:/-]*");
        } else {
            out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        }
    }
    out
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boilerplate::learn::{Entry, LearnParams, SourceState};
    use crate::stage::boilerplate::Rules;

    #[test]
    fn printed_rules_load_and_match_the_learned_lines() {
        let mut learned = Learned {
            params: LearnParams::default(),
            sources: Default::default(),
        };
        learned.sources.insert(
            "harbor.example".into(),
            SourceState {
                stories: 40,
                articles: 44,
                templates: vec![
                    Entry {
                        hash: 1,
                        stories: 30,
                        example: "© 2024 Harbor Media (all rights) [reserved]".into(),
                    },
                    Entry {
                        hash: 2,
                        stories: 4,
                        example: "The mayor said".into(),
                    },
                ],
            },
        );
        let text = as_rules(&learned, 3);
        let rules = Rules::parse(&text, "learned.toml").unwrap();
        assert_eq!(rules.rules().len(), 1, "{text}");
        assert_eq!(
            rules.match_line("© 2031 Harbor Media (all rights) [reserved]"),
            Some("learned-harbor.example-1")
        );
        assert_eq!(rules.match_line("The mayor said"), None);
        assert!(
            text.contains("# kept as text, in 4 stories: \"The mayor said\""),
            "{text}"
        );
    }
}

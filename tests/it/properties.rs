//! Properties over arbitrary input (proptest): the pure stages never panic,
//! keep their offsets valid, and are functions of their input alone.

use newspipe::ner::Tagger;
use newspipe::record::{Article, SourceInfo};
use newspipe::source::decode::decode;
use newspipe::source::jsonl::parse_line;
use newspipe::stage::boilerplate::Rules;
use newspipe::stage::normalize::normalize;
use proptest::prelude::*;

/// Text that looks like news more often than uniform noise would: words,
/// capitals, punctuation, blank lines, odd Unicode.
fn newsish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[A-Z][a-z]{1,9}",
        "[a-z]{1,8}",
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just(". ".to_owned()),
        Just("Also Read: ".to_owned()),
        Just("\u{00A0}".to_owned()),
        Just("\u{200B}".to_owned()),
        Just("\r\n".to_owned()),
        "\\PC{1,3}",
    ];
    prop::collection::vec(piece, 0..120).prop_map(|p| p.concat())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decoding_any_bytes_never_panics_and_keeps_utf8(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        if let Ok((text, enc)) = decode(&bytes) {
            if let Ok(s) = std::str::from_utf8(&bytes) {
                if !s.starts_with('\u{FEFF}') && !bytes.starts_with(b"\xFF\xFE") && !bytes.starts_with(b"\xFE\xFF") {
                    prop_assert_eq!(text, s);
                    prop_assert_eq!(enc.name(), "utf-8");
                }
            }
        }
    }

    #[test]
    fn extracting_any_markup_never_panics_and_is_a_function_of_its_input(
        parts in prop::collection::vec(
            prop_oneof![
                Just("<div>".to_owned()), Just("</div>".to_owned()), Just("<p>".to_owned()),
                Just("</p>".to_owned()), Just("<a href=x>".to_owned()), Just("</a>".to_owned()),
                Just("<script>".to_owned()), Just("<nav class=\"menu\">".to_owned()),
                Just("<meta charset=\"utf-8\">".to_owned()), Just("<h1>".to_owned()),
                Just("<li>".to_owned()), Just("<br>".to_owned()), Just("&amp;".to_owned()),
                Just("<script type=\"application/ld+json\">{\"@type\":\"NewsArticle\",\"author\":".to_owned()),
                "[ a-zA-Z,.é]{0,60}",
            ],
            0..60,
        )
    ) {
        use newspipe::extract::{Extractor, Streaming};
        let html = parts.concat();
        let first = Streaming.extract(&html, Some("https://x.example/2024/01/02/a"));
        prop_assert_eq!(first.clone(), Streaming.extract(&html, Some("https://x.example/2024/01/02/a")));
        if let Ok(page) = first {
            prop_assert!(!page.text.trim().is_empty());
        }
    }

    #[test]
    fn normalizing_is_idempotent(text in newsish()) {
        let once = normalize(&text);
        prop_assert_eq!(normalize(&once), once.clone());
        prop_assert!(!once.contains('\r'));
    }

    #[test]
    fn boilerplate_removal_only_removes_and_says_what(text in newsish()) {
        let rules = Rules::builtin().unwrap();
        let clean = normalize(&text);
        let (kept, removed) = rules.clean(&clean);
        prop_assert!(kept.len() <= clean.len());
        for r in &removed {
            for line in r.text.lines() {
                prop_assert!(clean.contains(line), "removed {:?} is not in the input", line);
            }
        }
    }

    #[test]
    fn any_json_line_parses_or_is_rejected_without_panic(line in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_line(&line, 0, SourceInfo::default());
    }

    #[test]
    fn any_article_object_keeps_its_text_and_id(text in "\\PC{0,200}", id in any::<i64>()) {
        let line = serde_json::json!({"text": text, "id": id}).to_string();
        let a = parse_line(line.as_bytes(), 0, SourceInfo::default()).unwrap();
        prop_assert_eq!(a.text, text);
        prop_assert_eq!(a.source.id, Some(id.to_string()));
    }

    #[test]
    fn entity_offsets_always_cover_their_text(title in newsish(), text in newsish()) {
        let tagger = tagger();
        let text = normalize(&text);
        let title = normalize(&title);
        let (in_title, in_text) = tagger.tag_article(Some(&title), &text);
        for (entities, body) in [(&in_title, &title), (&in_text, &text)] {
            let chars: Vec<char> = body.chars().collect();
            for e in entities {
                prop_assert!(e.start < e.end && e.end <= chars.len(), "{:?}", e);
                let covered: String = chars[e.start..e.end].iter().collect();
                prop_assert_eq!(&covered, &e.text);
            }
        }
        // A function of its input: the same call gives the same entities.
        prop_assert_eq!(tagger.tag_article(Some(&title), &text), (in_title, in_text));
    }

    #[test]
    fn a_record_serializes_to_json_that_reads_back(text in "\\PC{0,300}", title in proptest::option::of("\\PC{0,40}")) {
        let mut a = Article::new(0, SourceInfo::default(), text.clone());
        a.title = title.clone();
        let json = serde_json::to_vec(&a).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(back["text"].as_str(), Some(text.as_str()));
        prop_assert_eq!(back["title"].as_str(), title.as_deref());
    }
}

fn tagger() -> &'static Tagger {
    static TAGGER: std::sync::OnceLock<Tagger> = std::sync::OnceLock::new();
    TAGGER.get_or_init(|| Tagger::builtin().unwrap())
}

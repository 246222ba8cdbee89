//! The shipped tagger end to end: the seed article's entities, title
//! entities, offsets, and the CoNLL-2003 development score (when the shared
//! data is present).

use std::path::PathBuf;

use newspipe::ner::{evaluate, train, Tagger, TrainOptions};
use newspipe::record::{Entity, Label};

use crate::support::{self, seed_text};

/// `../shared/data/conll2003` with its `eng.testa`, or `None` after a skip.
fn conll_dir() -> Option<PathBuf> {
    support::shared_data("data/conll2003/eng.testa")?;
    support::shared_data("data/conll2003")
}

fn find<'a>(entities: &'a [Entity], text: &str) -> Vec<&'a Entity> {
    entities.iter().filter(|e| e.text == text).collect()
}

/// Code-point slice, as Python's `text[start:end]`.
fn slice(text: &str, start: usize, end: usize) -> String {
    text.chars().skip(start).take(end - start).collect()
}

#[test]
fn seed_article_people_organisations_and_places() {
    let tagger = Tagger::builtin().unwrap();
    let text = seed_text();
    let (_, ents) = tagger.tag_article(None, &text);

    for (name, label) in [
        ("Sergei Lavrov", Label::Per),
        ("Donald Trump", Label::Per),
        ("Volodymyr Zelensky", Label::Per),
        ("Emmanuel Macron", Label::Per),
        ("NATO", Label::Org),
        ("Kyiv", Label::Loc),
        ("Moscow", Label::Loc),
    ] {
        let found = find(&ents, name);
        assert!(!found.is_empty(), "{name} not found");
        assert!(found.iter().all(|e| e.label == label), "{name}: {found:?}");
    }
    let kremlin = find(&ents, "Kremlin");
    assert!(
        !kremlin.is_empty()
            && kremlin
                .iter()
                .all(|e| matches!(e.label, Label::Org | Label::Loc))
    );

    let kyiv = find(&ents, "Kyiv")[0];
    assert_eq!(kyiv.country.as_deref(), Some("UA"));
    assert_eq!(kyiv.geonames_id, Some(703448));
    assert_eq!(find(&ents, "Moscow")[0].country.as_deref(), Some("RU"));
}

#[test]
fn seed_article_short_forms_get_canonical_full_forms() {
    let tagger = Tagger::builtin().unwrap();
    let (_, ents) = tagger.tag_article(None, &seed_text());
    // "Trump" mentions, including the possessive "Trump’s", link to the full name.
    let trumps = find(&ents, "Trump");
    assert!(trumps.len() >= 5, "{trumps:?}");
    for t in trumps {
        assert_eq!(t.label, Label::Per);
        assert_eq!(t.canonical.as_deref(), Some("Donald Trump"));
    }
    for l in find(&ents, "Lavrov") {
        assert_eq!(l.canonical.as_deref(), Some("Sergei Lavrov"));
    }
    let us = find(&ents, "U.S.");
    assert!(!us.is_empty());
    for u in us {
        assert_eq!(u.label, Label::Loc);
        assert_eq!(u.canonical.as_deref(), Some("United States"));
        assert_eq!(u.country.as_deref(), Some("US"));
    }
    // The full form itself carries no canonical.
    assert!(find(&ents, "Donald Trump")
        .iter()
        .all(|e| e.canonical.is_none()));
}

#[test]
fn offsets_are_code_points_into_the_text() {
    let tagger = Tagger::builtin().unwrap();
    let text = seed_text();
    let (_, ents) = tagger.tag_article(None, &text);
    assert!(!ents.is_empty());
    for e in &ents {
        assert_eq!(slice(&text, e.start, e.end), e.text, "{e:?}");
    }
    // Non-ASCII before the entities shifts byte offsets but not code points.
    let text = "Ça va. «Zürich» café: Angela Merkel met Emmanuel Macron in Paris.";
    let (_, ents) = tagger.tag_article(None, text);
    assert!(find(&ents, "Emmanuel Macron")
        .iter()
        .any(|e| e.label == Label::Per));
    for e in &ents {
        assert_eq!(slice(text, e.start, e.end), e.text, "{e:?}");
    }
}

#[test]
fn title_entities_have_offsets_into_the_title_and_share_canonical_forms() {
    let tagger = Tagger::builtin().unwrap();
    let title = "Lavrov praises Trump over NATO stance";
    let (title_ents, ents) = tagger.tag_article(Some(title), &seed_text());
    let trump = find(&title_ents, "Trump");
    assert_eq!(trump.len(), 1, "{title_ents:?}");
    assert_eq!(trump[0].canonical.as_deref(), Some("Donald Trump"));
    assert_eq!(slice(title, trump[0].start, trump[0].end), "Trump");
    assert!(find(&title_ents, "NATO")
        .iter()
        .all(|e| e.label == Label::Org));
    assert!(!ents.is_empty());
}

#[test]
fn long_articles_are_tagged_to_the_end() {
    let tagger = Tagger::builtin().unwrap();
    let seed = seed_text();
    let text = vec![seed.as_str(); 40].join("\n\n");
    let (_, ents) = tagger.tag_article(None, &text);
    let last = ents
        .iter()
        .filter(|e| e.text == "Emmanuel Macron")
        .map(|e| e.start)
        .max();
    let expected = text.chars().count() - seed.chars().count()
        + seed[..seed.find("Emmanuel Macron").unwrap()]
            .chars()
            .count();
    assert_eq!(last, Some(expected));
}

#[test]
fn empty_and_odd_input_does_not_panic() {
    let tagger = Tagger::builtin().unwrap();
    for t in [
        "",
        " ",
        "\n\n",
        "...",
        "’s",
        "(",
        "🙂 Emoji 🙂 Paris",
        "a\u{0}b",
    ] {
        let (ti, te) = tagger.tag_article(Some(t), t);
        for e in ti.iter().chain(&te) {
            assert_eq!(slice(t, e.start, e.end), e.text);
        }
    }
}

#[test]
fn tagger_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tagger>();
}

#[test]
fn conll_dev_set_f1_stays_above_floor() {
    let Some(dir) = conll_dir() else { return };
    let tagger = Tagger::builtin().unwrap();
    let report = evaluate(&tagger, &dir.join("eng.testa")).unwrap();
    println!("{report}");
    assert!(
        report.overall_f1() >= 0.93,
        "F1 {:.4} < 0.93\n{report}",
        report.overall_f1()
    );
}

/// Slow in debug builds: `cargo test --release --test it -- --ignored ner_eval::`.
#[test]
#[ignore = "slow in debug builds: cargo test --release --test it -- --ignored ner_eval::"]
fn training_reproduces_the_shipped_model_byte_for_byte() {
    let Some(dir) = conll_dir() else { return };
    let bytes = train(
        &dir.join("eng.train"),
        Some(&dir.join("eng.testa")),
        &TrainOptions {
            lexicon: Some(support::repo().join("../shared/data/lexicon")),
            ..TrainOptions::default()
        },
        |_| {},
    )
    .unwrap();
    let shipped = std::fs::read(support::repo().join("models/tagger.bin")).unwrap();
    assert!(
        bytes == shipped,
        "retrained model differs from models/tagger.bin"
    );
}

//! The integration tests, in one binary (one link of arrow and parquet
//! instead of one per file): `cargo test --test it`, and a module path as
//! filter for a part, e.g. `cargo test --test it serve::`.
//!
//! A test whose prerequisite is missing says so: see `support` for how
//! skips are shown, logged and, in CI, refused.

mod support;

mod boiler_eval;
mod cli;
mod dedup_eval;
mod hostile;
mod html;
mod ner_eval;
mod properties;
mod serve;
mod spark;
mod warehouse;

/// Against a live broker; built with `--features kafka`.
#[cfg(feature = "kafka")]
mod kafka;
/// Without the feature, ignored stand-ins under the same names, so that the
/// summary counts them as ignored instead of leaving them out unseen.
#[cfg(not(feature = "kafka"))]
#[path = "kafka_disabled.rs"]
mod kafka;

/// `kafka_disabled.rs` stands in for every test of `kafka.rs`, by name.
#[test]
fn kafka_stand_ins_match_the_kafka_tests() {
    fn tests(file: &str) -> Vec<String> {
        let path = support::repo().join("tests/it").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut names = Vec::new();
        let mut in_test = false;
        for line in text.lines().map(str::trim) {
            if line == "#[test]" {
                in_test = true;
            } else if in_test && line.starts_with("fn ") {
                let name = line["fn ".len()..].split('(').next().unwrap_or_default();
                names.push(name.to_owned());
                in_test = false;
            }
        }
        names.sort();
        names
    }
    let real = tests("kafka.rs");
    assert!(real.len() >= 3, "{real:?}");
    assert_eq!(tests("kafka_disabled.rs"), real);
}

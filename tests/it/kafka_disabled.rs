//! Stand-ins for the tests in `kafka.rs` when the `kafka` feature is off:
//! the same names, ignored with the reason, so `cargo test` reports them as
//! ignored rather than not at all. Keep the list equal to `kafka.rs`'s tests.

#[test]
#[ignore = "needs --features kafka and a broker (scripts/ci-kafka.sh)"]
fn two_instances_one_killed_deliver_every_article_with_identical_repeats() {}

#[test]
#[ignore = "needs --features kafka and a broker (scripts/ci-kafka.sh)"]
fn metrics_and_summary_of_a_kafka_run() {}

#[test]
#[ignore = "needs --features kafka and a broker (scripts/ci-kafka.sh)"]
fn a_joining_instance_redoes_nothing_after_commit_on_revoke() {}

#[test]
#[ignore = "needs --features kafka and a broker (scripts/ci-kafka.sh)"]
fn an_instance_learns_the_topics_chrome_as_it_reads() {}

#[test]
#[ignore = "needs --features kafka and a broker; and tansu 0.6.0 serves no EndTxn"]
fn broker_supports_transactions_with_offsets_and_fencing() {}

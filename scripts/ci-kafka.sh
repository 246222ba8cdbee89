#!/usr/bin/env bash
# Kafka checks: a real Kafka-protocol broker (tansu, in-memory storage) on
# loopback, and `cargo test --features kafka --test it kafka::` against it.
#
#   scripts/ci-kafka.sh            build what is missing, start the broker, run the test
#   scripts/ci-kafka.sh --broker   only start the broker and print its env (leaves it running)
#
# tansu takes about 10 minutes to build, so it is installed once into
# ~/.cargo/bin and reused. librdkafka (the rdkafka crate's cmake-build) needs
# cmake and libcurl headers from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${NEWSPIPE_KAFKA_PORT:-19092}"
TANSU="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"
# Seconds the one-off broker build may take (CI passes what is left of its
# time); past it the Kafka checks are skipped with a message, not failed.
BUILD_BUDGET="${NEWSPIPE_KAFKA_BUILD_BUDGET:-3600}"

skip() {
  echo "== kafka checks SKIPPED: $*"
  exit 0
}

if ! command -v cmake >/dev/null || ! dpkg -s libcurl4-openssl-dev >/dev/null 2>&1; then
  echo "== installing cmake and libcurl4-openssl-dev (librdkafka build)"
  { apt-get update -qq && apt-get install -y -qq cmake libcurl4-openssl-dev >/dev/null; } ||
    skip "cannot install cmake and libcurl4-openssl-dev from Debian"
fi

if [ ! -x "$TANSU" ]; then
  echo "== building the tansu broker (once; cached in $TANSU; budget ${BUILD_BUDGET}s)"
  # A persistent target dir lets an interrupted build resume on the next run.
  # Two runs at once (CI beside a local check) would share it and race on
  # the final copy: the second waits for the first under a lock, then finds
  # the broker installed. The wait counts against the same budget.
  build_dir="${XDG_CACHE_HOME:-$HOME/.cache}/newspipe-tansu-build"
  mkdir -p "$build_dir"
  timeout "$BUILD_BUDGET" flock "$build_dir.lock" sh -c '
    [ -x "$1" ] || cargo install tansu --locked --features dynostore,libsql --target-dir "$2"
  ' sh "$TANSU" "$build_dir" ||
    skip "the tansu broker did not build within ${BUILD_BUDGET}s (progress is kept for the next run)"
fi

echo "== starting tansu on 127.0.0.1:$PORT (memory storage)"
log="$(mktemp -t tansu.XXXXXX.log)"
"$TANSU" broker \
  --storage-engine "memory://tansu/" \
  --listener-url "tcp://127.0.0.1:$PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  >"$log" 2>&1 &
broker=$!
stop_broker() { kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; }

for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  if ! kill -0 "$broker" 2>/dev/null; then
    echo "tansu exited:"; cat "$log"; exit 1
  fi
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || { echo "tansu is not listening:"; cat "$log"; stop_broker; exit 1; }

# The tests make their own topics; these are for trying `newspipe kafka` by hand.
for topic in articles records; do
  "$TANSU" topic create "$topic" --broker "tcp://127.0.0.1:$PORT" --partitions 4 >/dev/null
done

export NEWSPIPE_TEST_KAFKA="127.0.0.1:$PORT"
echo "NEWSPIPE_TEST_KAFKA=$NEWSPIPE_TEST_KAFKA"
echo "tansu pid $broker, log $log; topics: articles, records"

if [ "${1:-}" = "--broker" ]; then
  exit 0
fi
trap stop_broker EXIT

echo "== lint with the kafka feature"
cargo clippy --locked --all-targets --features kafka -- -D warnings

echo "== kafka test (two instances, one SIGKILLed)"
cargo test --locked --features kafka --test it kafka:: -- --nocapture

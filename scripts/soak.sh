#!/usr/bin/env bash
# Soak bench for the daemon (not a test): N articles (default 100,000) through
# `newspipe serve`, sampling its RSS every second, against a batch run over the
# same files in the same script. Prints both throughputs, their ratio, and the
# RSS samples so a leak shows as a trend.
#
# usage: [RETENTION_DAYS=30] [BIN=...] scripts/soak.sh [--articles 100000]
# needs: ../shared/data/bbc, python3, curl
set -euo pipefail
cd "$(dirname "$0")/.."

N=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --articles) N="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BBC=../shared/data/bbc
[ -d "$BBC" ] || { echo "soak: $BBC not found; nothing to measure"; exit 0; }

# BIN=path/to/newspipe measures a binary already built.
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=$PWD/target/release/newspipe
fi
WORK=$(mktemp -d /tmp/newspipe-soak.XXXXXX)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PID=

python3 scripts/gen_corpus.py "$BBC" "$WORK/in" --mb 100000 --count "$N"
BYTES=$(find "$WORK/in" -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
find "$WORK/in" -type f -print0 | xargs -0 cat > /dev/null   # warm the page cache

echo "== batch"
t0=$(date +%s.%N)
/usr/bin/time -f "batch peak RSS %M KB" "$BIN" run -q --progress never "$WORK/in" > /dev/null || true
t1=$(date +%s.%N)
BATCH=$(python3 -c "print($BYTES/1e6/($t1-$t0))")
printf 'batch: %.1f MB/s\n' "$BATCH"

# The dedup index by design grows until the retention window (30 days by
# default, 1 at least) is full; to see what the daemon holds besides it, run
# with NEWSPIPE__DEDUP__ENABLED=false.
RETENTION_DAYS="${RETENTION_DAYS:-30}"
echo "== daemon (dedup.retention_days=$RETENTION_DAYS)"
mkdir -p "$WORK/out" "$WORK/state"
PORT=$((20000 + RANDOM % 20000))
t0=$(date +%s.%N)
NEWSPIPE__METRICS__ADDR=127.0.0.1:$PORT NEWSPIPE__SERVE__SETTLE_MS=0 NEWSPIPE__LOG__LEVEL=warn \
  NEWSPIPE__DEDUP__RETENTION_DAYS=$RETENTION_DAYS \
  "$BIN" serve --watch "$WORK/in" --output-dir "$WORK/out" --state-dir "$WORK/state" &
PID=$!
samples=()
while :; do
  sleep 1
  rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status 2>/dev/null || echo 0)
  taken=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "newspipe_inputs_total" {print $2}')
  samples+=("${taken:-0}:${rss}")
  [ "${taken:-0}" = "$N" ] && break
done
kill -TERM $PID; wait $PID; PID=
t1=$(date +%s.%N)
DAEMON=$(python3 -c "print($BYTES/1e6/($t1-$t0))")
printf 'daemon: %.1f MB/s (ratio to batch %.2f)\n' "$DAEMON" "$(python3 -c "print($DAEMON/$BATCH)")"
echo "RSS samples (inputs taken: RSS KB):"
printf '  %s\n' "${samples[@]}" | awk 'NR % 5 == 1'
RECORDS=$(cat "$WORK"/out/seg-* | wc -l)
echo "records committed: $RECORDS of $N inputs"

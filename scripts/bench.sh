#!/usr/bin/env bash
# End-to-end benchmark: MB/s and peak RSS of `newspipe run` over the BBC corpus
# and over a generated corpus of at least 200 MB, at 1 and 2 threads, with
# every stage on and with stages switched off. Figures are also given as a
# ratio to a baseline measured in the same script (reading the same files with
# cat), because absolute numbers on shared machines are noisy.
#
# The datasketch comparison (MinHash + MinHashLSH from PyPI, one thread, on the
# same BBC bodies) runs in a virtualenv under /tmp that the script creates.
#
# Boilerplate learning (a first pass over the inputs) is measured on against
# off in pairs, interleaved, best of 5 each, with every stage on and without
# entities; `--learning-only` runs just that comparison.
#
# The HTML line runs trafilatura (PyPI, in the same virtualenv) and
# `newspipe run --threads 1` with every stage on over the WCXB dev pages
# (../shared/data/html/wcxb-dev), and gives pages/s and the ratio.
#
# usage: scripts/bench.sh [--mb 200] [--skip-large] [--skip-datasketch] [--skip-html] [--learning-only]
# needs: ../shared/data/bbc (skips with a message when absent), python3, /usr/bin/time
set -euo pipefail
cd "$(dirname "$0")/.."

MB=200
SKIP_LARGE=0
SKIP_DS=0
LEARNING_ONLY=0
SKIP_HTML=0
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB="$2"; shift 2 ;;
    --skip-large) SKIP_LARGE=1; shift ;;
    --skip-datasketch) SKIP_DS=1; shift ;;
    --learning-only) LEARNING_ONLY=1; SKIP_DS=1; SKIP_HTML=1; shift ;;
    --skip-html) SKIP_HTML=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

BBC=../shared/data/bbc
if [ ! -d "$BBC" ]; then
  echo "bench: $BBC not found; nothing to measure"
  exit 0
fi

cargo build --release --quiet
BIN="${CARGO_TARGET_DIR:-target}/release/newspipe"
WORK=$(mktemp -d /tmp/newspipe-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# bytes of input under a directory
bytes_of() { find "$1" -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1; }

# run LABEL DIR BYTES ARGS... : prints MB/s, peak RSS and the ratio to baseline
run() {
  local label="$1" dir="$2" bytes="$3"; shift 3
  local t
  t=$( { /usr/bin/time -f '%e %M' "$BIN" run -q --progress never --force --summary-json "$WORK/summary.json" "$@" "$dir" > /dev/null || true; } 2>&1 | tail -1 )
  local secs=${t% *} rss=${t#* }
  python3 - "$label" "$bytes" "$secs" "$rss" "$BASE_MBS" "$WORK/summary.json" <<'PY'
import json, sys
label, nbytes, secs, rss, base, summ = sys.argv[1:]
mbs = int(nbytes) / 1e6 / max(float(secs), 1e-3)
s = json.load(open(summ))
idx = s.get("dedup_index_bytes", 0) / max(s.get("dedup_index_articles", 0), 1)
print(f"  {label:<34} {mbs:8.1f} MB/s  x{mbs / float(base):5.2f} of cat  peak RSS {int(rss) / 1024:7.1f} MB  index {idx:6.0f} B/article")
PY
}

# secs ARGS... : wall seconds of one run
secs() {
  { /usr/bin/time -f '%e' "$BIN" run -q --progress never "$@" > /dev/null || true; } 2>&1 | tail -1
}

# learning LABEL DIR BYTES ARGS... : learning on against off, interleaved, best of 5 (BBC runs last under a second)
learning() {
  local label="$1" dir="$2" bytes="$3"; shift 3
  local on=999999 off=999999 t
  for _ in 1 2 3 4 5; do
    t=$(secs "$@" --no-learn "$dir"); off=$(python3 -c "print(min($off, $t))")
    t=$(secs "$@" --learn "$dir"); on=$(python3 -c "print(min($on, $t))")
  done
  python3 - "$label" "$bytes" "$on" "$off" <<'PY'
import sys
label, nbytes, on, off = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
mb = nbytes / 1e6
print(f"  {label:<34} learning off {mb / max(off, 1e-3):7.1f} MB/s, on {mb / max(on, 1e-3):7.1f} MB/s  (on/off throughput x{off / max(on, 1e-3):.3f})")
PY
}

measure_learning() {
  local dir="$1" bytes; bytes=$(bytes_of "$dir")
  learning "all stages, 2 threads" "$dir" "$bytes" --threads 2
  learning "no entities, 2 threads" "$dir" "$bytes" --threads 2 --no-entities
}

measure() {
  local name="$1" dir="$2"
  if [ "$LEARNING_ONLY" = 1 ]; then
    printf '%s: boilerplate learning\n' "$name"
    measure_learning "$dir"
    return
  fi
  local bytes; bytes=$(bytes_of "$dir")
  local t0 t1
  t0=$(date +%s.%N); find "$dir" -type f -print0 | xargs -0 cat > /dev/null; t1=$(date +%s.%N)
  BASE_MBS=$(python3 -c "print($bytes / 1e6 / max($t1 - $t0, 1e-3))")
  printf '%s: %.1f MB in %s files; baseline cat %.1f MB/s\n' "$name" "$(python3 -c "print($bytes/1e6)")" \
    "$(find "$dir" -type f | wc -l)" "$BASE_MBS"
  for threads in 1 2; do
    run "all stages, $threads thread(s)" "$dir" "$bytes" --threads "$threads"
  done
  run "no entities, 2 threads" "$dir" "$bytes" --threads 2 --no-entities
  run "no dedup, 2 threads" "$dir" "$bytes" --threads 2 --no-dedup
  run "exact dedup only, 2 threads" "$dir" "$bytes" --threads 2 --no-near-dedup
  run "read+normalize only, 2 threads" "$dir" "$bytes" --threads 2 --no-entities --no-dedup --no-boilerplate --no-title
  measure_learning "$dir"
}

measure "BBC corpus" "$BBC"

if [ "$SKIP_DS" = 0 ]; then
  VENV=/tmp/newspipe-bench-venv
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet datasketch
  fi
  echo "near-duplicate detection alone, one thread, BBC bodies:"
  ds=$("$VENV/bin/python" benches/datasketch_compare.py "$BBC" | awk '/datasketch total/ {print $3}')
  # newspipe does more here (read, decode, normalize, title, serialize) on top of MinHash-LSH.
  bytes=$(bytes_of "$BBC")
  t=$( { /usr/bin/time -f '%e' "$BIN" run -q --progress never --threads 1 --no-entities --no-boilerplate "$BBC" > /dev/null || true; } 2>&1 | tail -1 )
  np=$(python3 -c "print($bytes / 1e6 / max($t, 1e-3))")
  printf '  datasketch MinHash+LSH %8.1f MB/s\n  newspipe run, dedup on  %8.1f MB/s  (x%.1f datasketch)\n' "$ds" "$np" "$(python3 -c "print($np / $ds)")"
fi
WCXB=../shared/data/html/wcxb-dev
if [ "$SKIP_HTML" = 0 ] && [ -d "$WCXB" ]; then
  VENV=/tmp/newspipe-bench-venv
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -c 'import trafilatura' 2>/dev/null \
    || "$VENV/bin/pip" install --quiet trafilatura lxml_html_clean
  echo "web pages, one core, every stage on, WCXB dev pages:"
  tf=$("$VENV/bin/python" benches/trafilatura_compare.py "$WCXB" | awk '/trafilatura pages/ {print $3}')
  pages=$(find "$WCXB/html" -name '*.html.gz' | wc -l)
  t=$( { /usr/bin/time -f '%U %S' "$BIN" run -q --progress never --threads 1 "$WCXB/html" > /dev/null || true; } 2>&1 | tail -1 )
  np=$(python3 -c "u, s = map(float, '$t'.split()); print($pages / max(u + s, 1e-3))")
  printf '  trafilatura (metadata on) %8.1f pages/s\n  newspipe run              %8.1f pages/s  (x%.1f trafilatura)\n' "$tf" "$np" "$(python3 -c "print($np / $tf)")"
elif [ "$SKIP_HTML" = 0 ]; then
  echo "bench: $WCXB not found; no HTML line"
fi
if [ "$SKIP_LARGE" = 0 ]; then
  python3 scripts/gen_corpus.py "$BBC" "$WORK/large" --mb "$MB" > /dev/null
  sync
  # Warm the page cache so both the baseline and newspipe read from memory.
  find "$WORK/large" -type f -print0 | xargs -0 cat > /dev/null
  measure "generated corpus" "$WORK/large"
fi

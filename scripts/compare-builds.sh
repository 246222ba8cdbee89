#!/usr/bin/env bash
# Compare two newspipe binaries on the same inputs, in one script run:
#   1. output bytes: md5 of `newspipe run` over the BBC corpus and over a
#      generated corpus, at 1, 2 and 3 threads, for both binaries;
#   2. instructions per article (callgrind counts instructions, which repeat
#      where wall time does not): the difference between a run over 2N and
#      over N BBC articles, divided by N, so start-up (model load) cancels;
#   3. throughput: interleaved runs of both binaries over the generated
#      corpus at 2 threads, best of R each, as MB/s and as a ratio.
#
# usage: scripts/compare-builds.sh OLD_BIN NEW_BIN [--mb 50] [--articles 150] [--rounds 3]
#          [--flags "--no-entities ..."] [--allow-different]
#   --flags            extra `newspipe run` flags for every run (to time one stage's share)
#   --allow-different  a change meant to alter the output (new dedup rules) exits 0 all the same
# needs: ../shared/data/bbc (exits 0 with a message when absent), python3,
#        valgrind (step 2 is skipped with a message without it)
set -euo pipefail
cd "$(dirname "$0")/.."

OLD="$1"; NEW="$2"; shift 2
MB=50; N=150; ROUNDS=3; FLAGS=""; ALLOW_DIFFERENT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB="$2"; shift 2 ;;
    --articles) N="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --flags) FLAGS="$2"; shift 2 ;;
    --allow-different) ALLOW_DIFFERENT=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

BBC=../shared/data/bbc
if [ ! -d "$BBC" ]; then
  echo "compare-builds: SKIP: $BBC not found; nothing to compare"
  exit 0
fi
WORK=$(mktemp -d /tmp/newspipe-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

python3 scripts/gen_corpus.py "$BBC" "$WORK/gen" --mb "$MB" > /dev/null
BYTES=$(find "$WORK/gen" -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1)

# shellcheck disable=SC2086 # FLAGS is a list of words on purpose
run() { "$1" run -q --progress never --threads "$2" $FLAGS "$3"; }

echo "== output bytes (md5 of the records)"
same=1
for corpus in "$BBC" "$WORK/gen"; do
  name=$([ "$corpus" = "$BBC" ] && echo "BBC" || echo "generated ${MB} MB")
  for t in 1 2 3; do
    a=$(run "$OLD" "$t" "$corpus" | md5sum | cut -c1-12) || true
    b=$(run "$NEW" "$t" "$corpus" | md5sum | cut -c1-12) || true
    if [ "$a" = "$b" ]; then flag=same; else flag=DIFFERENT; same=0; fi
    printf '  %-18s threads %d  old %s  new %s  %s\n' "$name" "$t" "$a" "$b" "$flag"
  done
done

echo "== instructions per article (callgrind, --threads 1, BBC articles)"
if command -v valgrind > /dev/null; then
  mkdir -p "$WORK/n" "$WORK/2n"
  i=0
  while IFS= read -r f; do
    i=$((i + 1))
    [ "$i" -le "$N" ] && cp "$f" "$WORK/n/$i.txt"
    cp "$f" "$WORK/2n/$i.txt"
    [ "$i" -ge $((2 * N)) ] && break
  done < <(find "$BBC" -name '*.txt' | sort)
  irs() {
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" run -q --progress never \
      --threads 1 $FLAGS "$2" 2>&1 >/dev/null | awk '/Collected/ {print $4}'
  }
  for bin in "$OLD" "$NEW"; do
    lo=$(irs "$bin" "$WORK/n"); hi=$(irs "$bin" "$WORK/2n")
    per=$(( (hi - lo) / N ))
    printf '  %-40s %12d instructions/article (%d - %d over %d articles)\n' "$bin" "$per" "$hi" "$lo" "$N"
    echo "$per" >> "$WORK/irs"
  done
  python3 -c "import sys; a, b = map(int, open('$WORK/irs').read().split()); print(f'  new/old: {b / a:.4f}')"
else
  echo "  SKIP: valgrind not installed"
fi

echo "== throughput (generated ${MB} MB, --threads 2, best of $ROUNDS, interleaved)"
best_old=999999; best_new=999999
for _ in $(seq "$ROUNDS"); do
  for which in old new; do
    bin=$([ "$which" = old ] && echo "$OLD" || echo "$NEW")
    t0=$(date +%s.%N); run "$bin" 2 "$WORK/gen" > /dev/null || true; t1=$(date +%s.%N)
    s=$(python3 -c "print($t1 - $t0)")
    if [ "$which" = old ]; then
      best_old=$(python3 -c "print(min($best_old, $s))")
    else
      best_new=$(python3 -c "print(min($best_new, $s))")
    fi
  done
done
python3 - "$BYTES" "$best_old" "$best_new" <<'PY'
import sys
nbytes, old, new = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
mb = nbytes / 1e6
print(f"  old {mb / old:6.1f} MB/s ({old:.2f} s)   new {mb / new:6.1f} MB/s ({new:.2f} s)   new/old {old / new:.3f}")
PY
if [ "$same" = 1 ]; then
  echo "== every output identical"
elif [ "$ALLOW_DIFFERENT" = 1 ]; then
  echo "== outputs differ between the builds (allowed by --allow-different)"
else
  echo "== OUTPUTS DIFFER"; exit 1
fi

#!/usr/bin/env bash
# Coverage-guided fuzzing of newspipe with AFL++ through cargo-afl (stable
# toolchain). Builds the targets in fuzz/, seeds a corpus per target, runs
# afl-fuzz on each in turn for SECONDS_PER_TARGET, and prints what each run
# did, read from its fuzzer_stats.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    # default 60 s, all targets
#
# Targets: decode normalize boilerplate jsonl tagger record (see fuzz/src/lib.rs).
# Corpora: the repository's seeds/, fuzz/seeds/<target>/, and, when
# ../shared/data is there, a small sample of it written at run time into
# fuzz/work/ (untracked, like everything afl-fuzz finds). Findings are in
# fuzz/work/out/<target>/default/{crashes,hangs}/; replay one with
#   fuzz/target/release/<target> < FILE
# (or under $FUZZ_TARGET_DIR). Exit status 1 when any run found a crash or a hang.
#
# Needs cargo-afl (`cargo install cargo-afl`); AFL++ itself is built on first
# use (`cargo afl config --build`). The machine is shared: afl-fuzz runs one
# target at a time under `nice -n 15`.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=(decode normalize boilerplate jsonl tagger record)
[ $# -gt 0 ] && TARGETS=("$@")
ROOT=$PWD
WORK=$ROOT/fuzz/work
# An AFL-instrumented build has other flags than a normal one: keep it in a
# target directory of its own so neither rebuilds the other.
TARGET_DIR=${FUZZ_TARGET_DIR:-$ROOT/fuzz/target}
SHARED=$ROOT/../shared/data

if ! cargo afl --version >/dev/null 2>&1; then
  echo "cargo-afl is not installed: cargo install cargo-afl" >&2
  exit 2
fi
# `afl-fuzz -h` exits non-zero even when it is there: look for its usage.
afl_help=$(cargo afl fuzz -h 2>&1 || true)
if [[ $afl_help != *"Required parameters"* ]]; then
  echo "== building AFL++ (cargo afl config --build)"
  nice -n 10 cargo afl config --build
fi

echo "== building the targets (cargo afl build --release)"
(cd fuzz && CARGO_TARGET_DIR=$TARGET_DIR nice -n 10 cargo afl build --release --quiet)

# ---- corpora
sample_shared() {
  # A few articles of each BBC category, cut to 4 KB (AFL++ likes small
  # seeds), the corpus's one Latin-1 file, and the same as JSON Lines.
  local dir=$1
  [ -d "$SHARED/bbc" ] || { echo "  (no $SHARED/bbc: repository seeds only)"; return; }
  for cat in business entertainment politics sport tech; do
    for n in 001 002 003; do
      [ -f "$SHARED/bbc/$cat/$n.txt" ] && head -c 4096 "$SHARED/bbc/$cat/$n.txt" >"$dir/bbc-$cat-$n.txt"
    done
  done
  [ -f "$SHARED/bbc/sport/199.txt" ] && head -c 4096 "$SHARED/bbc/sport/199.txt" >"$dir/bbc-sport-199-latin1.txt"
  return 0
}
sample_shared_jsonl() {
  local dir=$1
  [ -d "$SHARED/bbc" ] || return 0
  python3 - "$SHARED/bbc" "$dir/bbc.jsonl" <<'EOF'
import json, sys, pathlib
root, out = pathlib.Path(sys.argv[1]), sys.argv[2]
with open(out, "w") as f:
    for cat in ["business", "politics", "tech"]:
        for n in ["004", "005"]:
            p = root / cat / f"{n}.txt"
            if p.exists():
                text = p.read_bytes()[:1024].decode("utf-8", "replace")
                f.write(json.dumps({"id": f"{cat}/{n}", "text": text}) + "\n")
EOF
}

rm -rf "$WORK/in"
mkdir -p "$WORK/in/shared" "$WORK/out"
sample_shared "$WORK/in/shared"
for t in "${TARGETS[@]}"; do
  in=$WORK/in/$t
  mkdir -p "$in"
  cp seeds/*.txt "$in/"
  [ -d "fuzz/seeds/$t" ] && cp "fuzz/seeds/$t"/* "$in/"
  case $t in
    jsonl) sample_shared_jsonl "$in" ;;
    *) cp "$WORK/in/shared"/* "$in/" 2>/dev/null || true ;;
  esac
done

# ---- fuzzing
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_SKIP_CRASHES=1 AFL_QUIET=1
status=0
for t in "${TARGETS[@]}"; do
  echo "== afl-fuzz $t for ${SECS}s"
  out=$WORK/out/$t
  rm -rf "$out"
  dict=()
  [ "$t" = jsonl ] && dict=(-x "$ROOT/fuzz/dict/json.dict")
  # -t: a run over 1 s is a hang (the targets cut inputs that would be slow).
  nice -n 15 cargo afl fuzz -V "$SECS" -t 1000 "${dict[@]}" -i "$WORK/in/$t" -o "$out" \
    -- "$TARGET_DIR/release/$t" >"$WORK/$t.log" 2>&1 || {
      echo "afl-fuzz $t failed; the end of its log ($WORK/$t.log):"; tail -20 "$WORK/$t.log"; status=1; }
done

# ---- report
stat() { sed -n "s/^$2 *: *//p" "$1" | head -1; }
printf '\n%-12s %12s %9s %8s %8s %6s\n' target executions execs/s seconds corpus crashes/hangs
for t in "${TARGETS[@]}"; do
  f=$WORK/out/$t/default/fuzzer_stats
  if [ ! -f "$f" ]; then printf '%-12s %s\n' "$t" "no fuzzer_stats"; status=1; continue; fi
  crashes=$(stat "$f" saved_crashes); hangs=$(stat "$f" saved_hangs)
  printf '%-12s %12s %9s %8s %8s %6s\n' "$t" "$(stat "$f" execs_done)" "$(stat "$f" execs_per_sec)" \
    "$(stat "$f" run_time)" "$(stat "$f" corpus_count)" "$crashes/$hangs"
  if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
    status=1
    ls "$WORK/out/$t/default/crashes" "$WORK/out/$t/default/hangs" 2>/dev/null | grep -v README | sed "s|^|  $t: |"
  fi
done
exit $status

#!/usr/bin/env bash
# Spark benchmark: `deploy/spark/run.sh` with 1 and 2 workers against
# `newspipe run` over the same generated corpus (scripts/gen_corpus.py from
# ../shared/data/bbc, 200 MB by default), every stage on, on this machine.
# Prints wall times and their ratio to the single-machine run, the shuffle
# bytes per article and the driver's peak memory (from the job's --report),
# and a projection for 100 million articles on N machines from the measured
# per-article figures.
#
# usage: scripts/bench-spark.sh [--mb 200] [--machines 20]
# needs: ../shared/data/bbc, python3, java; the pyspark virtualenv is
#        created by deploy/spark/run.sh on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

MB=200 MACHINES=20
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB="$2"; shift 2 ;;
    --machines) MACHINES="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BBC=../shared/data/bbc
[ -d "$BBC" ] || { echo "bench-spark: $BBC not found; nothing to measure"; exit 0; }

cargo build --release --locked --quiet
BIN="$PWD/${CARGO_TARGET_DIR:-target}/release/newspipe"
WORK=$(mktemp -d /tmp/newspipe-bench-spark.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 scripts/gen_corpus.py "$BBC" "$WORK/in" --mb "$MB" > /dev/null
find "$WORK/in" -type f -print0 | xargs -0 cat > /dev/null
bytes=$(find "$WORK/in" -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1)

wall() { local s=$SECONDS; "$@" >/dev/null 2>"$WORK/last.log" || { cat "$WORK/last.log" >&2; exit 1; }; echo $((SECONDS - s)); }

single=$(wall "$BIN" run -q --progress never "$WORK/in" -o "$WORK/single.jsonl")
articles=$(wc -l < "$WORK/single.jsonl")
one=$(wall deploy/spark/run.sh --binary "$BIN" --workers 1 --report "$WORK/one.json" "$WORK/in" "$WORK/out1")
two=$(wall deploy/spark/run.sh --binary "$BIN" --workers 2 --report "$WORK/two.json" "$WORK/in" "$WORK/out2")
cat "$WORK"/out2/part-*.jsonl | cmp -s - "$WORK/single.jsonl" && same="identical" || same="DIFFERENT"

python3 - "$bytes" "$articles" "$single" "$one" "$two" "$WORK/one.json" "$WORK/two.json" "$MACHINES" "$same" <<'PY'
import json, sys
size, n, single, one, two = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:6])
r1, r2 = (json.load(open(p)) for p in sys.argv[6:8])
machines, same = int(sys.argv[8]), sys.argv[9]
mb = size / 1e6
print(f"corpus: {mb:.0f} MB, {n} articles; 2-core machine, every stage on")
print(f"  newspipe run -j2        {single:6.0f} s  {mb / max(single, 1):6.1f} MB/s  1.00x")
print(f"  spark, 1 worker (1 core) {one:6.0f} s  {mb / max(one, 1):6.1f} MB/s  {single / max(one, 1):.2f}x")
print(f"  spark, 2 workers         {two:6.0f} s  {mb / max(two, 1):6.1f} MB/s  {single / max(two, 1):.2f}x")
print(f"  cluster output against newspipe run: {same}")
for label, r in (("1 worker", r1), ("2 workers", r2)):
    print(f"  {label}: shuffle {r['shuffle_write_bytes'] or 0:,} B ({(r['shuffle_bytes_per_article'] or 0):.0f} B/article), "
          f"{r['articles_in_components']} articles in components, {r['propagation_rounds']} rounds, "
          f"driver peak JVM heap {(r['driver_jvm_peak_heap_bytes'] or 0) / 2**20:.0f} MiB, "
          f"Python {r['driver_python_peak_rss_bytes'] / 2**20:.0f} MiB")
# Projection: the per-article cost of the 2-worker run, on 2-core machines.
core_s = two * 2 / n
total = 100e6
print(f"projection, 100M articles on {machines} machines of 2 cores at the measured "
      f"{core_s * 1e3:.2f} core-ms/article: {total * core_s / (machines * 2) / 3600:.1f} h, "
      f"shuffle {total * (r2['shuffle_bytes_per_article'] or 0) / 1e9:.0f} GB in all")
PY

#!/usr/bin/env bash
# Run newspipe over IN on Spark and write OUT: the records `newspipe run IN`
# gives, as OUT/part-NNNNN.<format> in input order, with OUT/_signatures/,
# OUT/_rejects/, OUT/_summary.json and OUT/_SUCCESS. See deploy/spark/README.md.
#
# usage: deploy/spark/run.sh [--workers N] [--master URL] [--format jsonl|parquet]
#                            [--against DIR]... [--partitions N] [--config FILE]
#                            [--binary PATH] [--report FILE] IN OUT
#
# Without --master it starts a standalone master and N workers (default 2,
# one core each) on 127.0.0.1, submits the job and stops what it started.
# The virtualenv with pyspark is created on first use, or reused:
#   NEWSPIPE_SPARK_VENV  (default ~/.cache/newspipe/spark-venv)
#   NEWSPIPE_PYSPARK     (pip requirement, default pyspark==4.3.0)
# Exit codes: 0 done; 2 usage (bad flags, OUT exists); 1 anything else.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
workers=2 master="" format=jsonl partitions=0 config="" binary="" report=""
against=()

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) workers="$2"; shift 2 ;;
    --master) master="$2"; shift 2 ;;
    --format) format="$2"; shift 2 ;;
    --against) against+=("$2"); shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    -h|--help) usage ;;
    --*) echo "run.sh: unknown flag $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || usage
in="$1" out="$2"
case "$format" in jsonl|parquet) ;; *) echo "run.sh: --format must be jsonl or parquet" >&2; exit 2 ;; esac
case "$workers" in ''|*[!0-9]*|0) echo "run.sh: --workers must be a positive number" >&2; exit 2 ;; esac
[ -d "$in" ] || { echo "run.sh: $in is not a directory" >&2; exit 2; }
[ -e "$out" ] && { echo "run.sh: $out exists; give a new output directory" >&2; exit 2; }

venv="${NEWSPIPE_SPARK_VENV:-$HOME/.cache/newspipe/spark-venv}"
if ! "$venv/bin/python" -c 'import pyspark' 2>/dev/null; then
  echo "run.sh: creating $venv with ${NEWSPIPE_PYSPARK:-pyspark==4.3.0}" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${NEWSPIPE_PYSPARK:-pyspark==4.3.0}" >&2
fi
export PYSPARK_PYTHON="$venv/bin/python" PYSPARK_DRIVER_PYTHON="$venv/bin/python"
SPARK_HOME="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME

if [ -z "$binary" ]; then
  binary="$repo/target/release/newspipe"
  if [ ! -x "$binary" ]; then
    echo "run.sh: building $binary" >&2
    (cd "$repo" && cargo build --release --locked --quiet)
  fi
fi
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
[ -x "$binary" ] || { echo "run.sh: $binary is not executable" >&2; exit 2; }
files="$binary"
[ -n "$config" ] && { config="$(cd "$(dirname "$config")" && pwd)/$(basename "$config")"; files="$files,$config"; }

work="$(mktemp -d -t newspipe-spark.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ -z "$master" ]; then
  export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$work/logs" SPARK_WORKER_DIR="$work/worker"
  port="$(free_port)" ui="$(free_port)"
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$port" --webui-port "$ui" >"$work/master.log" 2>&1 &
  pids+=($!)
  master="spark://127.0.0.1:$port"
  for i in $(seq 1 "$workers"); do
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --cores 1 --memory 2g --webui-port 0 --work-dir "$work/worker-$i" \
      "$master" >"$work/worker-$i.log" 2>&1 &
    pids+=($!)
  done
  # Wait (60 s at most) until every worker has registered with the master.
  alive=0
  for _ in $(seq 1 120); do
    alive="$(curl -fsS "http://127.0.0.1:$ui/json/" 2>/dev/null |
      "$venv/bin/python" -c 'import json,sys; print(sum(w["state"]=="ALIVE" for w in json.load(sys.stdin)["workers"]))' 2>/dev/null || echo 0)"
    [ "$alive" -ge "$workers" ] && break
    sleep 0.5
  done
  if [ "$alive" -lt "$workers" ]; then
    echo "run.sh: only $alive of $workers workers registered with $master; logs:" >&2
    tail -n 20 "$work"/*.log >&2
    exit 1
  fi
  echo "run.sh: standalone master $master with $workers workers" >&2
fi

job_args=(--binary "$binary" --format "$format" --partitions "$partitions")
[ -n "$config" ] && job_args+=(--config "$config")
[ -n "$report" ] && job_args+=(--report "$report")
for a in "${against[@]}"; do job_args+=(--against "$a"); done

"$SPARK_HOME/bin/spark-submit" --master "$master" \
  --files "$files" \
  --conf spark.ui.showConsoleProgress=false \
  --conf spark.executor.memory=1g \
  --conf spark.executor.cores=1 \
  --conf spark.task.maxFailures=4 \
  --conf "spark.driver.extraJavaOptions=-Dlog4j2.level=warn" \
  "$here/job.py" "${job_args[@]}" "$in" "$out"

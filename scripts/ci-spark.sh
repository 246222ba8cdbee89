#!/usr/bin/env bash
# Spark checks: pyspark from PyPI in a cached virtualenv (Java 17 from the
# machine), then the #[ignore]d cluster tests of tests/it/spark.rs, which
# start a standalone master and workers on loopback through deploy/spark/run.sh.
#
#   scripts/ci-spark.sh
#
# Budgets (seconds): NEWSPIPE_SPARK_INSTALL_BUDGET for the one-off install
# (default 600), NEWSPIPE_SPARK_TEST_BUDGET for the tests (default 600). Past
# either, the checks are skipped with a message; a failing test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${NEWSPIPE_SPARK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/newspipe/spark-venv}"
PYSPARK="${NEWSPIPE_PYSPARK:-pyspark==4.3.0}"
INSTALL_BUDGET="${NEWSPIPE_SPARK_INSTALL_BUDGET:-600}"
TEST_BUDGET="${NEWSPIPE_SPARK_TEST_BUDGET:-600}"

skip() {
  echo "== spark checks SKIPPED: $*"
  exit 0
}

command -v java >/dev/null || skip "no java on PATH (Spark needs Java 17)"
if ! "$VENV/bin/python" -c 'import pyspark' 2>/dev/null; then
  echo "== installing $PYSPARK into $VENV (once; budget ${INSTALL_BUDGET}s)"
  mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  timeout "$INSTALL_BUDGET" "$VENV/bin/pip" install --quiet --disable-pip-version-check "$PYSPARK" ||
    skip "pyspark did not install within ${INSTALL_BUDGET}s"
fi
echo "pyspark $("$VENV/bin/python" -c 'import pyspark; print(pyspark.__version__)') in $VENV"

echo "== spark: cluster runs against newspipe run (budget ${TEST_BUDGET}s)"
export NEWSPIPE_SPARK_VENV="$VENV"
set +e
timeout "$TEST_BUDGET" cargo test --locked --test it spark:: -- --ignored --test-threads=1
rc=$?
set -e
case "$rc" in
  0) ;;
  124) skip "the cluster tests did not finish within ${TEST_BUDGET}s" ;;
  *) exit "$rc" ;;
esac

#!/usr/bin/env python3
"""Load one newspipe output file into DuckDB or chDB (embedded ClickHouse)
with the DDL under schema/, run the warehouse queries and print the results
as one JSON object on stdout. tests/it/warehouse.rs compares them with the
run's --summary-json and with the records themselves.

usage: warehouse_queries.py duckdb|chdb FILE [SCHEMA_DIR]

FILE is Parquet (*.parquet) or JSONL (plain, .zst or .gz). Needs the duckdb
or chdb package (scripts/ci-python-env.sh installs both).
"""
import json
import os
import sys
import tempfile

TOP = 5


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def run_duckdb(path, schema_dir):
    import duckdb

    con = duckdb.connect()
    with open(os.path.join(schema_dir, "duckdb.sql")) as f:
        con.execute(f.read())
    if path.endswith(".parquet"):
        src = f"read_parquet({sql_str(path)})"
    else:
        src = f"newspipe_jsonl({sql_str(path)})"
    con.execute(f"CREATE TEMP TABLE raw AS SELECT * FROM {src}")

    def rows(q):
        return con.execute(q).fetchall()

    out = {}
    out["count"], out["distinct_ids"] = rows("SELECT count(*), count(DISTINCT id) FROM raw")[0]
    out["status"] = dict(rows("SELECT dedup.status, count(*) FROM raw GROUP BY 1"))
    out["clusters"] = dict(
        rows(
            """SELECT coalesce(dedup.duplicate_of, id) AS cluster,
                      count(*) FILTER (WHERE dedup.status <> 'unique') AS dups
               FROM raw GROUP BY cluster HAVING dups > 0"""
        )
    )
    mentions = """SELECT unnest(entities) AS e FROM raw
                  UNION ALL SELECT unnest(title_entities) AS e FROM raw"""
    out["entities"] = dict(rows(f"SELECT e.label, count(*) FROM ({mentions}) GROUP BY 1"))
    top = rows(
        f"""SELECT label, text, n FROM (
              SELECT e.label AS label, e.text AS text, count(*) AS n
              FROM ({mentions}) GROUP BY 1, 2)
            QUALIFY row_number() OVER (PARTITION BY label ORDER BY n DESC, text) <= {TOP}
            ORDER BY label, n DESC, text"""
    )
    out["top_entities"] = group_top(top)
    # The README's upsert, run twice: the second load must replace, not add.
    upsert = """INSERT OR REPLACE INTO articles SELECT * FROM raw
                QUALIFY row_number() OVER (
                  PARTITION BY id ORDER BY dedup.status = 'unique' DESC) = 1"""
    con.execute(upsert)
    con.execute(upsert)
    out["upserted"] = rows("SELECT count(*) FROM articles")[0][0]
    return out


def run_chdb(path, schema_dir):
    from chdb import session

    sess = session.Session(tempfile.mkdtemp(prefix="newspipe-chdb-"))

    def rows(q):
        text = sess.query(q, "JSONCompact").bytes()
        return json.loads(text)["data"] if text.strip() else []

    sess.query("CREATE DATABASE IF NOT EXISTS newspipe")
    sess.query("USE newspipe")
    with open(os.path.join(schema_dir, "clickhouse.sql")) as f:
        sess.query(f.read())
    # `raw` keeps every row; `articles` (ReplacingMergeTree) keeps one per id.
    sess.query("CREATE TABLE raw AS articles ENGINE = Memory")
    fmt = "Parquet" if path.endswith(".parquet") else "JSONEachRow"
    # Without a structure, file() takes the columns of the table inserted into.
    sess.query(f"INSERT INTO raw SELECT * FROM file({sql_str(path)}, {fmt})")

    out = {}
    c, d = rows("SELECT count(), uniqExact(id) FROM raw")[0]
    out["count"], out["distinct_ids"] = int(c), int(d)
    out["status"] = {s: int(n) for s, n in rows("SELECT dedup.status, count() FROM raw GROUP BY 1")}
    out["clusters"] = {
        cluster: int(n)
        for cluster, n in rows(
            """SELECT coalesce(dedup.duplicate_of, id) AS cluster,
                      countIf(dedup.status != 'unique') AS dups
               FROM raw GROUP BY cluster HAVING dups > 0"""
        )
    }
    mentions = """SELECT arrayJoin(arrayConcat(entities, title_entities)) AS e FROM raw"""
    out["entities"] = {
        label: int(n)
        for label, n in rows(f"SELECT e.label AS label, count() FROM ({mentions}) GROUP BY label")
    }
    top = rows(
        f"""SELECT label, text, n FROM (
              SELECT e.label AS label, e.text AS text, count() AS n
              FROM ({mentions}) GROUP BY label, text)
            ORDER BY label, n DESC, text
            LIMIT {TOP} BY label"""
    )
    out["top_entities"] = group_top([(l, t, int(n)) for l, t, n in top])
    sess.query("INSERT INTO articles SELECT * FROM raw")
    sess.query("INSERT INTO articles SELECT * FROM raw")
    out["upserted"] = int(rows("SELECT count() FROM articles FINAL")[0][0])
    return out


def group_top(rows):
    top = {}
    for label, text, n in rows:
        top.setdefault(label, []).append([text, n])
    return top


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    engine, path = sys.argv[1], os.path.abspath(sys.argv[2])
    here = os.path.dirname(os.path.abspath(__file__))
    schema_dir = sys.argv[3] if len(sys.argv) == 4 else os.path.join(here, "..", "schema")
    runners = {"duckdb": run_duckdb, "chdb": run_chdb}
    if engine not in runners:
        sys.exit(f"unknown engine {engine!r}; use duckdb or chdb")
    print(json.dumps(runners[engine](path, schema_dir), sort_keys=True))


if __name__ == "__main__":
    main()

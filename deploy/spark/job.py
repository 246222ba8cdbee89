"""newspipe on Spark: the records of `newspipe run IN`, computed by a cluster.

Submitted by deploy/spark/run.sh (see deploy/spark/README.md). The per-article
work runs in the newspipe binary on the executors; Spark does what needs the
whole corpus:

1. `newspipe spark list IN` (on the driver) gives the files in batch order;
   they are cut into P contiguous parts, part k before part k+1.
2. Fingerprint (one task per part): `newspipe spark fingerprint` prints each
   article's seq, id, exact key, MinHash and LSH bucket keys.
3. Components: articles (and earlier runs' signatures, from --against) are
   grouped by bucket key and by exact key. Two articles are linked when they
   share an exact key, or share a bucket and pass verification (`newspipe
   spark verify`), or share a bucket of more than BUCKET_WALK members. The
   links are closed into connected components by min-label propagation, one
   shuffle round per step of the components' diameter.
4. Resolve (one task per hash range of components): `newspipe spark resolve`
   decides each component in input order with the batch run's own index.
   src/cluster.rs says why that is every verdict one run over the whole
   corpus reaches. Articles linked to nothing are unique.
5. Write (one task per part): `newspipe run --files-from --verdicts` writes
   the part with newspipe's own sink, rejects and dedup signatures.
6. Commit (driver): each part's successful attempt is renamed into OUT in
   part order; a failed or repeated task attempt leaves only its own
   directory under OUT/_temporary, which the commit ignores and removes.
"""

import argparse
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from pyspark import SparkFiles, TaskContext
from pyspark.sql import SparkSession

# Fewest partitions of the shuffles that group and resolve; there are as many
# as parts otherwise (each is a Python task: more only costs start-up time).
MIN_SHUFFLE_PARTITIONS = 2


def parse_args(argv):
    p = argparse.ArgumentParser(prog="job.py")
    p.add_argument("--binary", required=True, help="newspipe binary, shipped with --files")
    p.add_argument("--config", help="newspipe config file, shipped with --files")
    p.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    p.add_argument("--against", action="append", default=[])
    p.add_argument("--partitions", type=int, default=0,
                   help="parts of the input (and of the output); 0: the cluster's default parallelism")
    p.add_argument("--report", help="write the run's cost figures as JSON to this file")
    p.add_argument("input")
    p.add_argument("output")
    return p.parse_args(argv)


def newspipe_cmd(binary, config, *args):
    """The newspipe command line, with the binary and config as the task sees them."""
    cmd = [binary]
    if config:
        cmd += ["--config", config]
    return cmd + ["--quiet"] + list(args)


def shipped(name):
    """Path of a file shipped with spark-submit --files, on this executor."""
    path = SparkFiles.get(os.path.basename(name))
    if not os.access(path, os.X_OK) and name.endswith("newspipe"):
        os.chmod(path, 0o755)
    return path


def run_checked(cmd, stdin_bytes=None, ok=(0,)):
    proc = subprocess.run(cmd, input=stdin_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode not in ok:
        raise RuntimeError(
            "%s exited %d: %s" % (" ".join(cmd[:3]), proc.returncode, proc.stderr.decode(errors="replace")[-2000:])
        )
    return proc.stdout


def split_parts(rels, parts):
    n = len(rels)
    parts = max(1, min(parts, n)) if n else 1
    return [rels[k * n // parts:(k + 1) * n // parts] for k in range(parts)]


# Nodes are tuples that sort in decision order: earlier runs' signatures
# (0, file, row) before this run's articles (1, part, seq).

def fingerprint_part(args, root, item):
    part, rels = item
    binary = shipped(args.binary)
    config = shipped(args.config) if args.config else None
    listing = "".join(json.dumps(r) + "\n" for r in rels).encode()
    out = run_checked(newspipe_cmd(binary, config, "spark", "fingerprint", root), listing)
    for line in out.splitlines():
        f = json.loads(line)
        yield ((1, part, f["seq"]), {"id": f["id"], "exact": f["exact"], "minhash": f["minhash"],
                                     "bands": f["bands"]})


def group_keys(node, data):
    """The groups a node belongs to: its bucket keys, its exact key, and for
    earlier signatures the id that links an alias to its canonical."""
    keys = [("b", b) for b in data.get("bands", [])]
    keys.append(("x", data["exact"]))
    if data.get("earlier"):
        keys.append(("i", data["id"]))
    return [(k, node) for k in keys]


def u32s(blob):
    if blob is None:
        return []
    return list(struct.unpack("<%dI" % (len(blob) // 4), bytes(blob)))


def earlier_signatures(spark, against):
    """Earlier runs' signatures as (node, data), in their decision order."""
    files = []
    for path in against:
        sig = os.path.join(path, "_signatures")
        if not os.path.isdir(sig):
            sig = path if os.path.isdir(path) else path + ".signatures"
        if os.path.isfile(os.path.join(sig, "dedup.parquet")):
            files.append(os.path.join(sig, "dedup.parquet"))
        else:
            parts = sorted(f for f in os.listdir(sig) if f.startswith("dedup-") and f.endswith(".parquet"))
            if not parts:
                raise SystemExit("--against %s: no dedup signatures in %s" % (path, sig))
            files += [os.path.join(sig, f) for f in parts]
    if not files:
        return None
    order = {os.path.abspath(f): i for i, f in enumerate(files)}
    from pyspark.sql.functions import input_file_name
    df = spark.read.parquet(*files).withColumn("file", input_file_name())

    def row(r):
        path = urllib.parse.unquote(urllib.parse.urlparse(r["file"]).path)
        node = (0, order[os.path.abspath(path)], int(r["seq"]))
        # Spark reads Parquet's uint64 as decimal(20, 0).
        return (node, {"earlier": r["kind"], "id": r["id"], "exact": int(r["exact"]),
                       "minhash": u32s(r["minhash"]), "bands": u32s(r["bands"])})

    return df.rdd.map(row)


# newspipe's dedup::MAX_BUCKET_WALK: a lookup visits at most this many stored
# articles of one bucket. A bucket with more members links them all (its walk
# may be cut short, so who is visited depends on every member's verdict);
# a smaller one links only the pairs that pass verification.
BUCKET_WALK = 64


def links(kv):
    (kind, _), nodes = kv
    if kind == "b" and len(nodes) <= BUCKET_WALK:
        for i in range(len(nodes)):
            for j in range(i + 1, len(nodes)):
                yield ("pair", (nodes[i], nodes[j]))
    else:
        for n in nodes[1:]:
            yield ("edge", (nodes[0], n))


def verify_partition(args, rows):
    """rows: ((a, b), (minhash_a, minhash_b)); yields the pairs that pass."""
    binary = shipped(args.binary)
    config = shipped(args.config) if args.config else None
    lines = [json.dumps([list(a), list(b), ma, mb]) for (a, b), (ma, mb) in rows]
    if not lines:
        return
    out = run_checked(newspipe_cmd(binary, config, "spark", "verify"), ("\n".join(lines) + "\n").encode())
    for line in out.splitlines():
        a, b = json.loads(line)
        yield (tuple(a), tuple(b))


def components(args, members, partitions):
    """node -> component label (its smallest node) for every node linked to
    another: by an exact key, an earlier alias's canonical, a bucket of more
    than BUCKET_WALK members, or a verified pair in a bucket. Returns the
    labels, the propagation rounds, and the candidate and verified pairs."""
    groups = (members.flatMap(lambda kv: group_keys(*kv))
              .groupByKey(partitions)
              .mapValues(lambda ns: sorted(set(ns)))
              .filter(lambda kv: len(kv[1]) > 1))
    linked = groups.flatMap(links).persist()
    candidates = linked.filter(lambda kv: kv[0] == "pair").map(lambda kv: kv[1]).distinct(partitions)
    minhash = members.mapValues(lambda d: d["minhash"])
    verified = (candidates.join(minhash, partitions)                      # a -> (b, ma)
                .map(lambda kv: (kv[1][0], (kv[0], kv[1][1])))
                .join(minhash, partitions)                                 # b -> ((a, ma), mb)
                .map(lambda kv: ((kv[1][0][0], kv[0]), (kv[1][0][1], kv[1][1])))
                .mapPartitions(lambda rows: verify_partition(args, rows))
                .persist())
    edges = linked.filter(lambda kv: kv[0] == "edge").map(lambda kv: kv[1]).union(verified)
    adjacent = edges.flatMap(lambda e: [(e[0], e[1]), (e[1], e[0])]).persist()
    labels = adjacent.map(lambda e: (e[0], min(e))).reduceByKey(min, partitions).persist()
    rounds = 1
    while True:
        # Every node takes the smallest label among itself and its neighbours.
        new = (adjacent.join(labels).map(lambda kv: (kv[1][0], kv[1][1]))
               .union(labels).reduceByKey(min, partitions).persist())
        changed = new.join(labels).filter(lambda kv: kv[1][0] != kv[1][1]).count()
        labels.unpersist()
        labels = new
        rounds += 1
        if changed == 0:
            break
    pairs = (candidates.count(), verified.count())
    linked.unpersist()
    adjacent.unpersist()
    verified.unpersist()
    return labels, rounds, pairs


def resolve_partition(args, rows):
    """rows: ((component, node), data), sorted by component then node."""
    binary = shipped(args.binary)
    config = shipped(args.config) if args.config else None
    lines = []
    for (comp, node), data in rows:
        m = {"component": json.dumps(comp), "id": data["id"], "exact": data["exact"],
             "minhash": data["minhash"]}
        if node[0] == 0:
            m["earlier"] = data["earlier"]
        else:
            m["part"], m["seq"] = node[1], node[2]
        lines.append(json.dumps(m))
    if not lines:
        return
    out = run_checked(newspipe_cmd(binary, config, "spark", "resolve"), ("\n".join(lines) + "\n").encode())
    for line in out.splitlines():
        v = json.loads(line)
        yield (v["part"], line.decode())


def write_part(args, root, staging, item):
    part, (rels, verdicts) = item
    binary = shipped(args.binary)
    config = shipped(args.config) if args.config else None
    ctx = TaskContext.get()
    attempt = "%05d-%d-%d" % (part, ctx.stageId(), ctx.taskAttemptId())
    work = os.path.join(staging, attempt)
    os.makedirs(work)
    name = "part-%05d.%s" % (part, args.format)
    with tempfile.TemporaryDirectory() as tmp:
        listing = os.path.join(tmp, "files")
        with open(listing, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rels)
        given = os.path.join(tmp, "verdicts")
        with open(given, "w") as f:
            f.writelines(v + "\n" for v in verdicts)
        cmd = newspipe_cmd(binary, config, "run", root, "--files-from", listing, "--verdicts", given,
                           "-o", os.path.join(work, name), "--rejects", os.path.join(work, "rejects.jsonl"),
                           "--summary-json", os.path.join(work, "summary.json"), "--progress", "never")
        # 3: finished, with rejected inputs (they are in the rejects file).
        run_checked(cmd, ok=(0, 3))
    return (part, work)


def add_summaries(parts):
    def add(a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            return {k: add(a.get(k), b.get(k)) for k in sorted(set(a) | set(b))}
        if a is None:
            return b
        if b is None:
            return a
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            return a
        return a + b
    total = {}
    for s in parts:
        total = add(total, s)
    # Rates and thread counts do not add up across parts.
    for k in ("mb_per_s", "threads", "seconds", "stages"):
        total.pop(k, None)
    return total


def app_metrics(sc):
    """Shuffle bytes over every stage and the driver JVM's peak heap, from
    the driver's REST API (None when the UI is off)."""
    url = sc.uiWebUrl
    if not url:
        return None, None
    base = "%s/api/v1/applications/%s" % (url, sc.applicationId)
    try:
        stages = json.load(urllib.request.urlopen(base + "/stages?status=complete", timeout=10))
        shuffle = sum(s.get("shuffleWriteBytes", 0) for s in stages)
        execs = json.load(urllib.request.urlopen(base + "/allexecutors", timeout=10))
        driver = next((e for e in execs if e.get("id") == "driver"), {})
        peak = (driver.get("peakMemoryMetrics") or {}).get("JVMHeapMemory")
        return shuffle, peak
    except Exception as e:  # the figures are a report, not the job
        print("newspipe-spark: cannot read metrics: %s" % e, file=sys.stderr)
        return None, None


def main(argv):
    args = parse_args(argv)
    root = os.path.abspath(args.input)
    out = os.path.abspath(args.output)
    if os.path.exists(out):
        raise SystemExit("newspipe-spark: %s exists; give a new output directory" % out)
    started = time.time()
    spark = SparkSession.builder.appName("newspipe").getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    local_binary = args.binary
    rels = json.loads("[" + ",".join(run_checked(
        newspipe_cmd(local_binary, args.config, "spark", "list", root)).decode().splitlines()) + "]")
    parts = split_parts(rels, args.partitions or sc.defaultParallelism)
    shuffle_parts = max(MIN_SHUFFLE_PARTITIONS, len(parts))
    os.makedirs(out)
    staging = os.path.join(out, "_temporary")
    os.makedirs(staging)
    try:
        part_rdd = sc.parallelize(list(enumerate(parts)), len(parts))
        fps = part_rdd.flatMap(lambda it: fingerprint_part(args, root, it)).persist()
        members = fps
        earlier = earlier_signatures(spark, args.against)
        if earlier is not None:
            members = fps.union(earlier)
        members = members.persist()
        articles = fps.count()
        labels, rounds, (candidate_pairs, verified_pairs) = components(args, members, shuffle_parts)
        in_components = labels.count()
        keyed = labels.join(members).map(lambda kv: ((kv[1][0], kv[0]), kv[1][1]))
        verdicts = (keyed.repartitionAndSortWithinPartitions(
            shuffle_parts, partitionFunc=lambda key: hash(key[0]))
            .mapPartitions(lambda rows: resolve_partition(args, rows)))
        by_part = verdicts.groupByKey(len(parts))
        work = (part_rdd.leftOuterJoin(by_part, len(parts))
                .map(lambda kv: (kv[0], (kv[1][0], list(kv[1][1] or []))))
                .map(lambda it: write_part(args, root, staging, it))
                .collect())
        # The job's commit: one attempt per part, renamed in part order.
        done = dict(work)
        os.makedirs(os.path.join(out, "_signatures"))
        os.makedirs(os.path.join(out, "_rejects"))
        summaries = []
        for part in range(len(parts)):
            src = done[part]
            name = "part-%05d.%s" % (part, args.format)
            os.rename(os.path.join(src, name), os.path.join(out, name))
            sig = os.path.join(src, name + ".signatures", "dedup.parquet")
            if os.path.exists(sig):
                os.rename(sig, os.path.join(out, "_signatures", "dedup-%05d.parquet" % part))
            rejects = os.path.join(src, "rejects.jsonl")
            if os.path.exists(rejects) and os.path.getsize(rejects) > 0:
                os.rename(rejects, os.path.join(out, "_rejects", "part-%05d.jsonl" % part))
            with open(os.path.join(src, "summary.json")) as f:
                summaries.append(json.load(f))
        shutil.rmtree(staging)
        summary = add_summaries(summaries)
        with open(os.path.join(out, "_summary.json"), "w") as f:
            json.dump(summary, f, indent=2, sort_keys=True)
        shuffle, driver_heap = app_metrics(sc)
        report = {
            "parts": len(parts),
            "files": len(rels),
            "articles_fingerprinted": articles,
            "articles_in_components": in_components,
            "propagation_rounds": rounds,
            "candidate_pairs": candidate_pairs,
            "verified_pairs": verified_pairs,
            "shuffle_write_bytes": shuffle,
            "shuffle_bytes_per_article": (shuffle / articles) if shuffle is not None and articles else None,
            "driver_jvm_peak_heap_bytes": driver_heap,
            "driver_python_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "seconds": round(time.time() - started, 3),
        }
        if args.report:
            with open(args.report, "w") as f:
                json.dump(report, f, indent=2, sort_keys=True)
        open(os.path.join(out, "_SUCCESS"), "w").close()
        print("newspipe-spark: %d files in %d parts: %s written, %s exact and %s near duplicates, "
              "%d rejected; %d articles in %d-round components; %.1fs"
              % (len(rels), len(parts), summary.get("written"), summary.get("exact_duplicates"),
                 summary.get("near_duplicates"), sum((summary.get("rejected") or {}).values()),
                 in_components, rounds, report["seconds"]), file=sys.stderr)
    except BaseException:
        # Nothing half-written is left: OUT did not exist before this run.
        shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])

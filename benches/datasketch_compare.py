#!/usr/bin/env python3
"""Time datasketch MinHash + MinHashLSH over the BBC bodies, the same work as
benches/dedup.rs: fold to lowercase words, 5-word shingles, 72 permutations,
LSH with 24 bands x 3 rows, query-then-insert each article in input order.

Setup (outside the repo):
    python3 -m venv /tmp/ds-venv && /tmp/ds-venv/bin/pip install datasketch
    /tmp/ds-venv/bin/python benches/datasketch_compare.py [path/to/bbc]

Prints MB/s of body text per phase, single-threaded, to compare with
`cargo bench --bench dedup` run in the same session.
"""
import os
import re
import sys
import time

from datasketch import MinHash, MinHashLSH

SHINGLE_WORDS = 5
BANDS, ROWS = 24, 3
NUM_PERM = BANDS * ROWS


def body(raw):
    """Headline dropped, whitespace collapsed per paragraph (as the Rust eval does)."""
    rest = raw.split("\n", 1)[1] if "\n" in raw else ""
    paras = (" ".join(p.split()) for p in rest.split("\n\n"))
    return "\n\n".join(p for p in paras if p)


def load(root):
    bodies = []
    for category in sorted(os.listdir(root)):
        folder = os.path.join(root, category)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if name.endswith(".txt"):
                data = open(os.path.join(folder, name), "rb").read()
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    text = data.decode("latin-1")
                bodies.append(body(text))
    return bodies


APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc]")
NON_WORD = re.compile(r"[^\w]+|_+")


def shingles(text):
    words = NON_WORD.sub(" ", APOSTROPHES.sub("", text.lower())).split()
    if len(words) < SHINGLE_WORDS:
        return [" ".join(words).encode()] if words else []
    return [" ".join(words[i:i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)]


def main():
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "bbc")
    root = sys.argv[1] if len(sys.argv) > 1 else default
    if not os.path.isdir(root):
        print(f"{root} not found: nothing to compare")
        return
    bodies = load(root)
    mb = sum(len(b.encode()) for b in bodies) / 1e6
    print(f"{len(bodies)} bodies, {mb:.2f} MB, num_perm={NUM_PERM}, params=({BANDS}, {ROWS})")

    best = {}
    for _ in range(3):
        t0 = time.perf_counter()
        sh = [shingles(b) for b in bodies]
        t1 = time.perf_counter()
        sigs = []
        for s in sh:
            m = MinHash(num_perm=NUM_PERM)
            m.update_batch(s)
            sigs.append(m)
        t2 = time.perf_counter()
        lsh = MinHashLSH(num_perm=NUM_PERM, params=(BANDS, ROWS))
        dups = 0
        for i, m in enumerate(sigs):
            if lsh.query(m):
                dups += 1
            lsh.insert(str(i), m)
        t3 = time.perf_counter()
        for phase, secs in [("shingle", t1 - t0), ("minhash", t2 - t1), ("lsh", t3 - t2),
                            ("fingerprint", t2 - t0), ("total", t3 - t0)]:
            best[phase] = min(best.get(phase, float("inf")), secs)
    for phase in ["shingle", "minhash", "fingerprint", "lsh", "total"]:
        print(f"datasketch {phase:<12} {mb / best[phase]:8.2f} MB/s  ({best[phase] * 1000:.0f} ms, best of 3)")
    print(f"(articles with any LSH candidate: {dups})")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate a large synthetic corpus from the BBC articles in ../shared, for benchmarks.

Each generated article takes a headline from one BBC article and paragraphs
sampled from several others, so articles are unique (as in a real feed) while
the text stays real English news prose. A small share are exact or edited copies
of earlier generated articles, so the dedup stage has work to do.

The output goes to a directory outside the repository (the BBC texts are for
research use only and must not be committed). Deterministic for a given seed.

usage: scripts/gen_corpus.py BBC_DIR OUT_DIR --mb 200 [--seed 1]
"""
import argparse
import os
import random
import sys


def load(bbc_dir):
    articles = []
    for root, _dirs, files in sorted(os.walk(bbc_dir)):
        for name in sorted(files):
            if not name.endswith(".txt"):
                continue
            raw = open(os.path.join(root, name), "rb").read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")
            lines = [l.strip() for l in text.splitlines()]
            title = lines[0] if lines else ""
            paras = [l for l in lines[1:] if l]
            if title and len(paras) >= 2:
                articles.append((title, paras))
    return articles


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bbc_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--mb", type=float, default=200.0, help="target size in MB (default 200)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dup-share", type=float, default=0.05, help="share of duplicate articles")
    ap.add_argument("--count", type=int, default=0, help="stop after this many articles (0: no limit)")
    args = ap.parse_args()

    articles = load(args.bbc_dir)
    if not articles:
        sys.exit(f"no articles under {args.bbc_dir}")
    rng = random.Random(args.seed)
    target = int(args.mb * 1e6)
    written = 0
    n = 0
    recent = []
    while written < target and (args.count == 0 or n < args.count):
        if recent and rng.random() < args.dup_share:
            body = rng.choice(recent)
            if rng.random() < 0.5:
                # Edited copy: a dateline and the last paragraph dropped.
                parts = body.split("\n\n")
                body = "\n\n".join(["LONDON (Newswire) - " + parts[0]] + parts[1:-1]) + "\n"
        else:
            title = rng.choice(articles)[0]
            paras = []
            for _ in range(rng.randint(6, 14)):
                paras.append(rng.choice(rng.choice(articles)[1]))
            body = title + "\n\n" + "\n\n".join(paras) + "\n"
            recent.append(body)
            if len(recent) > 2000:
                recent.pop(rng.randrange(len(recent)))
        sub = os.path.join(args.out_dir, f"{n // 1000:04d}")
        if n % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        data = body.encode("utf-8")
        with open(os.path.join(sub, f"{n:07d}.txt"), "wb") as f:
            f.write(data)
        written += len(data)
        n += 1
    print(f"{n} articles, {written / 1e6:.1f} MB in {args.out_dir}")


if __name__ == "__main__":
    main()

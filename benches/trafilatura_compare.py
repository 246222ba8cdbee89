"""trafilatura (PyPI) over the WCXB dev pages, for scripts/bench.sh's HTML line.

usage: python benches/trafilatura_compare.py DIR
Prints "trafilatura pages/s X" (CPU time of one process, metadata on).
"""
import gzip
import os
import sys
import time

import trafilatura

d = sys.argv[1]
names = sorted(n for n in os.listdir(os.path.join(d, "html")) if n.endswith(".html.gz"))
pages = [gzip.open(os.path.join(d, "html", n)).read().decode("utf-8", "replace") for n in names]
t = time.process_time()
for p in pages:
    trafilatura.bare_extraction(p, with_metadata=True)
print(f"trafilatura pages/s {len(pages) / max(time.process_time() - t, 1e-3):.1f}")

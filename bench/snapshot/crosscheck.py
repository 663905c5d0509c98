#!/usr/bin/env python3
"""TEST HELPER (not part of the benchmark): independent check of run_duckdb.py's output.

Recomputes the consent decision in plain Python (DuckDB is used only to read the
Parquet rows, no SQL logic) and compares with OUT/snapshot.parquet and
OUT/manifest.parquet: row count, sum of order_id, schema equality, and the manifest
(exact list, sorted). Tie rule as in run_duckdb.py without an id column: a
withdrawal wins an at_us tie.

Usage: bench/.venv/bin/python bench/snapshot/crosscheck.py --orders O.parquet \
           --consent C.parquet --purpose model_training --out SNAPSHOT_DIR [--now-us MICROS]
Exit 0 and "OK ..." when everything matches, 1 otherwise.
"""

import argparse
import os
import sys
import time

import duckdb


def rows(con, sql, batch=200_000):
    cur = con.execute(sql)
    while True:
        chunk = cur.fetchmany(batch)
        if not chunk:
            return
        yield from chunk


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--orders", required=True)
    p.add_argument("--consent", required=True)
    p.add_argument("--purpose", default="model_training")
    p.add_argument("--out", required=True)
    p.add_argument("--now-us", type=int, default=None)
    a = p.parse_args()
    now = a.now_us if a.now_us is not None else time.time_ns() // 1000
    con = duckdb.connect()
    q = lambda path: "'" + path.replace("'", "''") + "'"

    latest = {}  # subject -> (at_us, not_granted) ; max of the tuple decides
    for sid, purpose, granted, at in rows(con, f"SELECT subject_id, purpose, granted, at_us FROM read_parquet({q(a.consent)})"):
        if purpose != a.purpose or at > now or sid is None or granted is None:
            continue
        key = (at, not granted)
        if sid not in latest or key > latest[sid]:
            latest[sid] = key
    allowed = {s for s, (_, denied) in latest.items() if not denied}

    n_in = n_out = sum_out = 0
    subjects = set()
    for oid, cid in rows(con, f"SELECT order_id, customer_id FROM read_parquet({q(a.orders)})"):
        n_in += 1
        if cid in allowed:
            n_out += 1
            sum_out += oid
            subjects.add(cid)
    expected_manifest = sorted(subjects)

    snap = os.path.join(a.out, "snapshot.parquet")
    man = os.path.join(a.out, "manifest.parquet")
    got_n, got_sum = con.execute(f"SELECT count(*), coalesce(sum(order_id), 0) FROM read_parquet({q(snap)})").fetchone()
    got_manifest = [r[0] for r in rows(con, f"SELECT * FROM read_parquet({q(man)})")]
    schema = lambda path: con.execute(f"DESCRIBE SELECT * FROM read_parquet({q(path)})").fetchall()

    problems = []
    if got_n != n_out:
        problems.append(f"snapshot rows {got_n} != expected {n_out}")
    if int(got_sum) != sum_out:
        problems.append(f"snapshot sum(order_id) {got_sum} != expected {sum_out}")
    if got_manifest != expected_manifest:
        problems.append(f"manifest differs: {len(got_manifest)} vs expected {len(expected_manifest)} subjects")
    if schema(snap) != schema(a.orders):
        problems.append("snapshot schema differs from orders schema")
    print(
        f"orders={n_in} allowed_subjects={len(allowed)} expected_rows={n_out} "
        f"expected_subjects={len(expected_manifest)} got_rows={got_n} got_subjects={len(got_manifest)}"
    )
    for pr in problems:
        print("MISMATCH:", pr)
    print("OK" if not problems else "FAIL")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())

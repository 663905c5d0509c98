#!/usr/bin/env python3
"""DuckDB peer for the erasure benchmark: rewrite Parquet files without the rows of the
customers listed in an erase list, with an anti-join.

For every DATA/*.parquet file (sorted), writes OUT/<same name> holding the file's rows
whose customer_id is not in the erase list (snappy-compressed Parquet):

  COPY (SELECT f.* FROM read_parquet(FILE) f ANTI JOIN erase e USING (customer_id))
    TO OUT/FILE (FORMAT parquet, COMPRESSION snappy)

With --targeted it first finds the files that hold a listed customer (one query over all
files) and rewrites only those, as a careful DuckDB user would.

Each repetition uses a fresh in-memory connection; the erase list is loaded before the
timer. The timed section is the (optional) search and the rewrites.

Usage:
  bench/.venv/bin/python bench/erasure/run_duckdb.py --data DIR --erase ERASE.parquet \
      --out OUT_DIR [--threads N] [--repeat R] [--targeted]

Stdout: one JSON line per repetition:
  {"peer": "duckdb", "version": ..., "threads": N, "targeted": bool, "rows_out": ...,
   "files_rewritten": ..., "seconds": ..., "cpu_seconds": ...}
Exit code 2 on bad input.

Setup: bench/snapshot/setup.sh (the same venv).
"""

import argparse
import glob
import json
import os
import sys
import time

import duckdb


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--erase", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--targeted", action="store_true")
    a = p.parse_args()
    files = sorted(glob.glob(os.path.join(a.data, "*.parquet")))
    if not files or not os.path.exists(a.erase):
        print("no input files or erase list", file=sys.stderr)
        return 2
    os.makedirs(a.out, exist_ok=True)
    for _ in range(a.repeat):
        for old in glob.glob(os.path.join(a.out, "*.parquet")):
            os.remove(old)
        con = duckdb.connect()
        if a.threads:
            con.execute(f"SET threads = {a.threads}")
        con.execute(
            f"CREATE TABLE erase AS SELECT DISTINCT customer_id FROM read_parquet({sql_str(a.erase)})"
        )
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        targets = files
        if a.targeted:
            listed = "[" + ", ".join(sql_str(f) for f in files) + "]"
            hit = con.execute(
                f"SELECT DISTINCT filename FROM read_parquet({listed}, filename = true) f "
                "SEMI JOIN erase e USING (customer_id)"
            ).fetchall()
            hit = {h[0] for h in hit}
            targets = [f for f in files if f in hit]
        rows = 0
        for f in targets:
            out = os.path.join(a.out, os.path.basename(f))
            n = con.execute(
                f"COPY (SELECT f.* FROM read_parquet({sql_str(f)}) f ANTI JOIN erase e USING (customer_id)) "
                f"TO {sql_str(out)} (FORMAT parquet, COMPRESSION snappy)"
            ).fetchone()[0]
            rows += n
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        con.close()
        print(
            json.dumps(
                {
                    "peer": "duckdb",
                    "version": duckdb.__version__,
                    "threads": a.threads,
                    "targeted": a.targeted,
                    "rows_out": rows,
                    "files_rewritten": len(targets),
                    "seconds": seconds,
                    "cpu_seconds": cpu,
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

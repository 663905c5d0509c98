#!/usr/bin/env python3
"""DuckDB peer for the "consent-filtered training snapshot" benchmark.

Given an orders table and a consent-ledger export (both Parquet), writes

  OUT_DIR/snapshot.parquet  every orders row (all columns, o.*) whose customer_id
                            is allowed for --purpose (snappy-compressed Parquet);
  OUT_DIR/manifest.parquet  the subject manifest: the sorted distinct customer_ids
                            present in the snapshot (one column, customer_id).

Consent rule (mirrors the Custodia ledger): for each (subject_id, purpose) the
latest event with at_us <= now decides; granted -> allowed, withdrawn -> not
allowed; a subject with no such event is not allowed. Ties on at_us are broken
by the optional `id` column of the export (highest id wins, like the ledger's
ORDER BY at_us DESC, id DESC); without it, a withdrawal wins a tie (deny-safe).

Each repetition uses a fresh in-memory DuckDB connection. The timed section is
steps a)-c) (allowed set, snapshot COPY, manifest COPY); connection creation,
input validation and the output counts are outside it.

Usage:
  bench/.venv/bin/python bench/snapshot/run_duckdb.py --orders ORDERS.parquet \
      --consent CONSENT.parquet --purpose model_training --out OUT_DIR \
      [--threads N] [--repeat R] [--now-us MICROS]

Stdout: one JSON line per repetition:
  {"peer": "duckdb", "version": ..., "threads": N|null, "rows_in": ...,
   "rows_out": ..., "subjects_out": ..., "seconds": ..., "cpu_seconds": ...}
(cpu_seconds: CPU time of all the process's threads during the timed section)
Exit code 2 on bad input (missing file, missing/mistyped column, unreadable Parquet).

Setup: bench/snapshot/setup.sh
"""

import argparse
import json
import os
import sys
import time

import duckdb

ORDERS_REQUIRED = {"customer_id": ("VARCHAR",)}
CONSENT_REQUIRED = {
    "subject_id": ("VARCHAR",),
    "purpose": ("VARCHAR",),
    "granted": ("BOOLEAN",),
    "at_us": ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "UINTEGER", "SMALLINT", "TINYINT"),
}


class BadInput(Exception):
    pass


def sql_str(s: str) -> str:
    """A SQL string literal (COPY ... TO does not take a bound parameter)."""
    return "'" + s.replace("'", "''") + "'"


def schema(con, path: str, what: str) -> dict:
    if not os.path.isfile(path):
        raise BadInput(f"{what} file not found: {path}")
    try:
        rows = con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
            [path],
        ).fetchall()
    except duckdb.Error as e:
        raise BadInput(f"{what} file {path} is not readable Parquet: {e}") from e
    return {name: typ for name, typ in rows}


def check_columns(cols: dict, required: dict, path: str, what: str) -> None:
    missing = [c for c in required if c not in cols]
    if missing:
        raise BadInput(
            f"{what} file {path} lacks column(s) {', '.join(missing)} "
            f"(has: {', '.join(cols) or 'none'})"
        )
    for c, types in required.items():
        if cols[c] not in types:
            raise BadInput(f"{what} file {path}: column {c} has type {cols[c]}, expected {'/'.join(types)}")


def validate(orders: str, consent: str) -> bool:
    """Checks both inputs; returns whether the consent export has an `id` column."""
    con = duckdb.connect()
    try:
        check_columns(schema(con, orders, "orders"), ORDERS_REQUIRED, orders, "orders")
        ccols = schema(con, consent, "consent")
        check_columns(ccols, CONSENT_REQUIRED, consent, "consent")
        return "id" in ccols
    finally:
        con.close()


def run_once(args, has_id: bool) -> dict:
    orders, consent = sql_str(args.orders), sql_str(args.consent)
    snapshot = os.path.join(args.out, "snapshot.parquet")
    manifest = os.path.join(args.out, "manifest.parquet")
    now_us = args.now_us if args.now_us is not None else time.time_ns() // 1000
    # Latest event wins; on an at_us tie the higher ledger id (or else the withdrawal) wins.
    tie = "id" if has_id else "NOT granted"

    con = duckdb.connect(":memory:")
    try:
        if args.threads is not None:
            con.execute(f"SET threads = {int(args.threads)}")

        t0 = time.perf_counter()
        cpu0 = time.process_time()
        # a) allowed subjects for the purpose at `now`
        con.execute(
            f"""
            CREATE TEMP TABLE allowed AS
            SELECT subject_id
            FROM read_parquet({consent})
            WHERE purpose = $purpose AND at_us <= $now AND subject_id IS NOT NULL
              AND granted IS NOT NULL
            GROUP BY subject_id
            HAVING arg_max(granted, {{'t': at_us, 'k': {tie}}})
            """,
            {"purpose": args.purpose, "now": now_us},
        )
        # b) the snapshot: every orders row of an allowed subject
        con.execute(
            f"""
            COPY (
              SELECT o.* FROM read_parquet({orders}) AS o
              SEMI JOIN allowed AS a ON o.customer_id = a.subject_id
            ) TO {sql_str(snapshot)} (FORMAT parquet, COMPRESSION snappy)
            """
        )
        # c) the subject manifest: sorted distinct customer_ids in the snapshot
        con.execute(
            f"""
            COPY (
              SELECT DISTINCT o.customer_id FROM read_parquet({orders}) AS o
              SEMI JOIN allowed AS a ON o.customer_id = a.subject_id
              ORDER BY o.customer_id
            ) TO {sql_str(manifest)} (FORMAT parquet, COMPRESSION snappy)
            """
        )
        seconds = time.perf_counter() - t0
        cpu_seconds = time.process_time() - cpu0

        def count(path: str) -> int:
            return con.execute(f"SELECT count(*) FROM read_parquet({sql_str(path)})").fetchone()[0]

        return {
            "peer": "duckdb",
            "version": duckdb.__version__,
            "threads": args.threads,
            "rows_in": count(args.orders),
            "rows_out": count(snapshot),
            "subjects_out": count(manifest),
            "seconds": round(seconds, 6),
            "cpu_seconds": round(cpu_seconds, 6),
        }
    finally:
        con.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", required=True, help="orders Parquet (needs customer_id)")
    p.add_argument("--consent", required=True,
                   help="consent-ledger export Parquet (subject_id, purpose, granted, at_us[, id])")
    p.add_argument("--purpose", required=True, help="purpose to filter on, e.g. model_training")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: DuckDB's own)")
    p.add_argument("--repeat", type=int, default=1, help="repetitions (default 1)")
    p.add_argument("--now-us", type=int, default=None,
                   help="evaluation time in microseconds since epoch (default: wall clock per repetition)")
    args = p.parse_args()
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    if args.repeat < 1:
        p.error("--repeat must be >= 1")

    try:
        has_id = validate(args.orders, args.consent)
        os.makedirs(args.out, exist_ok=True)
    except (BadInput, OSError) as e:
        print(f"run_duckdb: {e}", file=sys.stderr)
        return 2

    for _ in range(args.repeat):
        print(json.dumps(run_once(args, has_id)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

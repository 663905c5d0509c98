#!/usr/bin/env python3
"""TEST HELPER (not part of the benchmark): synthetic inputs for run_duckdb.py.

The benchmark inputs come from the Rust generator; this script only exists to
test the DuckDB peer on its own. It writes, deterministically (DuckDB hash of
the row index), into OUT_DIR:

  orders.parquet   order_id BIGINT, customer_id VARCHAR ("C0000123"), amount DOUBLE,
                   quantity BIGINT, country VARCHAR, ordered_at TIMESTAMP
  consent.parquet  subject_id VARCHAR, purpose VARCHAR, granted BOOLEAN, at_us BIGINT

Subjects C0000000..C{S-1}, for purpose model_training:
  ~70% granted (2% of those: grant, withdraw, re-grant),
  ~10% granted then withdrawn (5% of those: withdrawal at the same at_us as the grant,
       which the deny-safe tie rule must treat as withdrawn),
  ~20% no event (half of them get an "analytics" grant, a tenth a grant dated in
       the future -- neither may count).

Usage: bench/.venv/bin/python bench/snapshot/gen_small.py --out DIR [--orders 100000] [--subjects 10000]
Check: bench/.venv/bin/python bench/snapshot/crosscheck.py --in DIR --out SNAPSHOT_DIR
"""

import argparse
import os
import time

import duckdb

BASE_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
DAY_US = 86_400_000_000


def main() -> None:
    p = argparse.ArgumentParser(description="synthetic orders + consent ledger (test helper)")
    p.add_argument("--out", required=True)
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--subjects", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    if a.subjects > 10_000_000:
        p.error("--subjects must be <= 10,000,000 (7-digit ids)")
    os.makedirs(a.out, exist_ok=True)
    orders = os.path.join(a.out, "orders.parquet")
    consent = os.path.join(a.out, "consent.parquet")
    future_us = time.time_ns() // 1000 + 365 * DAY_US

    con = duckdb.connect()
    if a.threads:
        con.execute(f"SET threads = {a.threads}")
    t = time.perf_counter()
    con.execute(f"""
        COPY (
          SELECT i AS order_id,
                 'C' || lpad((hash(i, 'cust') % {a.subjects})::VARCHAR, 7, '0') AS customer_id,
                 round((hash(i, 'amt') % 100000) / 100.0, 2)::DOUBLE AS amount,
                 (1 + hash(i, 'qty') % 9)::BIGINT AS quantity,
                 ['DE','FR','US','GB','NL','ES','IT','PL'][1 + (hash(i, 'cty') % 8)::INT] AS country,
                 make_timestamp({BASE_US} + (hash(i, 'ts') % (365 * {DAY_US}))::BIGINT) AS ordered_at
          FROM range({a.orders}) r(i)
        ) TO '{orders}' (FORMAT parquet, COMPRESSION snappy)
    """)
    # category per subject: c < 70 granted, c < 80 withdrawn, else no model_training event
    con.execute(f"""
        COPY (
          WITH s AS (
            SELECT i,
                   'C' || lpad(i::VARCHAR, 7, '0') AS sid,
                   hash(i, 'cat') % 100 AS c,
                   hash(i, 'sub') % 100 AS sub,
                   ({BASE_US} + (hash(i, 't0') % (200 * {DAY_US})))::BIGINT AS t0
            FROM range({a.subjects}) r(i)
          ), ev AS (
            -- everybody except "no event": an initial grant
            SELECT sid, 'model_training' AS purpose, true AS granted, t0 AS at_us FROM s WHERE c < 80
            UNION ALL  -- withdrawals (5% tie with the grant)
            SELECT sid, 'model_training', false, CASE WHEN sub < 5 THEN t0 ELSE t0 + 30 * {DAY_US} END
            FROM s WHERE c >= 70 AND c < 80
            UNION ALL  -- granted: 2% withdraw and re-grant
            SELECT sid, 'model_training', false, t0 + 10 * {DAY_US} FROM s WHERE c < 70 AND sub < 2
            UNION ALL
            SELECT sid, 'model_training', true, t0 + 20 * {DAY_US} FROM s WHERE c < 70 AND sub < 2
            UNION ALL  -- no event: half get another purpose, a tenth a future-dated grant
            SELECT sid, 'analytics', true, t0 FROM s WHERE c >= 80 AND sub < 50
            UNION ALL
            SELECT sid, 'model_training', true, {future_us} FROM s WHERE c >= 80 AND sub >= 90
          )
          SELECT sid AS subject_id, purpose, granted, at_us FROM ev ORDER BY hash(subject_id, at_us, granted)
        ) TO '{consent}' (FORMAT parquet, COMPRESSION snappy)
    """)
    n_o = con.execute(f"SELECT count(*) FROM '{orders}'").fetchone()[0]
    n_c = con.execute(f"SELECT count(*) FROM '{consent}'").fetchone()[0]
    print(f"wrote {orders} ({n_o} rows), {consent} ({n_c} events) in {time.perf_counter() - t:.1f}s")


if __name__ == "__main__":
    main()

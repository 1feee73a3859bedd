"""Benchmark: hourly disparate impact over a 20-million-row payload log, DuckDB vs pandas.

A busy credit service logs tens of millions of scoring requests a month. The
monitor aggregates per-window group counts inside DuckDB, so only a few
thousand numbers reach Python; this script checks that it stays fast and
small on such a log, and compares it with the same computation in pandas on
the same rows.

What it does
------------
1. Generates a payload log of ``--rows`` requests (default 20,000,000) over
   ``--days`` days (default 30, so 720 hourly windows) *inside DuckDB* with
   SQL: ``range()`` plus hash-based pseudo-random columns (``SEX``, ``AGE``,
   ``LIMIT_BAL``, prediction, probability). Women are approved less often, so
   disparate impact is about 90%. A three-hour outage with no requests leaves
   empty windows, so the ``min_records`` back-fill path is exercised too.
2. In a fresh process: :func:`fairaudit.monitor.windowed_disparate_impact` on
   the log (hourly windows, ``min_records=1000``, bootstrap intervals with
   1,000 replicates per window). Reports wall time and the process's peak
   resident memory (``ru_maxrss``, interpreter and libraries included).
3. In another fresh process: the same figures by pandas: read the needed
   columns from the same DuckDB file into a DataFrame (timed separately), then
   group by hour and back-fill the short windows. Its result is checked
   against the monitor's counts.

Targets on the development machine (2 cores): DuckDB under 10 s and under
1 GB peak memory. Run::

    .venv/bin/python benchmarks/bench_monitor.py            # full size
    .venv/bin/python benchmarks/bench_monitor.py --rows 2000000   # quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUTAGE_START_HOUR = 200  # hours after the start; three empty windows follow
OUTAGE_HOURS = 3
MIN_RECORDS = 1000
START = "2026-01-01 00:00:00"


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path: Path, rows: int, days: int) -> dict:
    """Create the payload log with the monitor's schema and fill it with SQL."""
    import pandas as pd

    from fairaudit.monitor import PayloadLog

    example = pd.DataFrame(
        {
            "SEX": pd.Categorical(["male", "female"]),
            "AGE": [30, 40],
            "LIMIT_BAL": [1e5, 2e5],
        }
    )
    t0 = time.perf_counter()
    span_us = days * 24 * 3600 * 10**6
    gap_us = OUTAGE_HOURS * 3600 * 10**6
    gap_start = OUTAGE_START_HOUR * 3600 * 10**6
    with PayloadLog.create(path, example, overwrite=True) as log:
        log.connection.execute(
            f"""
            INSERT INTO payload
            SELECT request_id,
                   TIMESTAMP '{START}' + to_microseconds(
                       CASE WHEN t >= {gap_start} THEN t + {gap_us} ELSE t END) AS ts,
                   'v1' AS model_version,
                   sex AS SEX,
                   18 + hash(request_id, 2) % 60 AS AGE,
                   (hash(request_id, 3) % 500000)::DOUBLE AS LIMIT_BAL,
                   CASE WHEN hash(request_id, 4) % 1000
                             < CASE WHEN sex = 'female' THEN 700 ELSE 780 END
                        THEN 0 ELSE 1 END AS prediction,
                   (hash(request_id, 5) % 1000) / 1000.0 AS probability,
                   NULL AS label
            FROM (
                SELECT range AS request_id,
                       floor(range * {(span_us - gap_us) / rows!r})::BIGINT AS t,
                       CASE WHEN hash(range, 1) % 100 < 55 THEN 'female' ELSE 'male' END AS sex
                FROM range({rows})
            )
            """
        )
        n = len(log)
    return {"rows": n, "seconds": time.perf_counter() - t0, "file_mb": path.stat().st_size / 2**20}


def run_duckdb(path: Path) -> dict:
    from fairaudit.monitor import FairnessConfig, PayloadLog, windowed_disparate_impact

    baseline = peak_rss_mb()
    with PayloadLog(path, read_only=True) as log:
        config = FairnessConfig("SEX", "female", "male", 0, min_records=MIN_RECORDS)
        t0 = time.perf_counter()
        windows = windowed_disparate_impact(log, config, random_state=0)
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_imports_mb": baseline,
        "windows": len(windows),
        "backfilled_windows": int((windows["backfilled"] > 0).sum()),
        "alerts": int(windows["alert"].sum()),
        "counts": windows[["monitored_favourable", "monitored_total", "reference_total"]]
        .sum()
        .astype(int)
        .tolist(),
        "backfilled": windows["backfilled"].astype(int).tolist(),
    }


def run_pandas(path: Path) -> dict:
    import duckdb
    import numpy as np
    import pandas as pd

    baseline = peak_rss_mb()
    t0 = time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    df = con.execute("SELECT request_id, scoring_timestamp, SEX, prediction FROM payload").df()
    con.close()
    load = time.perf_counter() - t0
    t1 = time.perf_counter()
    df = df.sort_values(["scoring_timestamp", "request_id"], ignore_index=True)
    bucket = df["scoring_timestamp"].dt.floor("h")
    group = np.select([df["SEX"] == "female", df["SEX"] == "male"], [1, 2], 0)
    fav = (df["prediction"] == 0).to_numpy()
    grid = pd.date_range(bucket.iloc[0], bucket.iloc[-1], freq="h")
    # cumulative favourable / total counts per group over the time-sorted rows
    cum = {}
    for g in (1, 2):
        member = group == g
        cum[g] = (np.cumsum(member & fav), np.cumsum(member))
    ends = np.searchsorted(
        df["scoring_timestamp"].to_numpy(), (grid + pd.Timedelta("1h")).to_numpy()
    )
    starts = np.searchsorted(df["scoring_timestamp"].to_numpy(), grid.to_numpy())
    own = ends - starts
    first = np.where(own >= MIN_RECORDS, starts, np.maximum(ends - MIN_RECORDS, 0))

    def between(c, lo, hi):
        c = np.concatenate([[0], c])
        return c[hi] - c[lo]

    m_fav, m_tot = between(cum[1][0], first, ends), between(cum[1][1], first, ends)
    r_fav, r_tot = between(cum[2][0], first, ends), between(cum[2][1], first, ends)
    di = (m_fav / m_tot) / (r_fav / r_tot)
    seconds = time.perf_counter() - t1
    return {
        "load_seconds": load,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_imports_mb": baseline,
        "windows": len(grid),
        "counts": [int(m_fav.sum()), int(m_tot.sum()), int(r_tot.sum())],
        "backfilled": (ends - first - own).astype(int).tolist(),
        "median_di": float(np.median(di)),
    }


def child(mode: str, path: Path, rows: int, days: int) -> dict:
    """Run one measurement in a fresh interpreter so peak memory is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--path", str(path), "--rows", str(rows)]
        + ["--days", str(days)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"the {mode} step failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--child", choices=["generate", "duckdb", "pandas"], default=None)
    parser.add_argument("--skip-pandas", action="store_true", help="only time the monitor")
    args = parser.parse_args(argv)
    if args.child:
        runner = {"generate": generate, "duckdb": run_duckdb, "pandas": run_pandas}[args.child]
        result = (
            runner(args.path, args.rows, args.days)
            if args.child == "generate"
            else (runner(args.path))
        )
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        path = Path(tmp) / "payload.duckdb"
        gen = child("generate", path, args.rows, args.days)
        print(
            f"payload log: {gen['rows']:,} rows over {args.days} days generated in DuckDB in "
            f"{gen['seconds']:.1f} s ({gen['file_mb']:.0f} MB on disk)"
        )
        duck = child("duckdb", path, args.rows, args.days)
        print(
            f"DuckDB monitor: {duck['windows']} hourly windows "
            f"({duck['backfilled_windows']} back-filled, {duck['alerts']} alerts) in "
            f"{duck['seconds']:.2f} s, peak memory {duck['peak_rss_mb']:.0f} MB "
            f"({duck['rss_after_imports_mb']:.0f} MB of it interpreter and libraries)"
        )
        ok = duck["seconds"] < 10 and duck["peak_rss_mb"] < 1024
        print(f"target (< 10 s, < 1 GB): {'met' if ok else 'MISSED'}")
        if args.skip_pandas:
            return 0 if ok else 1
        pand = child("pandas", path, args.rows, args.days)
        same = pand["counts"] == duck["counts"] and pand["backfilled"] == duck["backfilled"]
        print(
            f"pandas: load {pand['load_seconds']:.2f} s + compute {pand['seconds']:.2f} s, peak "
            f"memory {pand['peak_rss_mb']:.0f} MB; same counts as the monitor: {same}"
        )
        total = pand["load_seconds"] + pand["seconds"]
        print(
            f"ratio pandas / DuckDB: time {total / duck['seconds']:.1f}x (load + compute), "
            f"{pand['seconds'] / duck['seconds']:.1f}x (compute only); peak memory "
            f"{pand['peak_rss_mb'] / duck['peak_rss_mb']:.1f}x"
        )
        return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())

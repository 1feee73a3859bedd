"""Benchmark: auditing a Parquet decision log where it lives, against reading it into pandas.

The audit reduces a decision log to confusion counts per group, so an engine
can count where the data live and hand back a table of a few dozen numbers.
This script measures that on Parquet logs of ``--sizes`` rows, each way in a
fresh process (wall time and peak resident memory, interpreter included):

- ``duckdb``: ``audit(data=duckdb.read_parquet(path), ...)``;
- ``polars``: ``audit(data=polars.scan_parquet(path), ...)`` (lazy);
- ``pandas``: ``pandas.read_parquet`` then ``audit`` on the columns;
- ``metricframe``: ``pandas.read_parquet`` then Fairlearn's ``MetricFrame``
  (point estimates of the same eight rates, no intervals), on the first
  ``--metricframe-rows`` rows only: it takes about 30 s per million rows;
- ``spark``: ``audit(data=spark.read.parquet(path), ...)`` on ``local[2]``,
  for sizes up to ``--spark-max``.

Every audit draws 1,000 bootstrap replicates, and every way's count table is
checked to equal DuckDB's. Targets: 100M rows under 1 GB peak, and at least
10x faster than pandas + MetricFrame at the largest size pandas holds. Run::

    .venv/bin/python benchmarks/bench_tables.py                      # 10M and 100M rows
    .venv/bin/python benchmarks/bench_tables.py --sizes 2000000      # a quick look
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = dict(y_true="default", y_pred="decision", sensitive_features=["sex", "age_band"])

GENERATE = """
COPY (
    SELECT (hash(i) % 100 < 22)::INT AS default,
           (hash(i * 7) % 100 < 25 + 10 * (hash(i * 13) % 10 < 4)::INT)::INT AS decision,
           CASE WHEN hash(i * 13) % 10 < 4 THEN 'female' ELSE 'male' END AS sex,
           ['18-25', '26-35', '36-45', '46-60', '61+'][(1 + hash(i * 17) % 5)::BIGINT] AS age_band
    FROM range({rows}) t(i)
) TO '{path}' (FORMAT PARQUET)
"""

WORKER = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
way, path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
cols = {columns}
t = time.perf_counter()
if way == "metricframe":
    import pandas as pd
    from fairlearn.metrics import (MetricFrame, selection_rate, true_positive_rate,
        false_positive_rate, false_negative_rate, true_negative_rate)
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_score
    df = pd.read_parquet(path).head(rows)
    mf = MetricFrame(metrics=dict(selection_rate=selection_rate, tpr=true_positive_rate,
        fpr=false_positive_rate, fnr=false_negative_rate, tnr=true_negative_rate,
        precision=precision_score, accuracy=accuracy_score,
        balanced_accuracy=balanced_accuracy_score),
        y_true=df[cols["y_true"]], y_pred=df[cols["y_pred"]],
        sensitive_features=df[cols["sensitive_features"]])
    counts = None
else:
    from fairaudit.metrics import audit
    kw = dict(n_boot=1000, random_state=0)
    if way == "duckdb":
        import duckdb
        con = duckdb.connect(); con.execute("SET threads TO 2")
        result = audit(data=con.read_parquet(path), **cols, **kw)
    elif way == "polars":
        import polars
        result = audit(data=polars.scan_parquet(path), **cols, **kw)
    elif way == "pandas":
        import pandas as pd
        df = pd.read_parquet(path)
        result = audit(df[cols["y_true"]], df[cols["y_pred"]], df[cols["sensitive_features"]], **kw)
    elif way == "spark":
        from pyspark.sql import SparkSession
        spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                 .config("spark.driver.memory", "1g").config("spark.sql.shuffle.partitions", "4")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        result = audit(data=spark.read.parquet(path), **cols, **kw)
        jvm = spark.sparkContext._gateway.proc.pid  # the JVM's own high-water mark
        status = open(f"/proc/{{jvm}}/status").read()
        jvm_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
    counts = result.counts.reset_index().astype(str).to_numpy().tolist()
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if way == "spark":
    peak += jvm_mb  # Python and the JVM together
print(json.dumps(dict(seconds=seconds, peak_mb=peak, counts=counts)))
"""


def measure(way: str, path: Path, rows: int) -> dict:
    code = WORKER.format(columns=repr(COLUMNS))
    done = subprocess.run(
        [sys.executable, "-c", code, way, str(path), str(rows)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[10_000_000, 100_000_000])  # fmt: skip
    parser.add_argument("--metricframe-rows", type=int, default=1_000_000)
    parser.add_argument("--spark-max", type=int, default=10_000_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    import duckdb

    rows_out, missed = [], []
    with tempfile.TemporaryDirectory(prefix="fairaudit-bench-") as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"log-{size}.parquet"
            t = time.perf_counter()
            duckdb.connect().execute(GENERATE.format(rows=size, path=path))
            print(f"{size:,} rows written to Parquet ({path.stat().st_size / 1e6:.0f} MB) in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)  # fmt: skip
            ways = ["duckdb", "polars", "pandas"]
            if size <= args.spark_max:
                ways.append("spark")
            results = {way: measure(way, path, size) for way in ways}
            reference = results["duckdb"].get("counts")
            for way, r in results.items():
                same = r.get("counts") == reference if "error" not in r else None
                rows_out.append((size, way, r, same))
            if size == min(args.sizes):
                mf_rows = min(args.metricframe_rows, size)
                rows_out.append(
                    (mf_rows, "metricframe", measure("metricframe", path, mf_rows), None)
                )
        print(f"\n{'rows':>12}  {'way':<12} {'seconds':>9} {'peak MB':>9}  counts equal DuckDB's")
        for size, way, r, same in rows_out:
            if "error" in r:
                print(f"{size:>12,}  {way:<12} failed: {r['error']}")
                continue
            print(f"{size:>12,}  {way:<12} {r['seconds']:>9.1f} {r['peak_mb']:>9.0f}  "
                  f"{'n/a' if same is None else same}")  # fmt: skip
    largest = max(args.sizes)
    duck = next(r for s, w, r, _ in rows_out if s == largest and w == "duckdb")
    if "error" in duck or duck["peak_mb"] > 1024:
        missed.append(f"DuckDB at {largest:,} rows: over 1 GB peak or failed")
    mf = next((r for s, w, r, _ in rows_out if w == "metricframe"), None)
    small = min(args.sizes)
    pandas_small = next(r for s, w, r, _ in rows_out if s == small and w == "pandas")
    duck_small = next(r for s, w, r, _ in rows_out if s == small and w == "duckdb")
    if mf and "error" not in mf and "error" not in duck_small:
        per_row = mf["seconds"] / min(args.metricframe_rows, small)
        ratio = per_row * small / duck_small["seconds"]
        mf_small = per_row * small
        print(
            f"\npandas + MetricFrame at {small:,} rows (extrapolated from "
            f"{min(args.metricframe_rows, small):,}): about {mf_small:.0f} s; DuckDB is "
            f"{ratio:.0f}x faster, pandas + audit {mf_small / pandas_small['seconds']:.0f}x"
        )
        if ratio < 10:
            missed.append("DuckDB less than 10x faster than pandas + MetricFrame")
    for line in missed:
        print("target missed:", line)
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())

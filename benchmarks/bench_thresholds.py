"""Benchmark: many thresholds of a score, audited in one aggregation, in bounded memory.

``audit(data=..., y_score=..., thresholds=...)`` finds each row's score bin (how
many thresholds its score reaches) with a binary search in the engine, so memory
does not grow with rows x thresholds (it once did: 1.7 GB for 400,000 rows and
1,001 thresholds on Polars). Each way runs in a fresh process; the script
reports wall time and peak resident memory (interpreter and imports included)
and checks that every way's counts equal NumPy's. Target: every way under 600 MB.

Usage::

    python benchmarks/bench_thresholds.py [--rows 400000] [--thresholds 1001] [--strict]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PEAK_TARGET_MB = 600

WORKER = r"""
import json, resource, sys, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
way, rows, n_cuts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
df = pd.DataFrame({"y": rng.integers(0, 2, rows), "s": rng.random(rows),
                   "g": rng.choice(["a", "b", "c"], rows)})
cuts = np.linspace(0, 1, n_cuts).tolist()
from fairaudit.metrics._tables import threshold_counts
from fairaudit.metrics._rows import score_counts
if way == "polars":
    import polars
    data = polars.from_pandas(df).lazy()
elif way == "duckdb":
    import duckdb
    data = duckdb.sql("SELECT * FROM df")
start = time.perf_counter()
if way == "arrays":
    got = score_counts(df["y"], df["s"], df["g"], cuts)
else:
    got = threshold_counts(data if way != "pandas" else df, "y", "s", "g", cuts)
seconds = time.perf_counter() - start
checksum = [int(got[c].to_numpy().sum(axis=0)[0]) for c in cuts[::100]]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "checksum": checksum}))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--thresholds", type=int, default=1001)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    print(f"rows={args.rows:,} thresholds={args.thresholds:,} groups=3")
    results = {}
    for way in ("arrays", "pandas", "polars", "duckdb"):
        run = subprocess.run(
            [sys.executable, "-c", WORKER, way, str(args.rows), str(args.thresholds)],
            capture_output=True, text=True,
        )  # fmt: skip
        if run.returncode:
            print(f"{way}: failed\n{run.stderr[-2000:]}")
            return 1
        results[way] = json.loads(run.stdout)
        r = results[way]
        print(f"  {way:7s} {r['seconds']:6.2f} s   peak {r['peak_mb']:6.0f} MB")
    same = len({json.dumps(r["checksum"]) for r in results.values()}) == 1
    met = {
        f"peak <= {PEAK_TARGET_MB} MB": all(
            r["peak_mb"] <= PEAK_TARGET_MB for r in results.values()
        ),
        "every way counts alike": same,
    }
    for name, ok in met.items():
        print(f"  {'met   ' if ok else 'MISSED'} {name}")
    return 1 if (args.strict and not all(met.values())) or not same else 0


if __name__ == "__main__":
    sys.exit(main())

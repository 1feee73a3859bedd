"""Time fairaudit.audit (with bootstrap intervals) against Fairlearn's MetricFrame.

Both compute the same eight rates per group on the same rows: ``audit`` with
``n_boot`` bootstrap intervals, ``MetricFrame`` point estimates only. Targets:
``audit`` at least 100x faster than ``MetricFrame`` and under 0.5 s for
1,000,000 rows and 4 groups. The script also checks that both agree to 1e-12.

Usage::

    python benchmarks/bench_audit.py [--rows 1000000] [--groups 4] [--n-boot 1000] [--strict]

``--strict`` exits with status 1 when a target is missed (timings depend on the
machine and its load, so by default the script only reports).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from functools import partial

import numpy as np
import pandas as pd
import sklearn.metrics as skm
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)

from fairaudit.metrics import METRICS, audit

SPEEDUP_TARGET = 100.0
SECONDS_TARGET = 0.5


def make_data(rows: int, groups: int, seed: int = 0):
    """Binary labels and predictions whose rates differ between string-labelled groups."""
    rng = np.random.default_rng(seed)
    names = np.array([f"group_{i}" for i in range(groups)])
    group = rng.integers(0, groups, rows)
    y_true = (rng.random(rows) < 0.2 + 0.1 * (group % 3)).astype(np.int64)
    y_pred = (rng.random(rows) < np.where(y_true == 1, 0.7, 0.15 + 0.05 * group)).astype(np.int64)
    return y_true, y_pred, pd.Series(names[group], name="group")


def metric_frame(y_true, y_pred, sensitive):
    metrics = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "true_negative_rate": true_negative_rate,
        "precision": partial(skm.precision_score, zero_division=0),
        "accuracy": skm.accuracy_score,
        "balanced_accuracy": skm.balanced_accuracy_score,
    }
    return MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="audit runs; the median is used")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    y_true, y_pred, sensitive = make_data(args.rows, args.groups)
    audit(y_true[:1000], y_pred[:1000], sensitive[:1000], n_boot=10)  # warm-up (imports)

    audit_times = []
    for i in range(args.repeat):
        start = time.perf_counter()
        result = audit(y_true, y_pred, sensitive, n_boot=args.n_boot, random_state=i)
        audit_times.append(time.perf_counter() - start)
    audit_seconds = statistics.median(audit_times)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # none expected; keep the report clean regardless
        start = time.perf_counter()
        mf = metric_frame(y_true, y_pred, sensitive)
        mf_seconds = time.perf_counter() - start

    gap = np.abs(result.by_group[list(METRICS)] - mf.by_group.loc[result.by_group.index]).max()
    speedup = mf_seconds / audit_seconds
    print(f"rows={args.rows:,} groups={args.groups} metrics={len(METRICS)}")
    print(
        f"fairaudit.audit (n_boot={args.n_boot} intervals): {audit_seconds:.3f} s "
        f"(median of {args.repeat}: {', '.join(f'{t:.3f}' for t in audit_times)})"
    )
    print(f"fairlearn MetricFrame (point estimates only):   {mf_seconds:.2f} s")
    print(f"speed-up: {speedup:.0f}x (target >= {SPEEDUP_TARGET:.0f}x)")
    print(f"largest difference between the two: {gap.max():.2e} (must be <= 1e-12)")
    met = {
        f"speed-up >= {SPEEDUP_TARGET:.0f}x": speedup >= SPEEDUP_TARGET,
        f"audit <= {SECONDS_TARGET} s": audit_seconds <= SECONDS_TARGET,
        "agreement <= 1e-12": bool(gap.max() <= 1e-12),
    }
    for name, ok in met.items():
        print(f"  {'met   ' if ok else 'MISSED'} {name}")
    return 1 if args.strict and not all(met.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

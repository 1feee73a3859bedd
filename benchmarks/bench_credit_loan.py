"""Time the credit-loan case study end to end, as a reader runs it.

Executes ``notebooks/01_credit_loan.ipynb`` with papermill (kernel start,
imports, data loading, training, mitigation, audits, figures and artefacts
included) with all defaults on the full data and with ``sample_fraction=0.2``.
Targets on the 2-core reference machine: full data at most 60 s, the 20% sample
at most 20 s. Wall-clock time and the CPU time of the kernel and papermill
together are reported: on a busy machine the wall-clock time grows while the
CPU time stays close to what an idle machine would take.

Usage::

    python benchmarks/bench_credit_loan.py [--strict]

``--strict`` exits with status 1 when a target is missed (timings depend on the
machine and its load, so by default the script only reports).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_credit_loan.ipynb"
TARGETS = {
    "full data (defaults)": ([], 60.0),
    "sample_fraction=0.2": (["-p", "sample_fraction", "0.2"], 20.0),
}
ENV = {"PYTHONHASHSEED": "0", "JUPYTER_PREFER_ENV_PATH": "1", "MPLBACKEND": "Agg"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(extra: list[str]) -> tuple[float, float]:
    """Execute the notebook once; return (wall seconds, CPU seconds)."""
    papermill = Path(sys.executable).with_name("papermill")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            str(papermill),
            str(NOTEBOOK),
            str(Path(tmp) / "out.ipynb"),
            "--cwd",
            str(NOTEBOOK.parent),
            "-k",
            "python3",
            "--log-level",
            "ERROR",
            "-p",
            "output_dir",
            str(Path(tmp) / "run"),
            *extra,
        ]
        cpu0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, **ENV}, stderr=subprocess.DEVNULL)
        return time.perf_counter() - t0, _children_cpu() - cpu0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    missed = False
    for label, (extra, target) in TARGETS.items():
        wall, cpu = run(extra)
        ok = wall <= target
        missed |= not ok
        print(
            f"{label:>22}: {wall:5.1f} s wall, {cpu:5.1f} s CPU "
            f"(target {target:.0f} s wall) {'ok' if ok else 'MISSED'}"
        )
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Fresh clones on other Pythons, an offline install, and pip against uv (``make test-pythons``).

Not part of ``make test`` (it takes many minutes). For each interpreter given (default:
``python3.11`` and ``python3.13`` on PATH), in a fresh clone of the committed project:

1. ``python -m fairaudit setup`` (the path without make), timed;
2. the unit tests;
3. every notebook through ``fairaudit run`` with ``sample_fraction 0.2`` (notebook 04 on
   4,000,000 rows, without its scaling runs), each timed;
4. strict nbval of the committed notebooks, which says whether this Python reproduces the
   committed outputs digit for digit (reported, not required, except on 3.11).

Then the lock is resolved to binary wheels for Python 3.12, 3.14 and 3.15 (its markers
evaluated for each), as ``pip install --dry-run --only-binary=:all: --python-version``.

``--offline``: ``make wheelhouse``, then ``make setup WHEELHOUSE=...`` in a fresh clone
with the network cut off (``unshare -n``, as root). ``--installers N``: set-up from the
wheelhouse with pip and with uv, interleaved, N times each.

Usage: python tests/pythons.py [PYTHON ...] [--offline] [--installers N] [--skip-resolve]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = os.environ.get("FAIRAUDIT_DATA_HOME", "")
QUICK = {
    "credit-loan": ["-p", "sample_fraction", "0.2"],
    "adult-income": ["-p", "sample_fraction", "0.2"],
    "fairness-monitoring": ["-p", "sample_fraction", "0.2"],
    "audit-at-scale": ["-p", "rows", "4000000", "-p", "scaling", "false"],
}
results: list[tuple[str, str, str]] = []


def step(label: str, command, cwd, timeout=3600, env=None) -> tuple[bool, float]:
    start = time.monotonic()
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    took = time.monotonic() - start
    tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
    status = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
    results.append((label, f"{took:.1f} s", f"{status}: {tail[0][:150]}"))
    print(f"{label:60s} {took:7.1f} s  {status}  {tail[0][:150]}", flush=True)
    if done.returncode != 0:
        print((done.stdout + done.stderr)[-3000:], flush=True)
    return done.returncode == 0, took


def clone(into: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(into)], check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "checkout", "--quiet", head], cwd=into, check=True)
    return into


def one_python(python: str, work: Path) -> None:
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    tag = f"[{version}]"
    project = clone(work / f"py{version}")
    ok, _ = step(f"{tag} python -m fairaudit setup", [python, "-m", "fairaudit", "setup"], project)
    if not ok:
        return
    venv_python = project / ".venv" / "bin" / "python"
    step(
        f"{tag} engines (Polars, PySpark)",
        [venv_python, "-m", "pip", "install", "--quiet", "-r", "requirements-engines.lock"],
        project,
    )
    env = {"FAIRAUDIT_DATA_HOME": DATA}
    pytest = [venv_python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2"]
    step(
        f"{tag} unit tests",
        [*pytest, "tests/unit"],
        project,
        env=env,
    )
    for study, params in QUICK.items():
        step(
            f"{tag} fairaudit run {study} {' '.join(params[1::3])}",
            [project / ".venv" / "bin" / "fairaudit", "run", study, *params],
            project,
            env=env,
        )
    step(
        f"{tag} strict nbval of the committed notebooks",
        [*pytest, "--dist", "loadfile", "notebooks"],
        project,
        env=env,
    )


def resolve(versions=("3.12", "3.14", "3.15")) -> None:
    from packaging.requirements import Requirement

    lines = [
        line
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for version in versions:
        env = {"python_version": version, "python_full_version": f"{version}.0"}
        wanted = []
        for line in lines:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(env):
                wanted.append(f"{req.name}{req.specifier}")
        with tempfile.TemporaryDirectory() as tmp:
            listing = Path(tmp) / "lock.txt"
            listing.write_text("\n".join(wanted) + "\n")
            step(
                f"[{version}] lock resolves to wheels ({len(wanted)} pins)",
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--dry-run",
                    "--quiet",
                    "--only-binary=:all:",
                    "--python-version",
                    version,
                    "--ignore-installed",
                    "--target",
                    Path(tmp) / "t",
                    "-r",
                    listing,
                ],
                ROOT,
            )


def offline(work: Path, installers: int) -> None:
    wheels = work / "wheelhouse"
    ok, _ = step(
        "make wheelhouse (this platform, Python 3.11)",
        [
            "make",
            "--no-print-directory",
            "wheelhouse",
            f"WHEELHOUSE={wheels}",
            "WHEELHOUSE_PYTHONS=3.11",
        ],
        ROOT,
    )
    if not ok:
        return
    size = sum(p.stat().st_size for p in wheels.glob("*")) / 1e6
    results.append(("wheelhouse", f"{len(list(wheels.glob('*.whl')))} wheels", f"{size:.0f} MB"))
    project = clone(work / "offline")
    step(
        "unshare -n make setup WHEELHOUSE=... (no network)",
        ["unshare", "-n", "make", "--no-print-directory", "setup", f"WHEELHOUSE={wheels}"],
        project,
    )
    step(
        "the offline environment imports the package",
        [
            project / ".venv" / "bin" / "python",
            "-c",
            "import fairaudit.metrics, fairaudit.mitigation, jupyterlab; print('imports ok')",
        ],
        project,
    )
    times: dict[str, list[float]] = {"pip": [], "uv": []}
    for n in range(installers):
        for installer in ("pip", "uv"):  # interleaved: the machine is shared
            venv = work / f"venv-{installer}-{n}"
            ok, took = step(
                f"set-up from the wheelhouse with {installer} (run {n + 1})",
                [
                    sys.executable,
                    "-m",
                    "fairaudit",
                    "--venv",
                    venv,
                    "setup",
                    "--installer",
                    installer,
                    "--wheelhouse",
                    wheels,
                ],
                ROOT,
                env={"PIP_NO_CACHE_DIR": "1", "UV_NO_CACHE": "1"},
            )
            if ok:
                times[installer].append(took)
            freeze = subprocess.run(
                [venv / "bin" / "python", "-m", "pip", "freeze", "--exclude-editable"],
                capture_output=True,
                text=True,
            )
            (work / f"freeze-{installer}-{n}.txt").write_text(freeze.stdout)
            shutil.rmtree(venv, ignore_errors=True)
    for installer, took in times.items():
        if took:
            shown = ", ".join(f"{t:.1f}" for t in took)
            results.append(
                (
                    f"set-up with {installer}",
                    f"median {statistics.median(took):.1f} s",
                    f"runs: {shown} s",
                )
            )
    frozen = {p.read_text() for p in work.glob("freeze-*.txt")}
    results.append(
        (
            "pip and uv install the same versions",
            "",
            "yes" if len(frozen) == 1 else "NO: the environments differ",
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pythons", nargs="*")
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--installers", type=int, default=0)
    parser.add_argument("--skip-resolve", action="store_true")
    args = parser.parse_args()
    pythons = args.pythons
    if not pythons and not args.offline and not args.installers:
        pythons = [p for p in (shutil.which("python3.11"), shutil.which("python3.13")) if p]
    with tempfile.TemporaryDirectory(prefix="fairaudit-pythons-") as tmp:
        for python in pythons:
            one_python(python, Path(tmp))
        if args.offline or args.installers:
            offline(Path(tmp), args.installers)
    if not args.skip_resolve:
        resolve()
    print("\n| step | time | result |\n|---|---|---|")
    for row in results:
        print("| " + " | ".join(row) + " |")
    return 0 if all("FAILED" not in r[2] and "NO:" not in r[2] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

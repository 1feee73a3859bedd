"""Hand-written mutants of the core semantics, and the check that the unit tests kill each.

Every ``tests/mutants/*.toml`` holds ``[[mutant]]`` tables::

    id        unique, kebab-case
    file      the file to patch, relative to the project root
    find      text that occurs exactly once in that file
    replace   the broken text ("" deletes the find text)
    why       one sentence: what meaning this breaks and who would be misled
    killed_by test node ids (unit tests) that must fail on the mutant

The runner first runs every ``killed_by`` test on an unmutated copy of the
project (they must pass), then, two mutants at a time, applies each mutant to
a private copy of the project and runs its ``killed_by`` tests there, with the
copy first on ``sys.path`` and ``PYTHONPATH``, so that the copy, not the
editable install, is imported (each run checks this). It never writes into the
checkout. Each run is forked from a server that has imported the third-party
libraries once, and runs without nbval, assertion rewriting or Hypothesis
shrinking, with Hypothesis derandomised: the same examples on every run.

It prints one row per mutant (id, killed or SURVIVED, the killing test,
seconds) and exits with status 1 when a mutant survives, no longer applies (its
``find`` text is absent or ambiguous), or cannot be run.

Usage::

    python tests/mutants/run.py [--jobs 2] [--timeout 300] [ID_OR_FILE ...]

Arguments select mutants by id or by toml file name (``metrics``); default all.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FIELDS = ("id", "file", "find", "replace", "why", "killed_by")
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

# What a private copy leaves out: environments, history, caches, generated output.
IGNORED = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache",
    "*.egg-info", "reports", "workspace", "workshop", "build", ".ipynb_checkpoints",
)  # fmt: skip

# pytest exit codes: 0 all passed, 1 some failed; anything else is not a verdict on the mutant.
PASSED, FAILED = 0, 1


@dataclass
class Mutant:
    id: str
    file: str
    find: str
    replace: str
    why: str
    killed_by: list[str]
    source: str  # the toml file it came from


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed, SURVIVED, ERROR, TIMEOUT
    test: str = ""
    seconds: float = 0.0
    cpu: float = 0.0
    detail: str = ""
    extra: list = field(default_factory=list)


def load_mutants(folder: Path = HERE) -> tuple[list[Mutant], list[str]]:
    """Every mutant of every toml file in ``folder``, and the problems found reading them."""
    mutants, problems, seen = [], [], {}
    for path in sorted(folder.glob("*.toml")):
        try:
            tables = tomllib.loads(path.read_text(encoding="utf-8")).get("mutant", [])
        except tomllib.TOMLDecodeError as err:
            problems.append(f"{path.name}: not valid TOML ({err}).")
            continue
        for n, table in enumerate(tables, 1):
            where = f"{path.name}, mutant {n}"
            # every field is required and non-empty, but replace = "" deletes the find text
            missing = [f for f in FIELDS if f not in table or (not table[f] and f != "replace")]
            unknown = sorted(set(table) - set(FIELDS))
            if missing or unknown:
                problems.append(f"{where}: missing {missing}, unknown {unknown}.")
                continue
            killed_by = table["killed_by"]
            if isinstance(killed_by, str) or not all(isinstance(t, str) for t in killed_by):
                problems.append(f"{where}: killed_by must be a list of test node ids.")
                continue
            mutant = Mutant(**{f: table[f] for f in FIELDS}, source=path.name)
            if not ID_PATTERN.match(mutant.id):
                problems.append(f"{where}: id {mutant.id!r} is not kebab-case.")
            if mutant.id in seen:
                problems.append(f"{where}: id {mutant.id!r} is also used in {seen[mutant.id]}.")
            seen[mutant.id] = path.name
            if mutant.find == mutant.replace:
                problems.append(f"{mutant.id}: replace equals find, so nothing is mutated.")
            mutants.append(mutant)
    return mutants, problems


def applies(mutant: Mutant, root: Path = ROOT) -> str | None:
    """Why ``mutant`` does not apply to the checkout (None when its text occurs exactly once)."""
    target = root / mutant.file
    if not target.is_file():
        return f"{mutant.file} does not exist."
    found = target.read_text(encoding="utf-8").count(mutant.find)
    if found != 1:
        what = "is absent from" if found == 0 else f"occurs {found} times in"
        return f"its find text {what} {mutant.file}; update the mutant to the current code."
    for test in mutant.killed_by:
        if not (root / test.split("::")[0]).is_file():
            return f"killed_by names {test!r}, whose file does not exist."
    return None


def private_copy(scratch: Path, name: str) -> Path:
    """A copy of the project to mutate and test, inside ``scratch``."""
    copy = scratch / name
    shutil.copytree(ROOT, copy, ignore=IGNORED, symlinks=True)
    return copy


# Each pytest run is a fork of this context's server (started on first use).
FORK = multiprocessing.get_context("forkserver")

# Third-party modules every run imports, loaded once in the fork server: each pytest run then
# starts from a fork of it and imports only the (mutated) package and the tests. Speed only:
# a module missing here is imported by the run itself.
PRELOAD = [
    "numpy", "pandas", "scipy.stats", "sklearn.base", "sklearn.linear_model",
    "sklearn.ensemble", "sklearn.metrics", "sklearn.model_selection", "sklearn.pipeline",
    "sklearn.compose", "sklearn.preprocessing", "fairlearn.metrics", "fairlearn.postprocessing",
    "fairlearn.reductions", "matplotlib.pyplot", "seaborn", "narwhals", "duckdb", "pyarrow",
    "skops.io", "threadpoolctl", "yaml", "jinja2", "IPython", "ipywidgets", "hypothesis",
    "pytest", "_pytest.python", "_pytest.assertion.rewrite", "_hypothesis_pytestplugin",
]  # fmt: skip

# The unit tests named here need none of these plugins; loading them costs a second per run
# (nbval's import alone takes seconds, anyio's imports trio).
UNUSED_PLUGINS = ["nbval", "anyio", "xdist", "xdist.looponfail"]


def _pytest_in(copy: str, args: list[str], log: str) -> None:
    """Run pytest in a forked child, importing the package from ``copy`` (never the checkout)."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.chdir(copy)
    sys.path.insert(0, copy)
    sys.dont_write_bytecode = True
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [copy, os.environ.get("PYTHONPATH")]))
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ.pop("MPLBACKEND", None)
    code = 3
    try:
        leaked = sorted(m for m in sys.modules if m.split(".")[0] == "fairaudit")
        if leaked:
            raise RuntimeError(f"fairaudit was imported before the copy: {leaked}")
        import fairaudit

        where = Path(fairaudit.__file__).resolve()
        if not where.is_relative_to(Path(copy).resolve()):
            raise RuntimeError(f"the run imports fairaudit from {where}, not from {copy}")
        import pytest
        from hypothesis import Phase, settings

        # The same examples on every run, and no shrinking: a failure is a kill, however big.
        settings.register_profile(
            "mutants", database=None, derandomize=True, deadline=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        )  # fmt: skip
        code = int(pytest.main(args))
    except BaseException as err:  # noqa: BLE001 - reported through the log and exit code
        print(f"runner: {type(err).__name__}: {err}", flush=True)
    finally:
        times = os.times()
        print(f"runner-cpu-seconds: {times.user + times.system:.2f}", flush=True)
        sys.stderr.flush()
        os._exit(code)


def run_tests(copy: Path, tests: list[str], timeout: float, *extra: str):
    """Run ``tests`` in ``copy`` in a fork of the server; (exit code, None on timeout; output;
    seconds). A negative exit code is the signal that ended the run."""
    # Plain asserts: a failure is all the runner needs, and rewriting costs a second per run.
    args = [
        "-p", "no:cacheprovider", *(f"-pno:{p}" for p in UNUSED_PLUGINS), "-o", "addopts=",
        "--assert=plain", "--hypothesis-profile=mutants", "-q", "--no-header", "-rfE",
        *extra, *tests,
    ]  # fmt: skip
    log = copy.parent / f"{copy.name}.log"
    start = time.perf_counter()
    child = FORK.Process(target=_pytest_in, args=(str(copy), args, str(log)))
    child.start()
    child.join(timeout)
    timed_out = child.exitcode is None
    if timed_out:
        child.kill()
        child.join()
    seconds = time.perf_counter() - start
    output = log.read_text(errors="replace") if log.exists() else ""
    return None if timed_out else child.exitcode, output, seconds


def cpu_seconds(output: str) -> float:
    found = re.findall(r"^runner-cpu-seconds: ([0-9.]+)$", output, flags=re.M)
    return float(found[-1]) if found else float("nan")


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0].split(" ", 1)[1].strip()
    return "?"


def run_mutant(mutant: Mutant, scratch: Path, timeout: float) -> Outcome:
    copy = private_copy(scratch, mutant.id)
    try:
        target = copy / mutant.file
        text = target.read_text(encoding="utf-8")
        target.write_text(text.replace(mutant.find, mutant.replace, 1), encoding="utf-8")
        code, output, seconds = run_tests(copy, mutant.killed_by, timeout, "-x")
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    cpu = cpu_seconds(output)
    if code is None:
        return Outcome(mutant, "TIMEOUT", "", seconds, cpu, f"no verdict within {timeout:g} s")
    if code == FAILED:
        return Outcome(mutant, "killed", first_failure(output), seconds, cpu)
    if code == PASSED:
        return Outcome(mutant, "SURVIVED", "", seconds, cpu)
    return Outcome(mutant, "ERROR", "", seconds, cpu, f"pytest exit code {code}:\n{output[-2000:]}")


def check_unmutated(tests: list[str], scratch: Path, jobs: int, timeout: float) -> list[str]:
    """Run ``tests`` on unmutated copies, a share of the test files each; the failures' output."""
    files = list(dict.fromkeys(t.split("::")[0] for t in tests))
    shares = [
        [t for t in tests if t.split("::")[0] in files[i :: max(1, jobs)]]
        for i in range(min(max(1, jobs), len(files)))
    ]

    def run(item):
        i, share = item
        copy = private_copy(scratch, f"unmutated-{i}")
        try:
            return run_tests(copy, share, timeout)
        finally:
            shutil.rmtree(copy, ignore_errors=True)

    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        results = list(pool.map(run, enumerate(shares)))
    return [output[-4000:] for code, output, _ in results if code != PASSED]


def select(mutants: list[Mutant], names: list[str]) -> list[Mutant]:
    if not names:
        return mutants
    wanted = set(names)
    chosen = [m for m in mutants if m.id in wanted or Path(m.source).stem in wanted]
    unknown = wanted - {m.id for m in chosen} - {Path(m.source).stem for m in chosen}
    if unknown:
        raise SystemExit(f"error: no mutant or mutant file named {sorted(unknown)}.")
    return chosen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutant ids or toml file stems (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at a time (default 2)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per pytest run")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    os.environ.setdefault("MPLBACKEND", "Agg")  # for the fork server's preload only
    FORK.set_forkserver_preload(PRELOAD)

    mutants, problems = load_mutants()
    mutants = select(mutants, args.names)
    problems += [f"{m.id}: {why}" for m in mutants if (why := applies(m))]
    if problems:
        print("Mutants that cannot run:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    if not mutants:
        print("No mutants found in tests/mutants/*.toml.", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="fairaudit-mutants-") as tmp:
        scratch = Path(tmp)
        # The tests must pass on the unmutated code, or a "kill" means nothing.
        tests = list(dict.fromkeys(t for m in mutants for t in m.killed_by))
        failures = check_unmutated(tests, scratch, args.jobs, args.timeout)
        if failures:
            print(*failures, sep="\n", file=sys.stderr)
            print(
                "error: the killed_by tests above fail on the unmutated code; fix them before "
                "judging mutants.",
                file=sys.stderr,
            )
            return 1
        print(f"{len(tests)} killed_by tests pass on the unmutated code.")

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = list(pool.map(lambda m: run_mutant(m, scratch, args.timeout), mutants))

    width = max(len(o.mutant.id) for o in outcomes)
    test_width = max(len("killing test"), *(len(o.test) for o in outcomes))
    print(f"{'id':<{width}}  {'result':<8}  {'killing test':<{test_width}}  {'s':>5}")
    for o in outcomes:
        print(f"{o.mutant.id:<{width}}  {o.status:<8}  {o.test:<{test_width}}  {o.seconds:5.1f}")
    bad = [o for o in outcomes if o.status != "killed"]
    for o in bad:
        print(f"\n{o.status}: {o.mutant.id} ({o.mutant.source}): {o.mutant.why}", file=sys.stderr)
        if o.detail:
            print(o.detail, file=sys.stderr)
    killed = len(outcomes) - len(bad)
    cpu = sum(o.cpu for o in outcomes)
    print(
        f"\n{killed} of {len(outcomes)} mutants killed; {time.perf_counter() - started:.0f} s "
        f"wall time, {args.jobs} at a time; the mutants' test runs used {cpu:.0f} s of CPU."
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``fairaudit`` command: list, inspect and re-run the case studies safely.

::

    fairaudit list
    fairaudit params credit-loan
    fairaudit run credit-loan -p sensitive_features MARRIAGE -p sample_fraction 0.2
    fairaudit run credit-loan -f workshop.yaml --output-dir reports/workshop
    fairaudit run --all -p sample_fraction 0.2

Every name and value is checked against the study's declaration
(:mod:`fairaudit.studies`) before a kernel starts. With ``--all`` a value goes
to the studies that declare it; the studies run in turn, and a failure does
not stop the rest. Exit status: 0 success, 1 a run failed (kept under
``reports/failed/``), 2 a usage error (nothing ran), 130 interrupted (a run
whose last cell had finished is published first).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from fairaudit._io import UnsafeTargetError, check_run_target
from fairaudit.cli._execute import RunFailed, run_study
from fairaudit.cli._index import format_value, write_index
from fairaudit.cli._parameters import (
    ParameterError,
    prepare_parameters,
    read_params_file,
    unknown_name_error,
)
from fairaudit.cli._studies import STUDIES, UnknownStudyError, get_study
from fairaudit.studies._parameters import type_name

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (separate from :func:`main` so its help can be tested)."""
    parser = argparse.ArgumentParser(
        prog="fairaudit", description="List, inspect and re-run the fairness case studies."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="list the case studies")
    params = commands.add_parser("params", help="show a case study's parameters and their rules")
    params.add_argument("name", metavar="NAME", help="case-study name (see 'fairaudit list')")
    run = commands.add_parser(
        "run",
        help="run a case study (or all) with checked parameters",
        description="Run a case study with checked parameters. Results replace the run folder "
        "only if the run succeeds; a failed run is kept under reports/failed/.",
        epilog="With --all, each -p/-f value applies to the studies that declare it. Values "
        "are YAML 1.2; a list is '[0.01, 0.05]' or 'sex,race'.",
    )
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", metavar="NAME", help="case-study name")
    target.add_argument("--all", action="store_true", help="run every case study in turn")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("KEY", "VALUE"), help="set a parameter (repeatable)")  # fmt: skip
    run.add_argument("-f", "--params-file", metavar="FILE", help="YAML file of name: value")
    run.add_argument("--output-dir", metavar="DIR", help="run folder (default reports/<study>; "
                     "relative to the project root); not with --all")  # fmt: skip
    return parser


def _error(message: str, code: int = EXIT_USAGE) -> int:
    print(f"fairaudit: error: {message}", file=sys.stderr)
    return code


def _cmd_list(registry) -> int:
    width = max(len(name) for name in registry)
    nb_width = max(len(study.notebook) for study in registry.values())
    for study in registry.values():
        note = "" if study.available else "  [not available: notebook missing]"
        print(f"{study.name:<{width}}  {study.notebook:<{nb_width}}  {study.description}{note}")
    return EXIT_OK


def _cmd_params(name: str, registry) -> int:
    study = get_study(name, registry)
    print(f"{study.name} ({study.notebook}) parameters:")
    rows = [("name", "type", "default", "what it does; rule")]
    rows += [(p.name, type_name(p), repr(p.default), p.comment) for p in study.declared.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  " + "  ".join(f"{c:<{w}}" for c, w in zip(row[:3], widths, strict=True)), row[3])
    print("Set one with -p NAME VALUE; the run folder (output_dir) is chosen with --output-dir.")
    return EXIT_OK


def _plans(args, registry) -> list:
    """Every study to run with its checked values and run folder, before any kernel starts."""
    text_values = dict(args.parameter)
    typed_values = read_params_file(args.params_file) if args.params_file else {}
    if args.all and args.output_dir is not None:
        raise ParameterError("--output-dir names one run folder; it cannot be used with --all.")
    studies = list(registry.values()) if args.all else [get_study(args.name, registry)]
    for study in [s for s in studies if not s.available]:
        if not args.all:
            raise ParameterError(f"{study.name}: notebook {study.notebook} is not available.")
        print(f"Skipping {study.name}: {study.notebook} is not available.", file=sys.stderr)
    studies = [s for s in studies if s.available]
    if not studies:
        raise ParameterError("no case-study notebook is available.")
    known = sorted({name for s in studies for name in s.declared})
    for name in [*typed_values, *text_values] if args.all else []:
        if name not in known:
            raise unknown_name_error(name, known)
    plans = []
    for study in studies:
        try:
            given = prepare_parameters(study.declared, text_values, typed_values,
                                       where=study.name, ignore_unknown=args.all)  # fmt: skip
        except ParameterError as exc:
            prefix = f"{study.name}: " if args.all else ""
            lines = [prefix + line for line in str(exc).splitlines()]
            raise ParameterError("\n".join(lines)) from None
        folder = study.run_dir if args.output_dir is None else args.output_dir
        plans.append((study, given, check_run_target(folder, study.name)))
    return plans


def _cmd_run(args, registry) -> int:
    failures = 0
    for study, given, run_dir in _plans(args, registry):
        values = ", ".join(f"{k}={v!r}" for k, v in given.items()) or "default parameters"
        print(f"Running {study.name} ({study.notebook}) with {values} ...", flush=True)
        progress = "bar" if sys.stdout.isatty() and not os.environ.get("CI") else "lines"
        interrupted = False
        try:
            result = run_study(study, given, output_dir=run_dir, progress=progress)
        except RunFailed as failure:
            failures += 1
            print(failure.report(), f"Previous results of {study.name} are untouched.",
                  sep="\n", file=sys.stderr)  # fmt: skip
        else:
            print(f"  done in {result.record['duration_s']} s: {result.html}")
            for label, value in (result.headline or {}).items():
                print(f"    {label}: {format_value(value)}")
            interrupted = result.interrupted
        index = write_index(registry)
        if interrupted:
            print("fairaudit: interrupted after the run finished; it was published.",
                  file=sys.stderr)  # fmt: skip
            return EXIT_INTERRUPTED
    print(f"Index of the latest runs: {index}")
    return EXIT_FAILED if failures else EXIT_OK


def main(argv: list[str] | None = None, *, registry=None) -> int:
    """Run the command; return its exit status (the ``fairaudit`` console script).

    Parameters
    ----------
    argv : list of str, optional
        Default: the process's arguments.
    registry : dict, optional
        Replaces the built-in case studies (tests, projects with their own notebooks).

    Returns
    -------
    int
        0 on success, 1 when a run failed, 2 for a usage error, 130 when interrupted.
    """
    registry = STUDIES if registry is None else registry
    args = build_parser().parse_args(argv)
    try:  # SIGTERM (a closed terminal, kill, a CI timeout) stops a run as Ctrl-C does
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread
        previous = None
    try:
        if args.command == "list":
            return _cmd_list(registry)
        if args.command == "params":
            return _cmd_params(args.name, registry)
        return _cmd_run(args, registry)
    except (UnknownStudyError, ParameterError, UnsafeTargetError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        print("fairaudit: interrupted; the previous results are untouched.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `fairaudit list | head -1`: the reader left, nothing went wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # a full disk or a folder gone while writing the index, ...
        return _error(f"{exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}.", 1)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

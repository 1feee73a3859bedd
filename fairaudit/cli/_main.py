"""The ``fairaudit`` command: list, inspect and re-run the case studies safely.

::

    fairaudit list
    fairaudit params credit-loan
    fairaudit run credit-loan -p sensitive_feature MARRIAGE -p sample_fraction 0.2
    fairaudit run credit-loan -f workshop.yaml --output-dir reports/workshop
    fairaudit run --all -p sample_fraction 0.2

Parameter names and values are checked against each notebook's ``parameters``
cell before anything runs: an unknown name is refused with the closest valid
one, a value is parsed with the type of the default (``0.2`` for a float,
``true`` for a bool, ``[0.01, 0.05]`` or ``sex,race`` for a list) and refused
if it is not one. ``-f FILE`` reads a YAML mapping of names to values; ``-p``
wins over the file.

With ``--all``, each value goes to the studies that declare that parameter and
is skipped for the others (``sample_fraction`` shortens the studies that have
it); a name that no study declares is refused. The studies run one after the
other; a failure does not stop the rest, and the exit status is non-zero if
any failed.

Exit status: 0 success, 1 a run failed (its executed notebook is kept under
``reports/failed/``), 2 a usage error (nothing ran), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from fairaudit._io import UnsafeTargetError, check_run_target
from fairaudit.cli._execute import RunFailed, default_run_dir, run_study
from fairaudit.cli._index import format_value, write_index
from fairaudit.cli._parameters import (
    ParameterError,
    notebook_parameters,
    prepare_parameters,
    read_params_file,
    unknown_name_error,
)
from fairaudit.cli._rules import check_rules
from fairaudit.cli._studies import STUDIES, UnknownStudyError, get_study

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (separate from :func:`main` so its help can be tested)."""
    parser = argparse.ArgumentParser(
        prog="fairaudit",
        description="List, inspect and re-run the fairness case-study notebooks.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("list", help="list the case studies", description="List the case studies.")

    params = commands.add_parser(
        "params",
        help="show a case study's parameters",
        description="Show a case study's parameters: default, type and what each one does.",
    )
    params.add_argument("name", metavar="NAME", help="case-study name (see 'fairaudit list')")

    run = commands.add_parser(
        "run",
        help="run a case study (or all) with checked parameters",
        description=(
            "Run a case study with checked parameters. Results are published in the run "
            "folder only if the run succeeds; a failed run is kept under reports/failed/."
        ),
        epilog=(
            "With --all, each -p/-f value applies to the studies that declare that parameter. "
            "Lists are written as YAML ('[0.01, 0.05]') or comma-separated ('sex,race')."
        ),
    )
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", metavar="NAME", help="case-study name")
    target.add_argument("--all", action="store_true", help="run every case study in turn")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="set a parameter (repeatable); the value is parsed with the type of the default",
    )
    run.add_argument(
        "-f", "--params-file", metavar="FILE", help="YAML file mapping parameter names to values"
    )
    run.add_argument(
        "--output-dir",
        metavar="DIR",
        help=(
            "run folder (default: reports/<study folder>; a relative path is taken from the "
            "project root); not with --all"
        ),
    )
    return parser


def _usage_error(message: str) -> int:
    print(f"fairaudit: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _cmd_list(registry) -> int:
    width = max(len(name) for name in registry)
    nb_width = max(len(study.notebook) for study in registry.values())
    for study in registry.values():
        note = "" if study.available else "  [not available: notebook missing]"
        print(f"{study.name:<{width}}  {study.notebook:<{nb_width}}  {study.description}{note}")
    return EXIT_OK


def _cmd_params(name: str, registry) -> int:
    study = get_study(name, registry)
    if not study.available:
        return _usage_error(f"{study.name}: notebook {study.notebook} is not available.")
    declared = notebook_parameters(study.notebook_path)
    print(f"{study.name} ({study.notebook}) parameters:")
    rows = [("name", "type", "default", "description")]
    rows += [(p.name, p.type_name, p.source, p.help) for p in declared.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            "  "
            + "  ".join(f"{cell:<{w}}" for cell, w in zip(row[:3], widths, strict=True))
            + "  "
            + row[3]
        )
    print("Set one with -p NAME VALUE; the run folder (output_dir) is chosen with --output-dir.")
    return EXIT_OK


def _show_progress() -> str:
    """A progress bar for a person at a terminal; a line every few seconds in logs and pipes."""
    return "bar" if sys.stdout.isatty() and not os.environ.get("CI") else "lines"


def _quiet_kernel_machinery() -> None:
    """The command reports a run's outcome itself, for the rest of the process.

    An interrupted run leaves nbclient's pending cell task to fail with "Kernel
    died" when the event loop is collected at exit; asyncio, nbclient and the
    traitlets logger would print that as a stray traceback after the command's
    own one-line report.
    """
    import logging

    for name in ("asyncio", "nbclient", "traitlets"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _cmd_run(args, registry) -> int:
    _quiet_kernel_machinery()
    text_values = {}
    for key, value in args.parameter:
        text_values[key] = value
    typed_values = read_params_file(args.params_file) if args.params_file else {}

    if args.all:
        if args.output_dir:
            return _usage_error("--output-dir names one run folder; it cannot be used with --all.")
        studies = [s for s in registry.values() if s.available]
        for study in registry.values():
            if not study.available:
                print(f"Skipping {study.name}: {study.notebook} is not available.", file=sys.stderr)
        if not studies:
            return _usage_error("no case-study notebook is available.")
    else:
        study = get_study(args.name, registry)
        if not study.available:
            return _usage_error(f"{study.name}: notebook {study.notebook} is not available.")
        studies = [study]

    # Check everything before the first kernel starts.
    declared = {s.name: notebook_parameters(s.notebook_path, use_papermill=False) for s in studies}
    plans = []
    if args.all:
        known = sorted({name for params in declared.values() for name in params})
        for name in [*typed_values, *text_values]:
            if name not in known:
                raise unknown_name_error(name, known)
    for study in studies:
        given = prepare_parameters(
            declared[study.name],
            text_values,
            typed_values,
            where=study.name,
            ignore_unknown=args.all,
        )
        problems = check_rules(declared[study.name], given)
        if problems:
            prefix = f"{study.name}: " if args.all else ""
            raise ParameterError("\n".join(prefix + line for line in problems))
        target = args.output_dir or default_run_dir(declared[study.name], study)
        check_run_target(target)  # a folder no run created is refused before anything runs
        plans.append((study, given))

    failures = 0
    for study, given in plans:
        shown = ", ".join(f"{k}={v!r}" for k, v in given.items()) or "default parameters"
        print(f"Running {study.name} ({study.notebook}) with {shown} ...", flush=True)
        try:
            result = run_study(
                study,
                given,
                output_dir=args.output_dir,
                progress=_show_progress(),
                declared=declared[study.name],
            )
        except RunFailed as failure:
            failures += 1
            print(failure.report(), file=sys.stderr)
            print(f"Previous results of {study.name} are untouched.", file=sys.stderr)
        else:
            print(f"  done in {result.record['duration_s']} s: {result.html}")
            for label, value in (result.headline or {}).items():
                print(f"    {label}: {format_value(value)}")
        index = write_index(registry)
    print(f"Index of the latest runs: {index}")
    return EXIT_FAILED if failures else EXIT_OK


def main(argv: list[str] | None = None, *, registry=None) -> int:
    """Run the command; return its exit status (used by the ``fairaudit`` console script).

    ``registry`` replaces the built-in case studies (for tests and for
    projects that register their own notebooks).

    Parameters
    ----------
    argv : list of str, optional
        Default: the process's arguments.
    registry : dict, optional

    Returns
    -------
    int
        0 on success, 1 when a run failed, 2 for a usage error, 130 when interrupted.
    """
    registry = STUDIES if registry is None else registry
    args = build_parser().parse_args(argv)
    previous = _terminate_like_interrupt()
    try:
        if args.command == "list":
            return _cmd_list(registry)
        if args.command == "params":
            return _cmd_params(args.name, registry)
        return _cmd_run(args, registry)
    except (UnknownStudyError, ParameterError, UnsafeTargetError) as exc:
        return _usage_error(str(exc))
    except KeyboardInterrupt:
        print("fairaudit: interrupted; the previous results are untouched.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `fairaudit list | head -1`: the reader left, nothing went wrong
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _terminate_like_interrupt():
    """Make SIGTERM (a closed terminal, ``kill``, a CI timeout) behave like Ctrl-C.

    Returns the previous handler, or ``None`` outside the main thread (where
    handlers cannot be set).
    """
    try:
        return signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

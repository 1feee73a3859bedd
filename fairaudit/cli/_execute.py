"""Running a case study: one private folder per run, published whole, a failure kept.

:func:`run_study` executes the notebook with papermill into a hidden sibling of
the run folder, where the kernel's :class:`~fairaudit.reporting.RunArtefacts`
write too. A run that succeeds gets its HTML page and ``run.json`` (parameters,
times, data checksums, library versions) and replaces the run folder in one
swap. Otherwise, or if publishing fails (a full disk, a folder swapped for a
link), the same folder moves to ``reports/failed/<study>-<UTC time>/`` with a
one-line cause, and the previous results stay as they were. Ctrl-C and SIGTERM
stop a running cell at once; after the last cell they wait until the run is
published.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fairaudit._io import (
    RUN_DIR_ENV,
    RUN_MARKER,
    RUN_STAGING_ENV,
    check_run_target,
    clean_leftovers,
    clean_scratch,
    library_versions,
    private_workdir,
    project_root,
    replace_dir,
    sha256_file,
    write_json_atomic,
    write_text_atomic,
)
from fairaudit.cli._index import RUN_RECORD, headline, iso, remember_run
from fairaudit.cli._notebook import (
    KERNEL_ENV,
    code_cells,
    execute,
    kernel_manager_class,
    progress_hook,
    render_html,
)
from fairaudit.cli._parameters import OUTPUT_PARAMETER
from fairaudit.cli._studies import Study, reports_dir

__all__ = ["Run", "RunFailed", "RunResult", "run_study"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_KERNEL_LOG = ".kernel-stderr.log"


@dataclass
class RunResult:
    """A published run; ``interrupted`` if Ctrl-C or SIGTERM came after its last cell."""

    study: Study
    run_dir: Path
    record: dict
    headline: dict | None = None
    interrupted: bool = False

    @property
    def html(self) -> Path:
        return self.run_dir / f"{self.study.notebook_path.stem}.html"


@dataclass
class RunFailed(RuntimeError):
    """A run that failed or could not be published; it is kept in :attr:`failed_dir`."""

    study: Study
    failed_dir: Path
    error: str
    cell_index: int | None = None
    execution_count: int | None = None
    source: str = ""

    def __str__(self) -> str:
        return f"{self.study.name} failed: {self.error}"

    def report(self, max_source_lines: int = 12) -> str:
        """Which cell failed and its first lines, the error, and where the run is kept."""
        lines = [f"{self.study.name} failed:"]
        if self.cell_index is not None:
            count = f" (In [{self.execution_count}])" if self.execution_count else ""
            source = self.source.splitlines()
            lines = [f"{self.study.name} failed in code cell {self.cell_index}{count}:"]
            lines += [f"    {line}" for line in source[:max_source_lines]]
            if len(source) > max_source_lines:
                lines.append(f"    ... ({len(source) - max_source_lines} more lines)")
        lines += [self.error, f"The executed notebook and its artefacts are kept in "
                  f"{self.failed_dir}"]  # fmt: skip
        return "\n".join(lines)


class _Signals:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, until :meth:`hold` makes them wait."""

    received = held = False

    def __enter__(self):
        try:
            self.previous = {
                s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)
            }
        except ValueError:  # not the main thread: signals stay as they are
            self.previous = {}
        return self

    def _handle(self, signum, frame):
        self.received = True
        if not self.held:
            raise KeyboardInterrupt

    def hold(self):
        self.held = True

    def __exit__(self, *exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def run_study(study: Study, given: dict | None = None, *, output_dir=None,
              progress: str | None = None, kernel_name: str = "python3") -> RunResult:  # fmt: skip
    """Execute a case study with checked parameters and publish its results all at once.

    Parameters
    ----------
    study : Study
    given : dict
        Values already checked by :func:`prepare_parameters`; defaults fill the rest.
    output_dir : path, optional
        The run folder; default ``reports/<name>`` (:attr:`Study.run_dir`).
    progress : {None, "bar", "lines"}
        Papermill's progress bar, a line every few seconds (logs), or nothing.
    kernel_name : str

    Returns
    -------
    RunResult

    Raises
    ------
    RunFailed
        A cell raised, the kernel died, the main artefact is missing, or
        publishing failed; the run folder is untouched.
    KeyboardInterrupt
        Ctrl-C or SIGTERM while a cell ran; the run is kept under ``reports/failed``.
    """
    run = Run(study, dict(given or {}), study.run_dir if output_dir is None else output_dir)
    try:
        with _Signals() as signals:
            failure = run.execute(signals, progress, kernel_name)
            if failure:
                raise run.keep_failed(**failure)
            signals.hold()
            record = run.publish()
    finally:
        clean_scratch()  # the large scratch files of a kernel that was killed
    return RunResult(study, run.run_dir, record, headline(run.run_dir / study.main_json),
                     signals.received)  # fmt: skip


class Run:
    """One run: its run folder, and the private work folder beside it that becomes it.

    The work folder ``.<name>.run-<pid>-*`` is on the run folder's file system
    (publishing is a rename) and names its process, so a later run removes it
    if this one is killed (:func:`fairaudit._io.clean_leftovers`).
    """

    def __init__(self, study: Study, given: dict, run_dir):
        self.study, self.given, self.started = study, given, datetime.now(UTC)
        self.run_dir = check_run_target(run_dir, study.name)
        clean_leftovers(self.run_dir.parent, self.run_dir.name)
        self.work = private_workdir(self.run_dir.parent, self.run_dir.name)
        self.notebook = self.work / study.notebook_path.name

    def execute(self, signals: _Signals, progress=None, kernel_name="python3") -> dict:
        """Papermill into the work folder; what went wrong (empty if nothing)."""
        from papermill.exceptions import PapermillExecutionError

        total, done = code_cells(self.study.notebook_path), []
        show = progress_hook(self.study.name, total) if progress == "lines" else lambda **_: None

        def on_cell_complete(**kwargs):
            show(**kwargs)
            done.append(kwargs.get("cell_index"))
            if len(done) == total:
                signals.hold()  # the last cell has finished: publish the run whole, then stop

        env = {RUN_DIR_ENV: str(self.run_dir), RUN_STAGING_ENV: str(self.work)}
        stop_now = lambda: signals.received and not signals.held  # noqa: E731
        try:
            execute(
                self.study.notebook_path,
                self.work / f".{self.notebook.name}",
                env,
                parameters={**self.given, OUTPUT_PARAMETER: str(self.run_dir)},
                kernel_name=kernel_name,
                progress_bar=progress == "bar",
                on_cell_complete=on_cell_complete,
                kernel_manager_class=kernel_manager_class(self.work / _KERNEL_LOG, stop_now),
            )
        except PapermillExecutionError as exc:
            return {"error": f"{exc.ename}: {exc.evalue}", "cell_index": exc.cell_index,
                    "execution_count": exc.exec_count, "source": exc.source,
                    "traceback": [_ANSI.sub("", line) for line in exc.traceback]}  # fmt: skip
        except KeyboardInterrupt:
            self.keep_failed("interrupted by Ctrl-C or SIGTERM")
            raise
        except Exception as exc:  # noqa: BLE001 - the kernel died or could not start, ...
            return {"error": f"{type(exc).__name__}: {exc}"}
        if not (self.work / self.study.main_json).is_file():
            return {
                "error": f"The notebook finished but did not write {self.study.main_json} "
                f"into its {OUTPUT_PARAMETER}; does its last cell commit its RunArtefacts?"
            }
        return {}

    def _show_notebook(self) -> None:
        """The executed notebook under its own name (hidden while the kernel wrote it)."""
        hidden = self.work / f".{self.notebook.name}"
        if hidden.exists():
            os.replace(hidden, self.notebook)

    def publish(self) -> dict:
        """HTML, ``run.json``, then the swap; if any of it fails, :meth:`keep_failed`."""
        try:
            self._show_notebook()
            (self.work / _KERNEL_LOG).unlink(missing_ok=True)
            write_text_atomic(self.notebook.with_suffix(".html"), render_html(self.notebook))
            record = self.record("ok")
            write_json_atomic(self.work / RUN_RECORD, record)
            replace_dir(self.work, self.run_dir, self.study.name)
        except Exception as exc:  # noqa: BLE001 - a full disk, a link in the way, ...
            text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise self.keep_failed(f"publishing failed: {text}") from None
        remember_run(self.study.name, self.run_dir)
        return record

    def record(self, status: str, **extra) -> dict:
        """``run.json``: parameters, times, checksums, versions, the data the notebook used."""
        finished, path = datetime.now(UTC), self.study.notebook_path
        try:
            notebook = str(path.resolve().relative_to(project_root()))
        except ValueError:
            notebook = str(path)
        record = {
            "study": self.study.name, "status": status, "notebook": notebook,
            "notebook_sha256": sha256_file(path),
            "parameters": {n: p.default for n, p in self.study.declared.items()} | self.given
            | {OUTPUT_PARAMETER: str(self.run_dir)},
            "overrides": dict(self.given), "started_at": iso(self.started),
            "finished_at": iso(finished),
            "duration_s": round((finished - self.started).total_seconds(), 1),
            "kernel_environment": dict(KERNEL_ENV), "versions": library_versions(), **extra,
        }  # fmt: skip
        if self.study.dataset:
            from fairaudit.datasets import dataset_checksums

            data = {"name": self.study.dataset, "sha256": dataset_checksums(self.study.dataset)}
            record["data"] = data | _data_used(self.work / self.study.main_json)
        return record

    def keep_failed(self, error: str, **failure) -> RunFailed:
        """Move the work folder whole to ``reports/failed/<study>-<time>/``, with the cause.

        On one file system that is a rename, which even a full disk allows. If
        it cannot move, it stays beside the run folder as ``<name>.failed-<time>``,
        which no later run takes for a leftover.
        """
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        with contextlib.suppress(OSError):
            self._show_notebook()
            (self.work / RUN_MARKER).unlink(missing_ok=True)
        kept, n = reports_dir() / "failed" / f"{self.study.name}-{stamp}", 1
        while kept.exists() or kept.is_symlink():
            n += 1
            kept = kept.with_name(f"{self.study.name}-{stamp}-{n}")
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(self.work), str(kept))
        except OSError:
            shutil.rmtree(kept, ignore_errors=True)  # half a copy to another file system
            kept = self.work.rename(self.run_dir.with_name(f"{self.run_dir.name}.failed-{stamp}"))
        self.work, text = kept, [f"Case study: {self.study.name}", f"Error: {error}"]
        if failure.get("cell_index") is not None:
            text += [f"Failing code cell: {failure['cell_index']} "
                     f"(In [{failure.get('execution_count')}])", "", "Cell source:",
                     failure.get("source", "")]  # fmt: skip
        text += ["", "Traceback:", *failure["traceback"]] if failure.get("traceback") else []
        with contextlib.suppress(Exception):  # on a full disk the folder alone is kept
            write_text_atomic(kept / "error.txt", "\n".join(text) + "\n")
            write_json_atomic(kept / RUN_RECORD, self.record(
                "failed", error=error, intended_run_dir=str(self.run_dir)))  # fmt: skip
        return RunFailed(self.study, kept, error, failure.get("cell_index"),
                         failure.get("execution_count"), failure.get("source", ""))  # fmt: skip


def _data_used(main_json: Path) -> dict:
    """``source`` and ``content_sha256`` of the data the notebook's main JSON reports, if any."""
    try:
        main = json.loads(main_json.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    for block in (main, *main.values()) if isinstance(main, dict) else ():
        data = block.get("data") if isinstance(block, dict) else None
        if isinstance(data, dict) and data.get("content_sha256"):
            return {k: data[k] for k in ("source", "content_sha256") if k in data}
    return {}

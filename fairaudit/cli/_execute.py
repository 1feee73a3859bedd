"""Running a case study: a fresh folder per run, published all at once, failures kept.

:func:`run_study` executes the notebook with papermill into a fresh hidden
sibling of the run folder and moves it into place only when the run
succeeded, with the executed notebook, its HTML rendering and a ``run.json``
(parameters, start and end time, data checksums, library versions) beside the
notebook's own artefacts. A failed run is kept, error and all, under
``reports/failed/<study>-<UTC time>/`` and the previous results stay as they
were. :func:`refresh_notebook` re-executes a committed notebook in place
(for maintainers).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from fairaudit._io import (
    OUTPUT_ROOT_ENV,
    check_run_target,
    clean_leftovers,
    private_workdir,
    project_root,
    replace_dir,
    resolve_path,
    sha256_file,
    write_json_atomic,
    write_text_atomic,
)
from fairaudit.cli._parameters import (
    OUTPUT_PARAMETER,
    Parameter,
    ParameterError,
    _quiet_papermill_logging,
    notebook_parameters,
)
from fairaudit.cli._studies import Study

__all__ = [
    "KERNEL_ENV",
    "RUN_RECORD",
    "RunFailed",
    "RunResult",
    "default_run_dir",
    "refresh_notebook",
    "render_html",
    "reports_dir",
    "run_study",
]

#: Environment every kernel runs with: reproducible hashing, the virtual
#: environment's ``python3`` kernel before any user-wide one, and matplotlib's
#: inline backend. The inline backend draws with Agg (no GUI, deterministic) and
#: also puts each figure into the notebook; plain ``MPLBACKEND=Agg`` would
#: replace it in the kernel and leave every ``plt.show()`` without a figure.
KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "JUPYTER_PREFER_ENV_PATH": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}

RUN_RECORD = "run.json"
TEMPLATES = Path(__file__).parent.parent / "reporting" / "templates"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class RunResult:
    """A successful run: where its folder is and what it recorded."""

    study: Study
    run_dir: Path
    record: dict
    headline: dict | None = None

    @property
    def html(self) -> Path:
        return self.run_dir / f"{self.study.notebook_path.stem}.html"


@dataclass
class RunFailed(RuntimeError):
    """A run that raised (or did not produce its main artefact); nothing was published."""

    study: Study
    failed_dir: Path
    error: str
    cell_index: int | None = None
    execution_count: int | None = None
    source: str = ""
    details: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.study.name} failed: {self.error}"

    def report(self, max_source_lines: int = 12) -> str:
        """Which cell failed, its first lines, the error, and where the notebook is kept.

        Parameters
        ----------
        max_source_lines : int, default 12
            How much of the failing cell to show.

        Returns
        -------
        str
        """
        lines = []
        if self.cell_index is not None:
            count = f" (In [{self.execution_count}])" if self.execution_count else ""
            lines.append(f"{self.study.name} failed in code cell {self.cell_index}{count}:")
            source = self.source.splitlines()
            for line in source[:max_source_lines]:
                lines.append(f"    {line}")
            if len(source) > max_source_lines:
                lines.append(f"    ... ({len(source) - max_source_lines} more lines)")
        else:
            lines.append(f"{self.study.name} failed:")
        lines.append(self.error)
        lines.extend(self.details)
        lines.append(f"The executed notebook with the error is kept in {self.failed_dir}")
        return "\n".join(lines)


def reports_dir() -> Path:
    """The folder holding run folders, ``failed/`` and ``index.html`` (``reports/``)."""
    return resolve_path("reports")


def default_run_dir(declared: dict[str, Parameter], study: Study) -> Path:
    """``reports/<name>``, ``<name>`` being the last part of the ``output_dir`` default.

    Parameters
    ----------
    declared : dict
        From :func:`notebook_parameters`.
    study : Study

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        If the notebook has no string ``output_dir`` parameter.
    """
    param = declared.get(OUTPUT_PARAMETER)
    if param is None or not isinstance(param.default, str) or not param.default:
        raise ParameterError(
            f"{study.notebook} has no string parameter {OUTPUT_PARAMETER!r}; the runner needs one "
            "to tell the notebook where to write."
        )
    return reports_dir() / PurePosixPath(param.default.replace("\\", "/")).name


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    """Set environment variables for the kernel papermill starts; restore them afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _effective_parameters(declared, given, run_dir) -> dict:
    params = {}
    for name, param in declared.items():
        params[name] = param.default if param.has_literal_default else param.source
    params.update(given)
    params[OUTPUT_PARAMETER] = str(run_dir)
    return params


def _record(study, declared, given, run_dir, started, finished, status, artefacts=None) -> dict:
    from fairaudit.reporting._artefacts import library_versions

    record = {
        "study": study.name,
        "status": status,
        "notebook": _display_path(study.notebook_path),
        "notebook_sha256": sha256_file(study.notebook_path),
        "parameters": _effective_parameters(declared, given, run_dir),
        "overrides": dict(given),
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "duration_s": round((finished - started).total_seconds(), 1),
        "kernel_environment": dict(KERNEL_ENV),
        "versions": library_versions(),  # pandas and friends: loaded only once a run ends
    }
    if study.dataset:
        from fairaudit.datasets import dataset_checksums

        record["data"] = {"name": study.dataset, "sha256": dataset_checksums(study.dataset)}
        used = _data_used(artefacts, study) if artefacts is not None else {}
        if used:  # what the notebook actually loaded (mirror or verified cache)
            record["data"].update(used)
    return record


def _data_used(folder: Path, study) -> dict:
    """``source`` and ``content_sha256`` of the data the notebook's main JSON reports, if any."""
    try:
        main = json.loads((folder / study.main_json).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    for block in (main, *(v for v in main.values() if isinstance(v, dict))):
        data = block.get("data") if isinstance(block, dict) else None
        if isinstance(data, dict) and data.get("content_sha256"):
            return {k: data[k] for k in ("source", "content_sha256") if k in data}
    return {}


def _display_path(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def render_html(notebook: str | os.PathLike) -> str:
    """Render an executed notebook as one self-contained HTML page.

    JupyterLab's look (nbconvert's ``lab`` template) with images embedded and
    without the scripts it would fetch from a CDN (require.js, MathJax,
    Mermaid), so the page opens offline without errors.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        template_file=str(TEMPLATES / "notebook.html.j2"),
        embed_images=True,
    )
    nb = nbformat.read(str(notebook), as_version=4)
    # Saved widget state would make the page load the widget manager from a CDN; without it
    # a widget shows its text description, beside the static figure the notebook draws.
    nb.metadata.pop("widgets", None)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(notebook).stem}})
    return body


def _failed_dir(study: Study, started: datetime) -> Path:
    base = reports_dir() / "failed"
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    candidate = base / f"{study.name}-{stamp}"
    n = 2
    while candidate.exists():
        candidate = base / f"{study.name}-{stamp}-{n}"
        n += 1
    return candidate


def run_study(
    study: Study,
    given: dict | None = None,
    *,
    output_dir: str | os.PathLike | None = None,
    progress: str | None = None,
    kernel_name: str = "python3",
    declared: dict[str, Parameter] | None = None,
) -> RunResult:
    """Execute a case study with checked parameters and publish its results all at once.

    Parameters
    ----------
    study : Study
        The case study (its notebook must exist).
    given : dict
        Parameter values already checked by :func:`prepare_parameters`.
    output_dir : path, optional
        The run folder; default ``reports/<name>`` (see :func:`default_run_dir`).
        Relative paths resolve against the project root.
    progress : {None, "bar", "lines"}
        Papermill's progress bar (for a terminal), a line every few seconds
        (for logs and pipes), or nothing.
    kernel_name : str
        The Jupyter kernel to run (the project's virtual environment's ``python3``).
    declared : dict, optional
        The notebook's parameters, if already read.

    Returns
    -------
    RunResult

    Raises
    ------
    RunFailed
        The notebook raised, its kernel died, or it did not write its main
        artefact. The run folder is untouched; the executed notebook, its HTML
        and ``error.txt`` are in :attr:`RunFailed.failed_dir`.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    given = dict(given or {})
    declared = declared if declared is not None else notebook_parameters(study.notebook_path)
    run_dir = check_run_target(
        output_dir if output_dir is not None else default_run_dir(declared, study)
    )
    clean_leftovers(run_dir.parent, run_dir.name)
    # A fresh sibling on the same file system, so publishing is a rename.
    work = private_workdir(run_dir.parent, run_dir.name, "run")
    out = work / run_dir.name
    out.mkdir()
    executed = work / study.notebook_path.name
    started = _now()
    failure = None
    try:
        with _environment(KERNEL_ENV), _quiet_papermill_logging():
            papermill.execute_notebook(
                str(study.notebook_path),
                str(executed),
                parameters={**given, OUTPUT_PARAMETER: str(out)},
                kernel_name=kernel_name,
                progress_bar=progress == "bar",
                log_output=False,
                cwd=str(study.notebook_path.parent),
                kernel_manager_class=_kernel_manager_class(work / "kernel-stderr.log"),
                **({"on_cell_complete": _progress_hook(study.name, _n_cells(study))}
                   if progress == "lines" else {}),
            )  # fmt: skip
        main_json = out / study.main_json
        if not main_json.is_file():
            failure = {
                "error": (
                    f"The notebook finished but did not write {study.main_json} into its "
                    f"{OUTPUT_PARAMETER}; does its last cell commit its RunArtefacts?"
                )
            }
    except PapermillExecutionError as exc:
        failure = {
            "error": f"{exc.ename}: {exc.evalue}",
            "cell_index": exc.cell_index,
            "execution_count": exc.exec_count,
            "source": exc.source,
            "traceback": [_ANSI.sub("", line) for line in exc.traceback],
        }
    except KeyboardInterrupt:
        _keep_failed(study, declared, given, run_dir, started, work, executed, "interrupted")
        raise
    except Exception as exc:  # kernel died, could not start, ...
        failure = {"error": f"{type(exc).__name__}: {exc}"}

    if failure is not None:
        failed = _keep_failed(
            study, declared, given, run_dir, started, work, executed, failure["error"], failure
        )
        raise RunFailed(
            study,
            failed,
            failure["error"],
            cell_index=failure.get("cell_index"),
            execution_count=failure.get("execution_count"),
            source=failure.get("source", ""),
        )

    try:
        with _interrupts_deferred():  # the run finished: publish it whole, then stop
            final_notebook = out / executed.name
            os.replace(executed, final_notebook)
            write_text_atomic(out / f"{executed.stem}.html", render_html(final_notebook))
            record = _record(study, declared, given, run_dir, started, _now(), "ok", out)
            write_json_atomic(out / RUN_RECORD, record)
            replace_dir(out, run_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _remember_run(study, run_dir)
    return RunResult(study, run_dir, record, _headline(run_dir / study.main_json))


def refresh_notebook(notebook: str | os.PathLike, *, kernel_name: str = "python3") -> Path:
    """Re-execute a committed notebook in place with its default parameters.

    For maintainers, after a change to the code or the pins: the notebook is
    run exactly as nbval will re-run it (same kernel environment, working
    directory ``notebooks/``, artefacts into a temporary folder), and
    papermill's volatile metadata (timestamps, durations) is stripped so that
    the diff shows only real changes. The file is replaced only if the run
    succeeds.

    Parameters
    ----------
    notebook : path
    kernel_name : str, default "python3"

    Returns
    -------
    pathlib.Path
        The notebook.

    Raises
    ------
    RunFailed
        If a cell fails (the committed file is left as it was).
    """
    import nbformat
    import papermill

    notebook = Path(notebook).resolve()
    with tempfile.TemporaryDirectory(prefix="fairaudit-refresh-") as tmp:
        executed = Path(tmp) / notebook.name
        with _environment({**KERNEL_ENV, OUTPUT_ROOT_ENV: tmp}), _quiet_papermill_logging():
            papermill.execute_notebook(
                str(notebook),
                str(executed),
                kernel_name=kernel_name,
                progress_bar=False,
                log_output=False,
                cwd=str(notebook.parent),
                kernel_manager_class=_kernel_manager_class(Path(tmp) / "kernel-stderr.log"),
            )
        nb = nbformat.read(str(executed), as_version=4)
        nb.metadata.pop("papermill", None)
        for cell in nb.cells:
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
            if cell.metadata.get("tags") == []:  # papermill adds empty tag lists
                del cell.metadata["tags"]
        nbformat.validate(nb)
        write_text_atomic(notebook, nbformat.writes(nb) + "\n")
    return notebook


@contextlib.contextmanager
def _interrupts_deferred():
    """Hold Ctrl-C and SIGTERM until the block ends, then raise KeyboardInterrupt.

    Publishing a finished run takes a second or two (HTML, record, folder
    swap); an interruption in the middle would lose the run. Outside the main
    thread signals cannot be caught and the block runs as it is.
    """
    import signal

    received = []

    def hold(signum, frame):
        received.append(signum)

    try:
        previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise KeyboardInterrupt


def _keep_failed(study, declared, given, run_dir, started, work, executed, error, failure=None):
    """Move a failed run's executed notebook (and an HTML of it) into ``reports/failed/``."""
    failed = _failed_dir(study, started)
    failed.mkdir(parents=True)
    try:
        if executed.exists():
            target = failed / executed.name
            shutil.move(str(executed), target)
            with contextlib.suppress(Exception):  # the HTML is a convenience, never the failure
                (failed / f"{executed.stem}.html").write_text(render_html(target), encoding="utf-8")
        kernel_log = work / "kernel-stderr.log"
        if kernel_log.is_file() and kernel_log.stat().st_size:
            shutil.move(str(kernel_log), failed / kernel_log.name)
        failure = failure or {}
        text = [f"Case study: {study.name}", f"Error: {error}"]
        if failure.get("cell_index") is not None:
            count = failure.get("execution_count")
            text.append(f"Failing code cell: {failure['cell_index']} (In [{count}])")
            text += ["", "Cell source:", failure.get("source", "")]
        if failure.get("traceback"):
            text += ["", "Traceback:", *failure["traceback"]]
        (failed / "error.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
        record = _record(study, declared, given, run_dir, started, _now(), "failed")
        record["error"] = error
        record["intended_run_dir"] = str(run_dir)
        write_json_atomic(failed / RUN_RECORD, record)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return failed


def _kernel_manager_class(stderr_log: Path | None = None):
    """A kernel manager that encrypts the kernel's transport and keeps its stderr to a file.

    Encryption (when ZeroMQ supports it) is safer on a shared machine and keeps
    ipykernel's "running over TCP without encryption" warning out of the
    command's output. The kernel's own stderr (``KeyboardInterrupt caught in
    kernel`` on shutdown, library chatter) goes to ``stderr_log`` instead of
    the command's stderr; a failed run keeps that file.
    """
    import zmq
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    encrypt = zmq.has("curve")

    class RunKernelManager(AsyncKernelManager):
        @default("transport_encryption")
        def _default_transport_encryption(self):
            return "auto" if encrypt else super()._default_transport_encryption()

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            if stderr_log is not None:
                kw["stderr"] = open(stderr_log, "ab")  # noqa: SIM115 - the kernel owns it
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return RunKernelManager


def _n_cells(study) -> int:
    """Code cells a run executes: the notebook's, plus papermill's injected parameters."""
    import nbformat

    cells = nbformat.read(str(study.notebook_path), as_version=4).cells
    return sum(c.cell_type == "code" and bool(c.source.strip()) for c in cells) + 1


def _progress_hook(label: str, total: int, *, every: float = 5.0):
    """``on_cell_complete`` hook printing one line at most every ``every`` seconds (for logs)."""
    import time

    start = last = time.monotonic()
    done = 0

    def hook(cell, cell_index, **_):
        nonlocal last, done
        done += 1
        now = time.monotonic()
        if now - last >= every or done == total:
            last = now
            print(f"  {label}: code cell {done} of {total} ({now - start:.0f} s)", flush=True)

    return hook


_RUNS_FILE = ".runs.json"


def _remember_run(study: Study, run_dir: Path) -> None:
    """Note where a study's latest run went, so the index finds runs made with --output-dir."""
    path = reports_dir() / _RUNS_FILE
    try:
        runs = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        runs = {}
    known = runs.setdefault(study.name, [])
    if str(run_dir) in known:
        known.remove(str(run_dir))
    known.append(str(run_dir))
    write_json_atomic(path, runs)


def _headline(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    headline = data.get("headline") if isinstance(data, dict) else None
    return headline if isinstance(headline, dict) else None

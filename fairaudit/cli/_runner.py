"""Running a case-study notebook safely: checked parameters, all-or-nothing results.

Papermill alone lets a re-run down in ways a reader notices: a misspelt
parameter name is only a warning (the run silently uses the default), a value
of the wrong type fails deep inside the notebook, a failed run leaves
half-written files, and outputs pile up with no record of what made them.
This module closes those gaps:

* :func:`notebook_parameters` reads the ``parameters`` cell with papermill's
  own inspection (names, defaults, the one-line comments), so there is no
  hand-kept list to fall out of date;
* :func:`prepare_parameters` refuses unknown names (naming the closest valid
  one) and parses every value with the type of its default, *before* a kernel
  starts;
* :func:`run_study` executes into a fresh temporary sibling of the run folder
  and moves it into place only when the run succeeded, with the executed
  notebook, its HTML rendering and a ``run.json`` (parameters, start and end
  time, data checksums, library versions) beside the notebook's own
  artefacts. A failed run is kept, error and all, under
  ``reports/failed/<study>-<UTC time>/`` and the previous results stay as
  they were;
* :func:`write_index` renders ``reports/index.html``: every case study's
  latest run with its headline numbers and links.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import tokenize
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import yaml

from fairaudit._io import (
    OUTPUT_ROOT_ENV,
    project_root,
    replace_dir,
    resolve_path,
    write_json_atomic,
    write_text_atomic,
)
from fairaudit.cli._studies import STUDIES, Study, closest
from fairaudit.reporting._artefacts import library_versions

__all__ = [
    "KERNEL_ENV",
    "Parameter",
    "ParameterError",
    "RunFailed",
    "RunResult",
    "notebook_parameters",
    "parse_value",
    "prepare_parameters",
    "read_params_file",
    "default_run_dir",
    "reports_dir",
    "run_study",
    "refresh_notebook",
    "render_html",
    "write_index",
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

#: The parameter through which the runner tells a notebook where to write.
OUTPUT_PARAMETER = "output_dir"

RUN_RECORD = "run.json"
_TEMPLATES = Path(__file__).parent.parent / "reporting" / "templates"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NO_LITERAL = object()


class ParameterError(ValueError):
    """A parameter name or value the notebook cannot take (a usage error: nothing ran)."""


@dataclass(frozen=True)
class Parameter:
    """One entry of a notebook's ``parameters`` cell.

    ``default`` is the Python value of the default when it is a literal (the
    usual case), which also fixes the type a new value must have; ``source``
    is the default exactly as written in the cell.
    """

    name: str
    source: str
    default: object
    type_name: str
    help: str

    @property
    def has_literal_default(self) -> bool:
        return self.default is not _NO_LITERAL


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
        """Which cell failed, its first lines, the error, and where the notebook is kept."""
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


# --------------------------------------------------------------------------- parameters


def notebook_parameters(
    notebook: str | os.PathLike, *, use_papermill: bool = True
) -> dict[str, Parameter]:
    """The parameters a notebook declares, in the order of its ``parameters`` cell.

    Read from the cell itself, so the comment after each parameter becomes its
    help text and nothing is kept by hand: with
    :func:`papermill.inspect_notebook`, and with Python's own parser. Papermill
    skips any line holding more than one ``=`` (a comment such as
    ``# 0.8 = 80%`` is enough), which would make a valid name look unknown, so
    the assignments it skipped are added from the parsed cell.

    Parameters
    ----------
    notebook : path
    use_papermill : bool
        ``False`` reads the cell with Python's parser only. It gives the same
        names, defaults, annotations and comments without importing papermill
        (seconds), so a mistyped command is refused at once.

    Raises
    ------
    ParameterError
        If the notebook has no cell tagged ``parameters``.
    """
    inspected = {}
    if use_papermill:
        import papermill

        with _quiet_papermill_logging():
            inspected = papermill.inspect_notebook(str(notebook))
    parsed = _parse_parameters_cell(notebook)
    if not inspected and not parsed:
        raise ParameterError(
            f"{notebook} has no code cell tagged 'parameters', so it cannot be re-run with "
            "new values; tag the cell that sets its parameters."
        )
    merged = {name: inspected.get(name, info) for name, info in parsed.items()}
    merged.update({name: info for name, info in inspected.items() if name not in merged})
    params = {}
    for name, info in merged.items():
        source = str(info.get("default", ""))
        try:
            default = ast.literal_eval(source)
        except (ValueError, SyntaxError):
            default = _NO_LITERAL
        type_name = info.get("inferred_type_name") or "None"
        if type_name == "None":
            type_name = type(default).__name__ if default is not _NO_LITERAL else "any"
        params[name] = Parameter(name, source, default, type_name, info.get("help") or "")
    return params


def _parse_parameters_cell(notebook) -> dict[str, dict]:
    """Top-level assignments of the ``parameters`` cell, read with :mod:`ast` and :mod:`tokenize`.

    Returns papermill-style entries (``default`` source text, annotation,
    ``help`` from the comment ending the statement's last line); empty if the
    cell is not plain Python. The notebook is read as plain JSON (nbformat 4).
    """
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParameterError(f"Cannot read notebook {notebook}: {exc}") from None
    cell = next(
        (
            c
            for c in nb.get("cells", [])
            if c.get("cell_type") == "code"
            and "parameters" in c.get("metadata", {}).get("tags", [])
        ),
        None,
    )
    if cell is None:
        return {}
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError):
        return {}
    comments = {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokens
        if tok.type == tokenize.COMMENT
    }
    found = {}
    for node in tree.body:
        annotation = "None"
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
            annotation = ast.unparse(node.annotation)
        else:
            continue
        if isinstance(target, ast.Name):
            found[target.id] = {
                "name": target.id,
                "inferred_type_name": annotation,
                "default": ast.get_source_segment(source, value),
                "help": comments.get(node.end_lineno, ""),
            }
    return found


def _kind(param: Parameter) -> str:
    if not param.has_literal_default or param.default is None:
        return param.type_name if param.type_name in {"str", "int", "float", "bool"} else "any"
    return type(param.default).__name__


def _element_kind(param: Parameter) -> str | None:
    """The common element type of a list default (``float`` for ``[0.01, 0.05]``)."""
    default = param.default
    if not isinstance(default, list | tuple) or not default:
        return None
    kinds = {type(v).__name__ for v in default}
    if kinds <= {"int", "float"} and "float" in kinds:
        return "float"
    return kinds.pop() if len(kinds) == 1 else None


def _describe(param: Parameter) -> str:
    kind = _kind(param)
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{article} {kind} like {param.source}" if kind != "any" else "any value"


def _wrong(param: Parameter, value, origin: str) -> ParameterError:
    return ParameterError(
        f"Parameter {param.name!r} takes {_describe(param)} (its default); got {value!r}{origin}."
    )


def _scalar_from_text(kind: str, text: str):
    """Parse one command-line string as ``kind``; raise ``ValueError`` if it is not one."""
    if kind == "str":
        return text
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(text)
    if kind == "int":
        if not re.fullmatch(r"\s*[+-]?\d+\s*", text):
            raise ValueError(text)
        return int(text)
    if kind == "float":
        return float(text)
    return yaml.safe_load(text)


def _check_scalar(kind: str, value):
    """Check an already-typed value (from YAML) against ``kind``; return it converted."""
    if kind == "any" or kind == "NoneType":
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind == "str":
        if isinstance(value, str):
            return value
    raise ValueError(value)


def parse_value(param: Parameter, value, *, from_text: bool = True):
    """Turn ``value`` into what ``param`` takes, judged by the type of its default.

    Command-line values are strings: ``"0.2"`` becomes ``0.2`` for a float
    parameter, ``"true"``/``"false"`` a bool, and a list is written as YAML
    (``"[0.01, 0.05]"``) or comma-separated (``"sex,race"``). Values from a
    YAML file arrive typed and are only checked (an int is accepted where a
    float is expected). A parameter whose default is ``None`` or not a literal
    takes any YAML value.

    Raises
    ------
    ParameterError
        When the value is not of the parameter's type, with an example of one that is.
    """
    origin = "" if from_text else " (from the parameters file)"
    kind = _kind(param)
    try:
        if kind in {"list", "tuple"}:
            if from_text:
                stripped = value.strip()
                if stripped.startswith(("[", "(")):
                    items = yaml.safe_load(stripped.replace("(", "[").replace(")", "]"))
                else:
                    items = [part.strip() for part in stripped.split(",") if part.strip()]
            else:
                items = value
            if not isinstance(items, list | tuple):
                raise ValueError(value)
            element = _element_kind(param)
            if element:
                items = [
                    _scalar_from_text(element, item)
                    if from_text and isinstance(item, str)
                    else _check_scalar(element, item)
                    for item in items
                ]
            return list(items)
        if kind == "dict":
            parsed = yaml.safe_load(value) if from_text else value
            if not isinstance(parsed, dict):
                raise ValueError(value)
            return parsed
        if from_text:
            return _scalar_from_text(kind, value)
        return _check_scalar(kind, value)
    except (ValueError, TypeError, yaml.YAMLError):
        raise _wrong(param, value, origin) from None


def unknown_name_error(name: str, valid, where: str | None = None) -> ParameterError:
    """The refusal for a parameter name ``where`` does not declare, with the closest match.

    ``where=None`` means no case study declares it (``run --all``).
    """
    valid = [v for v in valid if v != OUTPUT_PARAMETER]
    hint = closest(name, valid)
    if where is None:
        message = f"No case study has a parameter {name!r}."
    else:
        message = f"{where} has no parameter {name!r}."
    if hint:
        message += f" Did you mean {hint!r}?"
    message += f" Valid parameters: {', '.join(valid)}."
    return ParameterError(message)


def prepare_parameters(
    declared: dict[str, Parameter],
    text_values: dict[str, str] | None = None,
    typed_values: dict | None = None,
    *,
    where: str = "The notebook",
    ignore_unknown: bool = False,
) -> dict:
    """Check and convert the values a user gave, before anything runs.

    Parameters
    ----------
    declared : dict
        From :func:`notebook_parameters`.
    text_values : dict of str
        ``-p NAME VALUE`` pairs (strings, parsed with the type of each default).
        They win over ``typed_values``.
    typed_values : dict
        Values read from a YAML parameters file (checked, not parsed).
    where : str
        How messages name the notebook (``"credit-loan"``).
    ignore_unknown : bool
        Skip names the notebook does not declare instead of refusing them
        (``run --all`` applies a value only to the studies that have it).

    Returns
    -------
    dict
        Only the given parameters, converted; the notebook's defaults fill the rest.

    Raises
    ------
    ParameterError
        For an unknown name (with the closest valid one), ``output_dir`` (the
        run folder is chosen with ``--output-dir``) or a value of the wrong type.
    """
    given = [(k, v, False) for k, v in (typed_values or {}).items()]
    given += [(k, v, True) for k, v in (text_values or {}).items()]
    result, problems = {}, []
    for name, value, from_text in given:
        if name == OUTPUT_PARAMETER:
            problems.append(
                f"{OUTPUT_PARAMETER!r} is chosen by the runner (it writes into a temporary folder "
                "first); pass --output-dir DIR instead."
            )
        elif name not in declared:
            if not ignore_unknown:
                problems.append(str(unknown_name_error(name, declared, where)))
        else:
            try:
                result[name] = parse_value(declared[name], value, from_text=from_text)
            except ParameterError as exc:
                problems.append(str(exc))
    if problems:  # every problem at once, so one correction fixes the command
        raise ParameterError("\n".join(problems))
    return result


def read_params_file(path: str | os.PathLike) -> dict:
    """Read a YAML (or JSON) file holding a mapping of parameter names to values."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"Cannot read parameters file {path}: {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ParameterError(
            f"{path} must hold a mapping of parameter names to values, e.g. "
            "'sample_fraction: 0.2'; got a " + type(data).__name__ + "."
        )
    return data


# --------------------------------------------------------------------------- running


def reports_dir() -> Path:
    """The folder holding run folders, ``failed/`` and ``index.html`` (``reports/``)."""
    return resolve_path("reports")


def default_run_dir(declared: dict[str, Parameter], study: Study) -> Path:
    """``reports/<name>``, ``<name>`` being the last part of the ``output_dir`` default."""
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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _effective_parameters(declared, given, run_dir) -> dict:
    params = {}
    for name, param in declared.items():
        params[name] = param.default if param.has_literal_default else param.source
    params.update(given)
    params[OUTPUT_PARAMETER] = str(run_dir)
    return params


def _record(study, declared, given, run_dir, started, finished, status) -> dict:
    record = {
        "study": study.name,
        "status": status,
        "notebook": _display_path(study.notebook_path),
        "notebook_sha256": _sha256(study.notebook_path),
        "parameters": _effective_parameters(declared, given, run_dir),
        "overrides": dict(given),
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "duration_s": round((finished - started).total_seconds(), 1),
        "kernel_environment": dict(KERNEL_ENV),
        "versions": library_versions(),
    }
    if study.dataset:
        from fairaudit.datasets import dataset_checksums

        record["data"] = {"name": study.dataset, "sha256": dataset_checksums(study.dataset)}
    return record


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
        template_file=str(_TEMPLATES / "notebook.html.j2"),
        embed_images=True,
    )
    nb = nbformat.read(str(notebook), as_version=4)
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
    progress: bool = False,
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
    progress : bool
        Show papermill's progress bar (for a terminal; keep it off in CI and logs).
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
    run_dir = (
        resolve_path(output_dir) if output_dir is not None else default_run_dir(declared, study)
    )
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    # A fresh sibling on the same file system, so publishing is a rename.
    work = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.run-", dir=run_dir.parent))
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
                progress_bar=progress,
                log_output=False,
                cwd=str(study.notebook_path.parent),
                kernel_manager_class=_kernel_manager_class(),
            )
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
        final_notebook = out / executed.name
        os.replace(executed, final_notebook)
        write_text_atomic(out / f"{executed.stem}.html", render_html(final_notebook))
        record = _record(study, declared, given, run_dir, started, _now(), "ok")
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
                kernel_manager_class=_kernel_manager_class(),
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


def _kernel_manager_class():
    """A kernel manager that encrypts the kernel's transport when ZeroMQ supports it.

    Besides being safer on a shared machine, this keeps ipykernel's "running
    over TCP without encryption" warning out of the command's output.
    """
    import zmq
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    if not zmq.has("curve"):
        return AsyncKernelManager

    class EncryptedKernelManager(AsyncKernelManager):
        @default("transport_encryption")
        def _default_transport_encryption(self):
            return "auto"

    return EncryptedKernelManager


@contextlib.contextmanager
def _quiet_papermill_logging():
    """Keep papermill's informational logging off the console (the command reports instead)."""
    import logging

    logger = logging.getLogger("papermill")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# --------------------------------------------------------------------------- the index

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


def _read_record(folder: Path) -> dict | None:
    try:
        record = json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _format_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return "n/a"
    if isinstance(value, list | tuple):
        return ", ".join(_format_value(v) for v in value)
    return str(value)


def _link(target: Path, base: Path) -> str:
    return PurePosixPath(Path(os.path.relpath(target, base))).as_posix()


def _study_entry(study: Study, root: Path, runs: dict) -> dict:
    candidates = [Path(p) for p in runs.get(study.name, [])]
    try:
        declared = notebook_parameters(study.notebook_path, use_papermill=False)
        candidates.append(default_run_dir(declared, study))
    except Exception:  # noqa: BLE001 - a missing or unreadable notebook just has no default run
        pass
    latest, latest_dir = None, None
    for folder in candidates:
        record = _read_record(folder)
        if record and record.get("study") == study.name and record.get("status") == "ok":
            if latest is None or record.get("finished_at", "") > latest.get("finished_at", ""):
                latest, latest_dir = record, folder
    entry = {"study": study, "available": study.available, "run": None, "failed": None}
    if latest is not None:
        stem = Path(latest.get("notebook", study.notebook)).stem
        figures = sorted(latest_dir.glob("*.png"))
        entry["run"] = {
            "folder": _link(latest_dir, root),
            "finished_at": latest.get("finished_at", ""),
            "duration_s": latest.get("duration_s"),
            "overrides": {k: _format_value(v) for k, v in latest.get("overrides", {}).items()},
            "parameters": {
                k: _format_value(v)
                for k, v in latest.get("parameters", {}).items()
                if k != OUTPUT_PARAMETER
            },
            "headline": {
                str(k): _format_value(v)
                for k, v in (_headline(latest_dir / study.main_json) or {}).items()
            },
            "html": _link(latest_dir / f"{stem}.html", root),
            "notebook": _link(latest_dir / f"{stem}.ipynb", root),
            "json": _link(latest_dir / study.main_json, root),
            "record": _link(latest_dir / RUN_RECORD, root),
            "figures": [
                {"src": _link(fig, root), "name": fig.stem.replace("_", " ")} for fig in figures
            ],
        }
    failed_runs = sorted((root / "failed").glob(f"{study.name}-*"))
    for folder in reversed(failed_runs):
        record = _read_record(folder)
        if not record or record.get("study") != study.name:
            continue
        if latest is None or record.get("started_at", "") >= latest.get("finished_at", ""):
            entry["failed"] = {
                "folder": _link(folder, root),
                "started_at": record.get("started_at", ""),
                "error": record.get("error", ""),
            }
        break
    return entry


def write_index(registry: dict[str, Study] | None = None) -> Path:
    """Render ``reports/index.html``: each case study's latest run, headline numbers and links.

    Runs are found in each study's default run folder and in the folders of
    runs made with ``--output-dir`` (remembered in ``reports/.runs.json``); a
    failed attempt newer than the latest good run is flagged with a link to its
    folder.
    """
    import jinja2

    registry = STUDIES if registry is None else registry
    root = reports_dir()
    root.mkdir(parents=True, exist_ok=True)
    try:
        runs = json.loads((root / _RUNS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        runs = {}
    entries = [_study_entry(study, root, runs) for study in registry.values()]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("index.html.j2").render(entries=entries, generated_at=_iso(_now()))
    path = root / "index.html"
    write_text_atomic(path, html)
    return path

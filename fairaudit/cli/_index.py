"""The report index: ``reports/index.html`` with each case study's latest run."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

from fairaudit._io import write_text_atomic
from fairaudit.cli._execute import (
    _RUNS_FILE,
    RUN_RECORD,
    TEMPLATES,
    _headline,
    _iso,
    _now,
    default_run_dir,
    reports_dir,
)
from fairaudit.cli._parameters import OUTPUT_PARAMETER, notebook_parameters
from fairaudit.cli._studies import STUDIES, Study

__all__ = ["format_value", "write_index"]


def _read_record(folder: Path) -> dict | None:
    try:
        record = json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def format_value(value) -> str:
    """A value as the index and the command show it: ``0.123``, ``12,345``, ``yes``, ``n/a``."""
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
        return ", ".join(format_value(v) for v in value)
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
            "overrides": {k: format_value(v) for k, v in latest.get("overrides", {}).items()},
            "parameters": {
                k: format_value(v)
                for k, v in latest.get("parameters", {}).items()
                if k != OUTPUT_PARAMETER
            },
            "headline": {
                str(k): format_value(v)
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

    Parameters
    ----------
    registry : dict, optional
        Default: the built-in case studies.

    Returns
    -------
    pathlib.Path
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
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("index.html.j2").render(entries=entries, generated_at=_iso(_now()))
    path = root / "index.html"
    write_text_atomic(path, html)
    return path

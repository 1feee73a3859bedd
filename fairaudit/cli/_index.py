"""The report index, ``reports/index.html``: each case study's latest run and its headline.

Runs are found in each study's default run folder and in the folders of runs
made with ``--output-dir``, which ``reports/.runs.json`` remembers (a file that
is not a mapping of study names to lists of folders is ignored, not trusted).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from fairaudit._io import write_json_atomic, write_text_atomic
from fairaudit.cli._notebook import TEMPLATES
from fairaudit.cli._studies import STUDIES, Study, reports_dir

__all__ = ["RUNS_FILE", "RUN_RECORD", "format_value", "headline", "iso", "remember_run",
           "write_index"]  # fmt: skip

RUN_RECORD, RUNS_FILE = "run.json", ".runs.json"


def iso(moment: datetime | None = None) -> str:
    """A UTC time as ``2026-03-02T10:00:00Z`` (now by default)."""
    moment = moment or datetime.now(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def headline(main_json: Path) -> dict | None:
    """The ``"headline"`` dict of a study's main JSON artefact, if it has one."""
    data = _read_json(main_json)
    found = data.get("headline") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else None


def _runs() -> dict[str, list[str]]:
    """``reports/.runs.json``: study name to the folders of its runs (empty if unusable)."""
    runs = _read_json(reports_dir() / RUNS_FILE)
    if not isinstance(runs, dict):
        return {}
    return {k: [p for p in v if isinstance(p, str)] for k, v in runs.items() if isinstance(v, list)}


def remember_run(study: str, run_dir: Path) -> None:
    """Note where a study's latest run went, so the index finds runs made with --output-dir."""
    runs = _runs()
    runs[study] = [p for p in runs.get(study, []) if p != str(run_dir)] + [str(run_dir)]
    write_json_atomic(reports_dir() / RUNS_FILE, runs)


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


def _latest(study: Study, folders) -> tuple[dict | None, Path | None]:
    best = (None, None)
    for folder in folders:
        record = _read_json(folder / RUN_RECORD)
        if (
            isinstance(record, dict)
            and record.get("study") == study.name
            and (
                record.get("status") == "ok"
                and (
                    best[0] is None
                    or record.get("finished_at", "") > best[0].get("finished_at", "")
                )
            )
        ):
            best = (record, folder)
    return best


def _study_entry(study: Study, root: Path, runs: dict) -> dict:
    folders = [Path(p) for p in runs.get(study.name, [])]
    try:
        folders.append(study.run_dir)
    except Exception:  # noqa: BLE001 - a study without a declaration just has no default run
        pass
    latest, folder = _latest(study, folders)
    entry = {"study": study, "available": study.available, "run": None, "failed": None}
    if latest is not None:
        stem = Path(latest.get("notebook", study.notebook)).stem
        entry["run"] = {
            "folder": _link(folder, root),
            "finished_at": latest.get("finished_at", ""),
            "duration_s": latest.get("duration_s"),
            "overrides": {k: format_value(v) for k, v in latest.get("overrides", {}).items()},
            "parameters": {k: format_value(v) for k, v in latest.get("parameters", {}).items()
                           if k != "output_dir"},  # fmt: skip
            "headline": {str(k): format_value(v)
                         for k, v in (headline(folder / study.main_json) or {}).items()},
            "html": _link(folder / f"{stem}.html", root),
            "notebook": _link(folder / f"{stem}.ipynb", root),
            "json": _link(folder / study.main_json, root),
            "record": _link(folder / RUN_RECORD, root),
            "figures": [{"src": _link(fig, root), "name": fig.stem.replace("_", " ")}
                        for fig in sorted(folder.glob("*.png"))],
        }  # fmt: skip
    for failed in sorted((root / "failed").glob(f"{study.name}-*"), reverse=True):
        record = _read_json(failed / RUN_RECORD)
        if not isinstance(record, dict) or record.get("study") != study.name:
            continue
        if latest is None or record.get("started_at", "") >= latest.get("finished_at", ""):
            entry["failed"] = {"folder": _link(failed, root),
                               "started_at": record.get("started_at", ""),
                               "error": record.get("error", "")}  # fmt: skip
        break
    return entry


def write_index(registry: dict[str, Study] | None = None) -> Path:
    """Render ``reports/index.html``: each case study's latest run, headline numbers and links.

    A failed attempt newer than the latest good run is flagged with a link to
    its folder.

    Returns
    -------
    pathlib.Path
    """
    import jinja2

    root = reports_dir()
    root.mkdir(parents=True, exist_ok=True)
    runs = _runs()
    entries = [
        _study_entry(s, root, runs) for s in (STUDIES if registry is None else registry).values()
    ]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)  # fmt: skip
    html = env.get_template("index.html.j2").render(entries=entries, generated_at=iso())
    return write_text_atomic(root / "index.html", html)

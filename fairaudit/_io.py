"""Paths, safe file writes and run folders: the leaf every other module builds on.

Nothing here imports from the package. Writes go through a temporary file beside the
target and a rename, so a reader never sees half a file. A run folder is one a run
published (its :data:`RUN_MARKER` lists the files); a run replaces only such a folder,
a new one or an empty one, in one swap (:func:`replace_dir`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

__all__ = [
    "OUTPUT_ROOT_ENV", "RUN_DIR_ENV", "RUN_MARKER", "RUN_STAGING_ENV", "UnsafeTargetError",
    "WORK_MARKER", "check_run_target", "clean_leftovers", "clean_scratch", "library_versions",
    "private_workdir", "project_root", "replace_dir", "resolve_path", "scratch_dir", "sha256_bytes",
    "sha256_file", "to_jsonable", "write_bytes_atomic", "write_json_atomic", "write_text_atomic",
]  # fmt: skip

OUTPUT_ROOT_ENV = "FAIRAUDIT_OUTPUT_ROOT"
#: Set by ``fairaudit run`` for its kernel: the run folder, and the folder the run is staged
#: in. :class:`fairaudit.reporting.RunArtefacts` then writes there and the command publishes.
RUN_DIR_ENV, RUN_STAGING_ENV = "FAIRAUDIT_RUN_DIR", "FAIRAUDIT_RUN_STAGING"
#: The file that marks a folder as one a run published (and a later run may replace).
RUN_MARKER = ".fairaudit-run"
#: The file inside a run's private work folder: only a folder holding it is cleaned up.
WORK_MARKER = ".fairaudit-work"

#: Folders of the project that never hold a run folder (``reports/`` itself may not be one).
_PROJECT_FOLDERS = ("fairaudit", "notebooks", "data", "tests", "benchmarks", ".git", ".venv",
                    "reports/failed")  # fmt: skip


class UnsafeTargetError(ValueError):
    """A run was pointed at a folder it did not create, or at one it cannot write."""


def project_root() -> Path:
    """The repository root: the folder holding ``pyproject.toml`` and the ``fairaudit`` package.

    Looked up from the package's own location (editable install), then from the current
    directory upwards; the current directory if neither finds it.
    """
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "fairaudit").is_dir():
                return folder
    return Path.cwd().resolve()


def resolve_path(path: str | os.PathLike) -> Path:
    """Absolute paths as given, relative ones against the project root.

    Notebooks run with different working directories (papermill from the root, nbval from
    ``notebooks/``); resolving here makes ``"reports/credit_loan"`` mean one folder.
    ``FAIRAUDIT_OUTPUT_ROOT`` replaces the project root (so tests never touch a user's reports).
    """
    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    base = os.environ.get(OUTPUT_ROOT_ENV)
    return (Path(base).expanduser() if base else project_root()) / path


def to_jsonable(obj):
    """Convert numpy / pandas values (and NaN) into plain JSON types; NaN becomes ``None``.

    numpy and pandas are looked up only if already imported: an object of
    theirs cannot exist otherwise, and the command starts without them.
    """
    np, pd = sys.modules.get("numpy"), sys.modules.get("pandas")
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [to_jsonable(v) for v in obj]
    if pd is not None:
        if isinstance(obj, pd.DataFrame):
            return to_jsonable(obj.reset_index().to_dict(orient="records"))
        if isinstance(obj, pd.Series):
            return to_jsonable(obj.to_dict())
        if obj is pd.NA or obj is pd.NaT:
            return None
    if np is not None:
        if isinstance(obj, np.ndarray):
            return to_jsonable(obj.tolist())
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            obj = float(obj)
        if isinstance(obj, np.random.Generator | np.random.RandomState):
            return type(obj).__name__  # a seed's state is not worth recording
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, datetime | date):  # pandas' Timestamp is a datetime
        return obj.isoformat()
    return str(obj)


_LIBRARIES = ("fairaudit", "fairlearn", "scikit-learn", "pandas", "numpy", "scipy",
              "matplotlib", "seaborn", "duckdb", "skops", "papermill")  # fmt: skip


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries whose behaviour shapes the results (none imported)."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 hex digest of ``data`` (the one checksum used across the package)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file's contents, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` via a temporary file beside ``path`` and a rename (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        _shared_mode(tmp, 0o666)  # mkstemp's files are owner-only; artefacts are shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, obj) -> Path:
    """Write ``obj`` as indented JSON atomically; numpy/pandas values converted, NaN as null."""
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False)
    return write_text_atomic(path, text + "\n")


def _shared_mode(path: str | os.PathLike, mode: int) -> None:
    """Give what ``mkstemp``/``mkdtemp`` made owner-only the usual ``mode & ~umask``."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:38] + "..." + text[-38:]


def check_run_target(path: str | os.PathLike, study: str | None = None) -> Path:
    """Resolve a run folder (from the project root) and refuse one a run must not replace.

    A run replaces its whole folder, so the folder must be new, empty, or one a run published
    (it holds :data:`RUN_MARKER`). Refused: a folder holding the project, the home or the
    current folder; ``reports/`` and anything inside the package, ``notebooks/``, ``data/``,
    ``.git``, ``reports/failed``...; a folder inside another run's folder, or holding one; a
    symbolic link; a file; a non-empty folder without the marker; a run of another ``study``
    or with files its run did not publish (the marker lists them); a ``.<name>.previous``
    that no run made; a place that cannot be written. The parent is created if needed.

    Raises
    ------
    UnsafeTargetError
        One line naming the folder, what is wrong and what to do.
    """
    if str(path).strip() == "":
        raise UnsafeTargetError("The run folder is empty; name one such as reports/my_run.")
    try:
        return _checked(Path(os.path.abspath(resolve_path(path))), study)
    except OSError as exc:  # a name too long, a loop of links, no permission, ...
        raise UnsafeTargetError(
            f"Cannot use {_short(str(path))} as a run folder: {exc.strerror or exc}. Choose "
            "another folder."
        ) from None


def _checked(target: Path, study: str | None = None) -> Path:
    base = resolve_path(".")  # the project root, or the output root that stands in for it
    roots = {project_root(), base.resolve(), Path.cwd().resolve(), Path.home().resolve()}
    real, refuse = target.resolve(), f"Refusing to write a run into {_short(str(target))}"
    owned = [r / name for r in {project_root(), base} for name in _PROJECT_FOLDERS]
    if (
        any(_is_within(r, real) for r in roots)
        or any(_is_within(p, f) for p in (target, real) for f in owned)
        or {target, real} & {r / "reports" for r in (project_root(), base)}
    ):
        raise UnsafeTargetError(
            f"{refuse}: it holds the project, your home or the current folder, or is one of the "
            f"project's own folders. Name a new folder such as {base / 'reports' / 'my_run'}."
        )
    if target.is_symlink():
        raise UnsafeTargetError(
            f"{refuse}: it is a symbolic link, and a run replaces its folder. Name a real folder."
        )
    if target.exists() and not target.is_dir():
        raise UnsafeTargetError(f"{refuse}: it is a file. Name a new folder instead.")
    outer = next((p for p in target.parents if (p / RUN_MARKER).is_file()), None)
    if outer is not None:
        raise UnsafeTargetError(
            f"{refuse}: it is inside the run folder {outer}, which the next run of that study "
            "replaces whole. Name a folder outside it."
        )
    if target.is_dir() and not (target / RUN_MARKER).is_file() and any(target.iterdir()):
        raise UnsafeTargetError(
            f"Refusing to replace {target}: it is not empty and no run created it (a run "
            "replaces its whole folder). Name a new folder, or empty this one yourself."
        )
    if (target / RUN_MARKER).is_file():
        _check_published(target, study)
    aside = target.parent / f".{target.name}.previous"
    if (aside.exists() or aside.is_symlink()) and not (aside / RUN_MARKER).is_file():
        raise UnsafeTargetError(
            f"Refusing to run into {target}: {aside.name} beside it was not made by a run, and "
            "a run uses that name while it swaps. Rename or move it, or choose another folder."
        )
    inner = next((m.parent for m in target.glob(f"*/**/{RUN_MARKER}")), None)
    if inner is not None:
        raise UnsafeTargetError(
            f"Refusing to replace {target}: it holds the run folder {inner}, which would be "
            "deleted with it. Move that run out first."
        )
    existing = next(p for p in target.parents if p.exists())
    if not existing.is_dir():
        raise UnsafeTargetError(
            f"Cannot create {target}: {existing} is a file, not a folder. Choose another place."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rmdir(tempfile.mkdtemp(prefix=".fairaudit-probe-", dir=target.parent))  # writable?
    return target


def _files(folder: Path) -> list[str]:
    """Every file under ``folder`` (links not followed), relative, without the run marker."""
    found = [
        (Path(top) / name).relative_to(folder).as_posix()
        for top, dirs, names in os.walk(folder)
        for name in names + [d for d in dirs if (Path(top) / d).is_symlink()]
    ]
    return sorted(set(found) - {RUN_MARKER})


def _read_dict(path: Path) -> dict:
    try:
        found = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _check_published(target: Path, study: str | None) -> None:
    """Refuse a run folder of another study, or holding files its marker does not list."""
    manifest, record = (_read_dict(target / name) for name in (RUN_MARKER, "run.json"))
    made_by = manifest.get("study") or record.get("study")  # older markers are plain text
    if study and made_by and made_by != study:
        raise UnsafeTargetError(
            f"Refusing to replace {target}: it holds a run of {made_by}, not of {study}. Choose "
            "another --output-dir, or move that run away first."
        )
    published = manifest.get("files") if isinstance(manifest.get("files"), list) else None
    extra = [] if published is None else sorted(set(_files(target)) - set(map(str, published)))
    if extra:
        more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
        raise UnsafeTargetError(
            f"Refusing to replace {target}: it holds files its run did not publish "
            f"({', '.join(extra[:3])}{more}). Move them out, or choose another --output-dir."
        )


def private_workdir(parent: str | os.PathLike, name: str) -> Path:
    """A fresh hidden folder ``.<name>.run-<pid>-*`` beside a run folder (same file system).

    The process id in the name lets :func:`clean_leftovers` tell the work of a killed run
    from that of a run still going; :data:`WORK_MARKER` inside proves a run made it.
    """
    Path(parent).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.run-{os.getpid()}-", dir=parent))
    (work / WORK_MARKER).write_text("A fairaudit run's work folder; removed when it ends.\n")
    return work


def _dead(pid: str) -> bool:
    """Whether the process ``pid`` (digits from a folder name) has gone."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # someone else's live process, or an out-of-range number
        return False
    return False


def clean_leftovers(parent: str | os.PathLike, name: str) -> list[Path]:
    """Remove the work folders of killed runs of ``name``, finish a half-done swap; list them.

    A swap cut between its renames leaves the previous run (marker inside) at ``.<name>.previous``
    and nothing at ``<name>``: it is put back (without the marker it is a user's: left alone).
    Work folders (:func:`private_workdir`, marker inside) of processes that are gone are deleted.
    """
    parent, done = Path(parent), []
    aside, target = parent / f".{name}.previous", parent / name
    if (aside / RUN_MARKER).is_file() and not aside.is_symlink() and not os.path.lexists(target):
        os.replace(aside, target)
        done.append(target)
    for leftover in parent.glob(f".{name}.*-*-*") if parent.is_dir() else ():
        kind, _, rest = leftover.name[len(name) + 2 :].partition("-")
        ours = (leftover / WORK_MARKER).is_file() and not leftover.is_symlink()
        if ours and kind in {"run", "staging"} and _dead(rest.partition("-")[0]):
            shutil.rmtree(leftover, ignore_errors=True)
            done.append(leftover)
    return done


def replace_dir(
    new: str | os.PathLike, target: str | os.PathLike, study: str | None = None
) -> Path:
    """Swap the finished folder ``new`` in as ``target`` (same file system); return ``target``.

    ``target`` must pass :func:`check_run_target` (else :class:`UnsafeTargetError`);
    ``new`` gets :data:`RUN_MARKER` (JSON: the ``study`` and the files published) and the
    umask's permissions. The previous folder is renamed aside and deleted only once ``new``
    is in place, so ``target`` always holds one whole run; a swap killed half-way is
    finished by the next one (:func:`clean_leftovers`).
    """
    new, target = Path(new), check_run_target(target, study)
    clean_leftovers(target.parent, target.name)
    (new / WORK_MARKER).unlink(missing_ok=True)
    manifest = {"note": "Published by a fairaudit run.", "study": study, "files": _files(new)}
    (new / RUN_MARKER).write_text(json.dumps(manifest, indent=1) + "\n")
    _shared_mode(new, 0o777)
    aside = target.parent / f".{target.name}.previous"
    shutil.rmtree(aside, ignore_errors=True)  # checked above: a stale one of a run, if any
    if target.exists() and not (target / RUN_MARKER).is_file():
        target.rmdir()  # an empty folder (checked above): nothing to keep aside
    if target.exists():
        os.replace(target, aside)
    try:
        os.replace(new, target)
    except BaseException:
        if aside.exists() and not target.exists():
            os.replace(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)
    return target


def scratch_dir() -> tempfile.TemporaryDirectory:
    """A temporary folder for a run's large scratch files, which no killed run leaves behind.

    ``$TMPDIR/fairaudit-scratch-<pid>-*``: removed by ``cleanup()`` or when the process ends
    and, if it was killed, by :func:`clean_scratch` (every new scratch folder, every run).
    """
    clean_scratch()
    return tempfile.TemporaryDirectory(prefix=f"fairaudit-scratch-{os.getpid()}-")


def clean_scratch() -> list[Path]:
    """Remove the scratch folders (:func:`scratch_dir`) of processes that are gone."""
    gone = [old for old in Path(tempfile.gettempdir()).glob("fairaudit-scratch-*-*")
            if _dead(old.name.split("-")[2])]  # fmt: skip
    for old in gone:
        shutil.rmtree(old, ignore_errors=True)
    return gone

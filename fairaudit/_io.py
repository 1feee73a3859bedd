"""Paths and safe file writes: the leaf every other module builds on.

Nothing here imports from the package. Writes go through a temporary file
beside the target and a rename, so a reader never sees half a file, and a
finished folder replaces its predecessor in one swap (:func:`replace_dir`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

__all__ = [
    "OUTPUT_ROOT_ENV",
    "project_root",
    "resolve_path",
    "sha256_bytes",
    "sha256_file",
    "to_jsonable",
    "write_bytes_atomic",
    "write_text_atomic",
    "write_json_atomic",
    "publish_file",
    "replace_dir",
    "RUN_MARKER",
    "UnsafeTargetError",
    "check_run_target",
    "private_workdir",
    "clean_leftovers",
]

OUTPUT_ROOT_ENV = "FAIRAUDIT_OUTPUT_ROOT"

#: The file that marks a folder as one a run published (and a later run may replace).
RUN_MARKER = ".fairaudit-run"

#: Top-level folders of the project that a run never replaces.
_PROJECT_FOLDERS = ("fairaudit", "notebooks", "reports", "data", "tests", "benchmarks", ".git")


class UnsafeTargetError(ValueError):
    """A run was pointed at a folder it did not create, or at one it cannot write."""


def project_root() -> Path:
    """The repository root: the folder holding ``pyproject.toml`` and the ``fairaudit`` package.

    Looked up from the package's own location (editable install), then from the
    current directory upwards; the current directory if neither finds it.
    """
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "fairaudit").is_dir():
                return folder
    return Path.cwd().resolve()


def resolve_path(path: str | os.PathLike) -> Path:
    """Resolve ``path``: absolute paths as given, relative ones against the project root.

    Notebooks are executed with different working directories (papermill from
    the root, nbval from ``notebooks/``); resolving here makes
    ``output_dir="reports/credit_loan"`` mean the same folder in every case.
    The environment variable ``FAIRAUDIT_OUTPUT_ROOT`` replaces the project
    root as the base (the test suite uses it so that test runs never overwrite
    the reports a user made).

    Parameters
    ----------
    path : path

    Returns
    -------
    pathlib.Path
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
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


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
        publish_file(tmp, path)
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


def publish_file(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Rename a finished temporary file onto ``path`` with ordinary permissions.

    ``tempfile.mkstemp`` creates files readable by their owner only; artefacts
    are meant to be shared, so the usual ``0o666 & ~umask`` mode is restored
    before the atomic rename.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_run_target(path: str | os.PathLike) -> Path:
    """Resolve a run folder and refuse one that a run must not replace.

    A run publishes by replacing its whole folder, so the folder must be new,
    empty, or one an earlier run published (it holds :data:`RUN_MARKER`).
    Refused: the file-system root, the home folder, the project root, the
    current directory and any folder holding them; the project's own
    top-level folders (``reports/`` itself, ``notebooks/``, the package, ...);
    a file; a non-empty folder without the marker; a place that cannot be
    written. The parent folder is created if needed.

    Parameters
    ----------
    path : path
        Relative paths resolve against the project root (:func:`resolve_path`).

    Returns
    -------
    pathlib.Path
        The resolved folder.

    Raises
    ------
    UnsafeTargetError
        One line naming the folder, what is wrong and what to do.
    """
    if str(path).strip() == "":
        raise UnsafeTargetError(
            "The run folder is empty; name a new folder such as reports/my_run."
        )
    target = Path(os.path.abspath(resolve_path(path)))
    base = resolve_path(".")  # the project root, or the output root that stands in for it
    roots = {project_root(), base.resolve(), Path.cwd().resolve(), Path.home().resolve()}
    protected = {Path(target.anchor)} | {
        r / name for r in {project_root(), base} for name in _PROJECT_FOLDERS
    }
    real = target.resolve()
    if any(_is_within(r, real) for r in roots) or real in protected or target in protected:
        raise UnsafeTargetError(
            f"Refusing to write a run into {target}: it holds the project, your home or the "
            "current folder, or is one of the project's own folders. Name a new folder such as "
            f"{base / 'reports' / 'my_run'}."
        )
    if target.exists() and not target.is_dir():
        raise UnsafeTargetError(
            f"Refusing to write a run into {target}: it is a file. Name a new folder instead."
        )
    if target.is_dir() and not (target / RUN_MARKER).is_file():
        try:
            empty = not any(target.iterdir())
        except OSError as exc:
            raise UnsafeTargetError(f"Cannot read {target}: {exc.strerror}.") from None
        if not empty:
            raise UnsafeTargetError(
                f"Refusing to replace {target}: it is not empty and no run created it (a run "
                "replaces its whole folder). Name a new folder, or empty this one yourself."
            )
    existing = next(p for p in target.parents if p.exists())
    if not existing.is_dir():
        raise UnsafeTargetError(
            f"Cannot create {target}: {existing} is a file, not a folder. Choose another place."
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UnsafeTargetError(
            f"Cannot create {target.parent}: {exc.strerror}. Choose a folder you can write."
        ) from None
    try:  # the run's work folders are created there: try it for real
        os.rmdir(tempfile.mkdtemp(prefix=".fairaudit-probe-", dir=target.parent))
    except OSError as exc:
        raise UnsafeTargetError(
            f"Cannot write into {target.parent}: {exc.strerror}. Choose a folder you can write."
        ) from None
    return target


def private_workdir(parent: str | os.PathLike, name: str, kind: str) -> Path:
    """A fresh hidden folder ``.<name>.<kind>-<pid>-*`` beside a run folder (same file system).

    The process id in the name lets :func:`clean_leftovers` tell the work of a
    killed run from that of a run still going.
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{name}.{kind}-{os.getpid()}-", dir=parent))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


def clean_leftovers(parent: str | os.PathLike, name: str) -> list[Path]:
    """Remove the work folders of killed runs of ``name`` and finish a half-done swap.

    A folder swap interrupted between its two renames leaves the previous run
    at ``.<name>.previous`` and nothing at ``<name>``: it is put back. Work
    folders (:func:`private_workdir`) whose process is gone are deleted;
    those of live processes are left alone.

    Parameters
    ----------
    parent : path
        The folder holding the run folder.
    name : str
        The run folder's name.

    Returns
    -------
    list of pathlib.Path
        What was removed or restored.
    """
    parent = Path(parent)
    done = []
    aside, target = parent / f".{name}.previous", parent / name
    if aside.is_dir() and not target.exists():
        os.replace(aside, target)
        done.append(target)
    if not parent.is_dir():
        return done
    for leftover in parent.glob(f".{name}.*-*-*"):
        kind, _, rest = leftover.name[len(name) + 2 :].partition("-")
        pid = rest.partition("-")[0]
        if kind in {"run", "staging"} and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)
            done.append(leftover)
    return done


def replace_dir(new: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Swap the finished folder ``new`` into ``target``, replacing what was there.

    ``target`` must pass :func:`check_run_target`; ``new`` is marked as a run
    folder (:data:`RUN_MARKER`) before the swap. The previous folder is
    renamed aside first and deleted only after ``new`` is in place; if that
    rename fails, the previous folder is put back, so ``target`` always holds
    one complete run, and a swap killed half-way is finished by the next one
    (:func:`clean_leftovers`). Both folders must be on the same file system
    (renames, not copies).

    Parameters
    ----------
    new : path
        The finished folder.
    target : path
        Where it is published.

    Returns
    -------
    pathlib.Path
        ``target``.

    Raises
    ------
    UnsafeTargetError
        If ``target`` is not a folder a run may replace.
    """
    new, target = Path(new), check_run_target(target)
    clean_leftovers(target.parent, target.name)
    (new / RUN_MARKER).write_text(
        "This folder was published by a fairaudit run; the next run may replace it.\n",
        encoding="utf-8",
    )
    aside = target.parent / f".{target.name}.previous"
    if aside.exists():
        shutil.rmtree(aside)
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

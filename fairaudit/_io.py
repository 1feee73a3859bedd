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
]

OUTPUT_ROOT_ENV = "FAIRAUDIT_OUTPUT_ROOT"


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


def replace_dir(new: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Swap the finished folder ``new`` into ``target``, replacing what was there.

    The previous folder is renamed aside first and deleted only after ``new``
    is in place; if that rename fails, the previous folder is put back, so
    ``target`` always holds one complete run. Both folders must be on the same
    file system (renames, not copies).
    """
    new, target = Path(new), Path(target)
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

"""Creating a payload log's file: its schema from an example frame, never losing a file.

The new log is built beside the target and renamed onto it only when complete,
so an invalid schema (columns "a" and "A" clash in SQL) fails before anything
is replaced; a file that is not a payload log, or a log another process holds,
is never replaced.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pandas as pd

from fairaudit.monitor._config import PAYLOAD_COLUMNS

TABLE, META_TABLE = "payload", "payload_columns"
_SQL_TYPES = [
    (pd.api.types.is_bool_dtype, "BOOLEAN"),
    (pd.api.types.is_integer_dtype, "BIGINT"),
    (pd.api.types.is_float_dtype, "DOUBLE"),
    (pd.api.types.is_datetime64_any_dtype, "TIMESTAMP"),
]


def connect(path, **kwargs) -> duckdb.DuckDBPyConnection:
    """A connection without DuckDB's progress bar: in a notebook with ipywidgets it would
    draw one for a slow query, so outputs would depend on the machine's speed."""
    con = duckdb.connect(str(path), **kwargs)
    con.execute("SET enable_progress_bar = false")
    return con


def quote(name: str) -> str:
    """Quote an SQL identifier (column names come from user data)."""
    return '"' + str(name).replace('"', '""') + '"'


def create_log_file(path: Path, example, attributes, prediction_type, overwrite) -> None:
    """Write an empty payload log at ``path`` (see :meth:`PayloadLog.create`)."""
    if not isinstance(example, pd.DataFrame):
        raise TypeError(f"example must be a pandas DataFrame of inputs, got {type(example)}.")
    clash = [c for c in example.columns if c in PAYLOAD_COLUMNS]
    if clash:
        raise ValueError(
            f"Columns {clash} clash with the payload log's own columns {PAYLOAD_COLUMNS}; "
            "rename them before logging."
        )
    attributes = [attributes] if isinstance(attributes, str) else list(attributes)
    unknown = [a for a in attributes if a not in example.columns]
    if unknown:
        raise ValueError(f"attributes {unknown} are not columns of example.")
    types = {"integer": "BIGINT", "string": "VARCHAR"}
    if prediction_type not in types:
        raise ValueError(
            f"prediction_type must be one of {sorted(types)}, got {prediction_type!r}."
        )
    path = Path(path)
    if path.exists():
        if not overwrite:
            raise FileExistsError(
                f"{path} exists; pass overwrite=True to replace it, or open it with "
                "PayloadLog(path) to keep appending."
            )
        _check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns, meta_rows = [], []
    for position, name in enumerate(example.columns):
        dtype, categories = example[name].dtype, None
        if isinstance(dtype, pd.CategoricalDtype):
            categories = json.dumps([str(c) for c in dtype.categories])
        sql = next((t for test, t in _SQL_TYPES if test(dtype) and not categories), "VARCHAR")
        role = "attribute" if name in attributes else "feature"
        columns.append(f"{quote(name)} {sql}")
        meta_rows.append((position, str(name), role, str(dtype), categories))
    pred = types[prediction_type]
    ddl = ",\n  ".join(
        ["request_id BIGINT NOT NULL", "scoring_timestamp TIMESTAMP NOT NULL"]
        + ["model_version VARCHAR"]
        + columns
        + [f"prediction {pred} NOT NULL", "probability DOUBLE", f"label {pred}"]
    )
    # Built beside the target and renamed onto it: an invalid schema (columns "a" and
    # "A" clash in SQL) fails here, and the old log is replaced only by a complete one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        con = connect(tmp)
        try:
            con.execute(f"CREATE TABLE {TABLE} (\n  {ddl}\n)")
            con.execute(
                f"CREATE TABLE {META_TABLE} (position INTEGER, name VARCHAR, role VARCHAR, "
                "dtype VARCHAR, categories VARCHAR)"
            )
            con.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?, ?, ?, ?)", meta_rows)
        finally:
            con.close()
        if path.exists() and not overwrite:  # created by someone else meanwhile
            raise FileExistsError(f"{path} was created meanwhile; it is left as it is.")
        Path(str(path) + ".wal").unlink(missing_ok=True)
        os.replace(tmp, path)
    except duckdb.Error as exc:
        raise ValueError(
            f"Cannot create a payload log with these columns: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)


def _check_replaceable(path: Path) -> None:
    """Refuse to replace a file that is not a payload log, or a log another process holds."""
    kept = "it is left as it is. Choose another path."
    try:
        con = connect(path, read_only=True)
    except duckdb.IOException as exc:
        held = "lock" in str(exc).lower()
        cause = "is in use by another process" if held else "is not a payload log (not DuckDB)"
        raise FileExistsError(f"{path} {cause}; {kept}") from None
    except duckdb.Error as exc:
        cause = str(exc).splitlines()[0]
        raise FileExistsError(
            f"{path} cannot be checked to be a payload log ({cause}); {kept}"
        ) from None
    try:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()
    if not {TABLE, META_TABLE} <= tables:
        raise FileExistsError(f"{path} is a DuckDB database but not a payload log; {kept}")

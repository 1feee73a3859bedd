"""The payload log: a DuckDB file of scored requests, with each logged column's role.

The payload log is a DuckDB database file (:class:`PayloadLog`), so a log much
larger than memory can be monitored: DuckDB counts per window (see
:class:`~fairaudit.monitor.TableLog`) and only the counts reach Python.

Payload schema
--------------
Table ``payload``, one row per scoring request:

=====================  ===========  ==============================================
column                 type         meaning
=====================  ===========  ==============================================
``request_id``         BIGINT       unique id of the scoring request
``scoring_timestamp``  TIMESTAMP    when the request was scored (UTC, naive)
``model_version``      VARCHAR      version of the model that scored it
*feature columns*      as logged    the model's inputs, exactly as scored
*attribute columns*    as logged    fairness attributes that are not model inputs
``prediction``         BIGINT or    the decision the model returned (a label:
                       VARCHAR      whole numbers in an integer log)
``probability``        DOUBLE       the model's probability of its positive class
                                    (nullable)
``label``              as           feedback: the true outcome once known
                       prediction   (nullable)
=====================  ===========  ==============================================

Categorical columns are stored as ``VARCHAR`` (a production log must accept
values never seen in training); table ``payload_columns`` records each logged
column's role (``feature`` or ``attribute``), pandas dtype and categories, so
:meth:`PayloadLog.to_pandas` returns frames the deployed pipeline can score.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from fairaudit.monitor._config import PAYLOAD_COLUMNS, as_timestamp
from fairaudit.monitor._tables import TableLog

_META_TABLE = "payload_columns"
_TABLE = "payload"


def _connect(path, **kwargs) -> duckdb.DuckDBPyConnection:
    """A connection without DuckDB's progress bar: in a notebook with ipywidgets it would
    draw one for a slow query, so outputs would depend on the machine's speed."""
    con = duckdb.connect(str(path), **kwargs)
    con.execute("SET enable_progress_bar = false")
    return con


def _quote(name: str) -> str:
    """Quote an SQL identifier (column names come from user data)."""
    return '"' + str(name).replace('"', '""') + '"'


class PayloadLog:
    """A payload log of scoring requests in a DuckDB database file.

    Create one with :meth:`create` (it fixes the schema from an example frame
    of model inputs), append scored requests with :meth:`append`, add feedback
    labels with :meth:`add_feedback`, and open an existing file with
    ``PayloadLog(path)``. The object is a context manager that closes the
    database connection.

    Parameters
    ----------
    path : str or path-like
        The DuckDB file.
    read_only : bool, default=False
        Open without write access (several readers may then share the file).

    Attributes
    ----------
    path : pathlib.Path
    connection : duckdb.DuckDBPyConnection
        The open connection, for SQL of your own against table ``payload``.
    features : list of str
        Columns the model takes as input, in the order it was trained on.
    attributes : list of str
        Logged columns that are not model inputs (e.g. a derived age band).

    Examples
    --------
    >>> log = PayloadLog.create("data/monitoring/payload.duckdb", X_train)  # doctest: +SKIP
    >>> log.append(X_batch, predictions, timestamps=ts, probabilities=p)  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"No payload log at {self.path}; create one with PayloadLog.create(path, X)."
            )
        self.connection = _connect(self.path, read_only=read_only)
        tables = {row[0] for row in self.connection.execute("SHOW TABLES").fetchall()}
        if not {_TABLE, _META_TABLE} <= tables:
            self.connection.close()
            raise ValueError(
                f"{self.path} is a DuckDB file but not a payload log (it lacks tables "
                f"{_TABLE!r} and {_META_TABLE!r}); create one with PayloadLog.create(path, X)."
            )
        meta = self.connection.execute(
            f"SELECT name, role, dtype, categories FROM {_META_TABLE} ORDER BY position"
        ).fetchall()
        self._meta = {
            name: {"role": role, "dtype": dtype, "categories": json.loads(cats) if cats else None}
            for name, role, dtype, cats in meta
        }
        self.features = [n for n, m in self._meta.items() if m["role"] == "feature"]
        self.attributes = [n for n, m in self._meta.items() if m["role"] == "attribute"]
        kinds = {r[0]: r[1] for r in self.connection.execute(f"DESCRIBE {_TABLE}").fetchall()}
        self._integer_labels = kinds["prediction"] == "BIGINT"

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        example: pd.DataFrame,
        *,
        attributes=(),
        prediction_type: str = "integer",
        overwrite: bool = False,
    ) -> PayloadLog:
        """Create an empty payload log whose schema follows ``example``.

        Parameters
        ----------
        path : str or path-like
            The DuckDB file to create (its folder is created too).
        example : pandas.DataFrame
            Model inputs with the dtypes the model was trained on (the training
            frame will do; only dtypes and categories are read). Its columns
            become the feature columns, in order.
        attributes : sequence of str
            Columns of ``example`` that are fairness attributes but *not* model
            inputs (e.g. ``AGE_BAND`` when the model uses ``AGE``).
        prediction_type : {"integer", "string"}, default="integer"
            SQL type of ``prediction`` and ``label``.
        overwrite : bool, default=False
            Replace an existing payload log; otherwise an existing file is an
            error, so a log is never lost by accident. Even with ``overwrite``,
            a file that is not a payload log, or a log another process holds,
            is refused and left as it is; the new log is built beside it and
            renamed onto it only when complete.

        Returns
        -------
        PayloadLog

        Raises
        ------
        FileExistsError
            If ``path`` exists and may not be replaced.
        ValueError
            If the columns cannot form a log (clashing names, even by case).
        """
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
            dtype = example[name].dtype
            if isinstance(dtype, pd.CategoricalDtype):
                sql, categories = "VARCHAR", json.dumps([str(c) for c in dtype.categories])
            elif pd.api.types.is_bool_dtype(dtype):
                sql, categories = "BOOLEAN", None
            elif pd.api.types.is_integer_dtype(dtype):
                sql, categories = "BIGINT", None
            elif pd.api.types.is_float_dtype(dtype):
                sql, categories = "DOUBLE", None
            elif pd.api.types.is_datetime64_any_dtype(dtype):
                sql, categories = "TIMESTAMP", None
            else:
                sql, categories = "VARCHAR", None
            role = "attribute" if name in attributes else "feature"
            columns.append(f"{_quote(name)} {sql}")
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
            con = _connect(tmp)
            try:
                con.execute(f"CREATE TABLE {_TABLE} (\n  {ddl}\n)")
                con.execute(
                    f"CREATE TABLE {_META_TABLE} (position INTEGER, name VARCHAR, role VARCHAR, "
                    "dtype VARCHAR, categories VARCHAR)"
                )
                con.executemany(f"INSERT INTO {_META_TABLE} VALUES (?, ?, ?, ?, ?)", meta_rows)
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
        return cls(path)

    # ------------------------------------------------------------------ writing

    def append(
        self,
        X: pd.DataFrame,
        predictions,
        *,
        timestamps,
        probabilities=None,
        request_ids=None,
        model_version: str | None = None,
        labels=None,
    ) -> int:
        """Log scored requests; returns the number of rows added.

        Parameters
        ----------
        X : pandas.DataFrame
            The requests as scored: every logged column (features and
            attributes); extra columns are ignored.
        predictions : array-like
            The model's decisions, one per row.
        timestamps : array-like of datetimes
            Scoring times. Time-zone aware values are converted to UTC.
        probabilities : array-like of float, optional
        request_ids : array-like of int, optional
            Default: continue after the largest id in the log. Ids must be new.
        model_version : str, optional
        labels : array-like, optional
            Feedback labels if already known (missing values allowed).

        Raises
        ------
        ValueError
            Nothing is logged when a column does not have one value per row, a
            timestamp or prediction is missing, or a prediction or label is not a
            label of the log's type (e.g. 0.31 in an integer log: a probability
            goes to ``probabilities``).
        """
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame of the scored requests, got {type(X)}.")
        n = len(X)
        missing = [c for c in self._meta if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks logged column(s) {missing}; pass every logged column.")
        frame = pd.DataFrame(index=pd.RangeIndex(n))
        if request_ids is None:
            start = self.connection.execute(
                f"SELECT coalesce(max(request_id), -1) + 1 FROM {_TABLE}"
            ).fetchall()[0][0]
            frame["request_id"] = np.arange(start, start + n, dtype=np.int64)
        else:
            frame["request_id"] = _column(request_ids, n, "request_ids").astype(np.int64)
            if frame["request_id"].duplicated().any():
                raise ValueError("request_ids contain duplicates; each request needs its own id.")
        frame["scoring_timestamp"] = _naive_utc(_column(timestamps, n, "timestamps"))
        frame["model_version"] = pd.Series([model_version] * n, dtype="string")
        for name in self._meta:
            values = X[name].reset_index(drop=True)
            if isinstance(values.dtype, pd.CategoricalDtype):
                values = values.astype("string")
            frame[name] = values
        frame["prediction"] = self._labels(predictions, n, "predictions")
        frame["probability"] = (
            np.nan
            if probabilities is None
            else _column(probabilities, n, "probabilities").astype(float)
        )
        frame["label"] = (
            pd.Series([None] * n, dtype=object)
            if labels is None
            else self._labels(labels, n, "labels", missing=True)
        )
        con = self.connection
        con.register("_incoming", frame)
        try:
            if request_ids is not None:
                clash = con.execute(
                    f"SELECT count(*) FROM {_TABLE} WHERE request_id IN "
                    "(SELECT request_id FROM _incoming)"
                ).fetchall()[0][0]
                if clash:
                    raise ValueError(
                        f"{clash} request_ids are already in the log; ids must be new."
                    )
            cols = ", ".join(_quote(c) for c in frame.columns)
            con.execute(f"INSERT INTO {_TABLE} ({cols}) SELECT {cols} FROM _incoming")
        finally:
            con.unregister("_incoming")
        return n

    def add_feedback(self, request_ids, labels) -> int:
        """Record the true outcome of logged requests; returns how many rows were updated.

        Parameters
        ----------
        request_ids : array-like of int
            Logged request ids.
        labels : array-like
            The true outcomes, one per id, of the prediction's type.

        Returns
        -------
        int
            Rows updated (ids that are not in the log update nothing).

        Raises
        ------
        ValueError
            If ``labels`` does not have one value per id.
        """
        ids = np.asarray(request_ids, dtype=np.int64)
        labels = self._labels(labels, len(ids), "labels", missing=True)
        frame = pd.DataFrame({"request_id": ids, "label": labels})
        self.connection.register("_feedback", frame)
        try:
            before = self.connection.execute(
                f"SELECT count(*) FROM {_TABLE} WHERE request_id IN "
                "(SELECT request_id FROM _feedback)"
            ).fetchall()[0][0]
            self.connection.execute(
                f"UPDATE {_TABLE} SET label = f.label FROM _feedback f "
                f"WHERE {_TABLE}.request_id = f.request_id"
            )
        finally:
            self.connection.unregister("_feedback")
        return int(before)

    # ------------------------------------------------------------------ reading

    @property
    def columns(self) -> list[str]:
        """All columns of the payload table, in order."""
        return [r[0] for r in self.connection.execute(f"DESCRIBE {_TABLE}").fetchall()]

    def __len__(self) -> int:
        return int(self.connection.execute(f"SELECT count(*) FROM {_TABLE}").fetchall()[0][0])

    def values(self, column: str) -> list:
        """Distinct values of a logged column (sorted; missing values left out)."""
        self._check_column(column)
        return self.table_log().values(column)

    def table_log(self) -> TableLog:
        """The ``payload`` table as a :class:`TableLog`, read lazily: DuckDB does the counting."""
        return TableLog(
            self.connection.table(_TABLE), features=self.features, attributes=self.attributes
        )

    def to_pandas(self, columns=None, *, start=None, end=None) -> pd.DataFrame:
        """Read logged requests with ``start <= scoring_timestamp < end`` into pandas.

        Categorical columns get back the categories they were logged with (plus
        any new values seen in production), so the frame can be scored by the
        deployed pipeline. Rows are ordered by timestamp, then request id.

        Parameters
        ----------
        columns : list of str, optional
            Columns to read (default: all).
        start, end : timestamp, optional
            The time range (default: everything).

        Returns
        -------
        pandas.DataFrame
        """
        columns = self.columns if columns is None else list(columns)
        for c in columns:
            self._check_column(c)
        where, params = _time_filter(start, end)
        sql = (
            f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_TABLE} {where} "
            "ORDER BY scoring_timestamp, request_id"
        )
        frame = self.connection.execute(sql, params).df()
        for name in columns:
            meta = self._meta.get(name)
            if meta and meta["categories"] is not None:
                seen = [v for v in frame[name].dropna().unique() if v not in meta["categories"]]
                frame[name] = pd.Categorical(frame[name], categories=meta["categories"] + seen)
        return frame

    def _check_column(self, column):
        if column not in self.columns:
            raise ValueError(
                f"{column!r} is not a column of the payload log; choose from {self.columns}."
            )

    def _labels(self, values, n, name, *, missing=False) -> pd.Series:
        """Decisions or outcomes as the log stores them; anything else is refused."""
        series = _column(values, n, name)
        if not missing and series.isna().any():
            raise ValueError(
                f"{name} has {int(series.isna().sum())} missing value(s); every request needs the "
                "decision it got."
            )
        if not self._integer_labels:
            return series.astype(object).where(series.notna(), None)
        present = series.dropna()
        whole = pd.to_numeric(present.astype(object), errors="coerce")
        bad = present[whole.isna() | (whole != whole.round())]
        if len(bad):
            raise ValueError(
                f"{name} must be whole-number labels in this log, got {_plain(bad.iloc[0])!r}; a "
                "probability goes to probabilities=, and text labels need a log created with "
                "prediction_type='string'."
            )
        return whole.reindex(series.index).astype("Int64")

    def close(self) -> None:
        """Close the database connection."""
        self.connection.close()

    def __enter__(self) -> PayloadLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PayloadLog({str(self.path)!r}, features={len(self.features)})"


def _check_replaceable(path: Path) -> None:
    """Refuse to replace a file that is not a payload log, or a log another process holds."""
    try:
        con = _connect(path, read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise FileExistsError(
                f"{path} is in use by another process; close it there first, or choose another "
                "path."
            ) from None
        raise FileExistsError(
            f"{path} is not a payload log (not a DuckDB database); it is left as it is. Choose "
            "another path."
        ) from None
    except duckdb.Error as exc:
        raise FileExistsError(
            f"{path} cannot be checked to be a payload log ({str(exc).splitlines()[0]}); it is "
            "left as it is. Choose another path."
        ) from None
    try:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()
    if not {_TABLE, _META_TABLE} <= tables:
        raise FileExistsError(
            f"{path} is a DuckDB database but not a payload log; it is left as it is. Choose "
            "another path."
        )


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _column(values, n, name) -> pd.Series:
    """One value per request as a Series aligned by position (the caller's index is dropped)."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    series = series.reset_index(drop=True)
    if len(series) != n:
        raise ValueError(f"{name} has {len(series)} values but X has {n} rows; give one per row.")
    return series


def _naive_utc(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        raise ValueError(
            "timestamps are numbers, whose unit is ambiguous; convert them first, e.g. "
            "pd.to_datetime(values, unit='s') for seconds since 1970."
        )
    stamps = pd.to_datetime(values)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    if stamps.isna().any():
        raise ValueError("timestamps contain missing values; every request needs its time.")
    return stamps.astype("datetime64[us]")


def _time_filter(start, end):
    clauses, params = [], []
    if start is not None:
        clauses.append("scoring_timestamp >= ?")
        params.append(as_timestamp(start, "start").to_pydatetime())
    if end is not None:
        clauses.append("scoring_timestamp < ?")
        params.append(as_timestamp(end, "end").to_pydatetime())
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

"""The payload log: a DuckDB file of scored requests, with each logged column's role.

Table ``payload`` holds one row per scoring request: ``request_id`` (BIGINT),
``scoring_timestamp`` (TIMESTAMP, naive UTC), ``model_version`` (VARCHAR), the
model's inputs and other logged attributes exactly as scored, ``prediction``
(the decision: BIGINT or VARCHAR labels), ``probability`` (DOUBLE, nullable)
and ``label`` (the true outcome once fed back, nullable). Categorical columns
are stored as VARCHAR (production must accept values never seen in training);
table ``payload_columns`` keeps each logged column's role (``feature`` or
``attribute``), pandas dtype and categories, so :meth:`PayloadLog.to_pandas`
returns frames the deployed pipeline can score. DuckDB counts the windows
where the file lives (see :class:`~fairaudit.monitor.TableLog`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit.monitor._config import as_timestamp
from fairaudit.monitor._log_file import META_TABLE, TABLE, connect, create_log_file, quote
from fairaudit.monitor._tables import TableLog


class PayloadLog:
    """A payload log of scoring requests in a DuckDB database file.

    Create one with :meth:`create` (it fixes the schema from an example frame
    of model inputs), log scored requests with :meth:`append`, feedback with
    :meth:`add_feedback`, and open an existing file with ``PayloadLog(path)``
    (a context manager that closes the connection).

    Parameters
    ----------
    path : str or path-like
        The DuckDB file.
    read_only : bool, default=False
        Open without write access (several readers may then share the file).

    Attributes
    ----------
    connection : duckdb.DuckDBPyConnection
        The open connection, for SQL of your own against table ``payload``.
    features : list of str
        Columns the model takes as input, in the order it was trained on.
    attributes : list of str
        Logged columns that are not model inputs (e.g. a derived age band).
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"No payload log at {self.path}; create one with PayloadLog.create(path, X)."
            )
        self.connection = connect(self.path, read_only=read_only)
        tables = {row[0] for row in self.connection.execute("SHOW TABLES").fetchall()}
        if not {TABLE, META_TABLE} <= tables:
            self.connection.close()
            raise ValueError(
                f"{self.path} is a DuckDB file but not a payload log (it lacks tables "
                f"{TABLE!r} and {META_TABLE!r}); create one with PayloadLog.create(path, X)."
            )
        meta = self.connection.execute(
            f"SELECT name, role, dtype, categories FROM {META_TABLE} ORDER BY position"
        ).fetchall()
        self._meta = {
            name: {"role": role, "dtype": dtype, "categories": json.loads(cats) if cats else None}
            for name, role, dtype, cats in meta
        }
        self.features = [n for n, m in self._meta.items() if m["role"] == "feature"]
        self.attributes = [n for n, m in self._meta.items() if m["role"] == "attribute"]
        kinds = {r[0]: r[1] for r in self.connection.execute(f"DESCRIBE {TABLE}").fetchall()}
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
            Model inputs with the dtypes the model was trained on (only dtypes
            and categories are read); its columns are logged, in order.
        attributes : sequence of str
            Columns of ``example`` that are logged but are not model inputs.
        prediction_type : {"integer", "string"}, default="integer"
            SQL type of ``prediction`` and ``label``.
        overwrite : bool, default=False
            Replace an existing payload log. A file that is not a payload log,
            or a log another process holds, is never replaced; the new log is
            built beside the old one and renamed onto it only when complete.

        Raises
        ------
        FileExistsError
            If ``path`` exists and may not be replaced.
        ValueError
            If the columns cannot form a log (clashing names, even by case).
        """
        create_log_file(Path(path), example, attributes, prediction_type, overwrite)
        return cls(path)

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
            The requests as scored, with every logged column (extra columns are ignored).
        predictions : array-like
            The model's decisions, one per row: labels of the log's type.
        timestamps : array-like of datetimes
            Scoring times; time-zone-aware ones are converted to UTC.
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
            timestamp or prediction is missing, an id is not new, or a prediction
            or label is not a label (0.31 in an integer log: a probability goes
            to ``probabilities``).
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
                f"SELECT coalesce(max(request_id), -1) + 1 FROM {TABLE}"
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
                    f"SELECT count(*) FROM {TABLE} WHERE request_id IN "
                    "(SELECT request_id FROM _incoming)"
                ).fetchall()[0][0]
                if clash:
                    raise ValueError(
                        f"{clash} request_ids are already in the log; ids must be new."
                    )
            cols = ", ".join(quote(c) for c in frame.columns)
            con.execute(f"INSERT INTO {TABLE} ({cols}) SELECT {cols} FROM _incoming")
        finally:
            con.unregister("_incoming")
        return n

    def add_feedback(self, request_ids, labels) -> int:
        """Record the true outcome of logged requests; returns how many rows were updated.

        ``labels`` holds one outcome per id, of the prediction's type; ids that
        are not in the log update nothing.
        """
        ids = np.asarray(request_ids, dtype=np.int64)
        labels = self._labels(labels, len(ids), "labels", missing=True)
        frame = pd.DataFrame({"request_id": ids, "label": labels})
        self.connection.register("_feedback", frame)
        try:
            before = self.connection.execute(
                f"SELECT count(*) FROM {TABLE} WHERE request_id IN "
                "(SELECT request_id FROM _feedback)"
            ).fetchall()[0][0]
            self.connection.execute(
                f"UPDATE {TABLE} SET label = f.label FROM _feedback f "
                f"WHERE {TABLE}.request_id = f.request_id"
            )
        finally:
            self.connection.unregister("_feedback")
        return int(before)

    @property
    def columns(self) -> list[str]:
        """All columns of the payload table, in order."""
        return [r[0] for r in self.connection.execute(f"DESCRIBE {TABLE}").fetchall()]

    def __len__(self) -> int:
        return int(self.connection.execute(f"SELECT count(*) FROM {TABLE}").fetchall()[0][0])

    def values(self, column: str) -> list:
        """Distinct values of a logged column (sorted; missing values left out)."""
        self._check_column(column)
        return self.table_log().values(column)

    def table_log(self) -> TableLog:
        """The ``payload`` table as a :class:`TableLog`, read lazily: DuckDB does the counting."""
        return TableLog(
            self.connection.table(TABLE), features=self.features, attributes=self.attributes
        )

    def to_pandas(self, columns=None, *, start=None, end=None) -> pd.DataFrame:
        """Logged requests with ``start <= scoring_timestamp < end``, by time, then request id.

        Categorical columns get back the categories they were logged with (plus
        any new values seen in production), so the deployed pipeline can score
        the frame. ``columns`` defaults to all.
        """
        columns = self.columns if columns is None else list(columns)
        for c in columns:
            self._check_column(c)
        where, params = _time_filter(start, end)
        sql = (
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {TABLE} {where} "
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

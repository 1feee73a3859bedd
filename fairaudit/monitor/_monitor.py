"""Fairness monitoring of a deployed model from its payload log.

An audit before launch says how a model treated the people in a test set. Once
the model is deployed, the people it scores change, the model may be replaced,
and upstream systems may start feeding it different inputs; a fairness
*monitor* watches the decisions actually made. This module implements the
concepts of production fairness monitors (IBM Watson OpenScale's is the
reference point):

Fairness attribute, monitored and reference values
    A column such as ``SEX`` with the *monitored* values (the group that may be
    harmed, e.g. ``female``) and the *reference* values (the comparison group,
    e.g. ``male``); see :class:`FairnessConfig`.
Favourable outcome
    The prediction values that benefit the person (loan granted, which for a
    default-risk model is the prediction "no default").
Disparate impact
    Favourable rate of the monitored group divided by that of the reference
    group, shown as a percentage (it can exceed 100%). A window whose value is
    below the threshold (default 80%, the four-fifths rule) raises an alert.
Windows and ``min_records``
    Disparate impact is computed per time window (hourly by default). When a
    window holds fewer than ``min_records`` requests, the newest earlier
    requests are pulled in until it has enough; each window reports how many
    came from earlier windows and the oldest and newest timestamps used.
Perturbation and de-biased decisions
    Every logged request is re-scored with the fairness attribute flipped
    (monitored to reference value and back). A decision that changes when only
    the attribute changes is direct evidence that the attribute drives it. The
    *de-biased* decision of a monitored-group request whose decision is
    unfavourable but becomes favourable when perturbed is the favourable one;
    :func:`perturbation_analysis` reports disparate impact on the payload, on
    payload + perturbed records and with de-biased decisions, and accuracy
    before and after de-biasing on requests with feedback labels.
Recommendations
    :func:`recommend_fairness_attributes` finds columns that look like
    protected attributes (sex, race, marital status, age, national origin,
    postal code) and proposes monitored and reference values.

The payload log is a DuckDB database file (:class:`PayloadLog`), so a log much
larger than memory can be monitored: per-window group counts are aggregated in
SQL inside DuckDB and only those counts reach Python, where
:func:`fairaudit.audit.disparate_impact_from_counts` turns them into disparate
impact with bootstrap intervals.

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
``prediction``         BIGINT or    the decision the model returned
                       VARCHAR
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
import numbers
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from fairaudit.metrics import UndefinedMetricWarning, disparate_impact_from_counts

__all__ = [
    "PAYLOAD_COLUMNS",
    "PayloadLog",
    "FairnessConfig",
    "windowed_disparate_impact",
    "window_records",
    "fairness_alerts",
    "perturb_attribute",
    "PerturbationResult",
    "perturbation_analysis",
    "recommend_fairness_attributes",
    "simulate_requests",
    "plot_disparate_impact",
    "plot_perturbation_views",
]

#: The fixed columns of the ``payload`` table (feature and attribute columns come in between).
PAYLOAD_COLUMNS = (
    "request_id",
    "scoring_timestamp",
    "model_version",
    "prediction",
    "probability",
    "label",
)

_META_TABLE = "payload_columns"
_TABLE = "payload"
_MONITORED, _REFERENCE = "monitored", "reference"


def _quote(name: str) -> str:
    """Quote an SQL identifier (column names come from user data)."""
    return '"' + str(name).replace('"', '""') + '"'


# --------------------------------------------------------------------------- payload log


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
        self.connection = duckdb.connect(str(self.path), read_only=read_only)
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
            Replace an existing file; otherwise an existing file is an error,
            so a log is never lost by accident.
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
            path.unlink()
            Path(str(path) + ".wal").unlink(missing_ok=True)
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
        con = duckdb.connect(str(path))
        try:
            con.execute(f"CREATE TABLE {_TABLE} (\n  {ddl}\n)")
            con.execute(
                f"CREATE TABLE {_META_TABLE} (position INTEGER, name VARCHAR, role VARCHAR, "
                "dtype VARCHAR, categories VARCHAR)"
            )
            con.executemany(f"INSERT INTO {_META_TABLE} VALUES (?, ?, ?, ?, ?)", meta_rows)
        finally:
            con.close()
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
        frame["prediction"] = _column(predictions, n, "predictions")
        frame["probability"] = (
            np.nan
            if probabilities is None
            else _column(probabilities, n, "probabilities").astype(float)
        )
        frame["label"] = (
            pd.Series([None] * n, dtype=object) if labels is None else _column(labels, n, "labels")
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
        """Record the true outcome of logged requests; returns how many rows were updated."""
        ids = np.asarray(request_ids, dtype=np.int64)
        frame = pd.DataFrame({"request_id": ids, "label": _column(labels, len(ids), "labels")})
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
        rows = self.connection.execute(
            f"SELECT DISTINCT {_quote(column)} AS v FROM {_TABLE} WHERE v IS NOT NULL ORDER BY v"
        ).fetchall()
        return [r[0] for r in rows]

    def to_pandas(self, columns=None, *, start=None, end=None) -> pd.DataFrame:
        """Read logged requests with ``start <= scoring_timestamp < end`` into pandas.

        Categorical columns get back the categories they were logged with (plus
        any new values seen in production), so the frame can be scored by the
        deployed pipeline. Rows are ordered by timestamp, then request id.
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

    def close(self) -> None:
        """Close the database connection."""
        self.connection.close()

    def __enter__(self) -> PayloadLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PayloadLog({str(self.path)!r}, features={len(self.features)})"


def _column(values, n, name) -> pd.Series:
    """One value per request as a Series aligned by position (the caller's index is dropped)."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    series = series.reset_index(drop=True)
    if len(series) != n:
        raise ValueError(f"{name} has {len(series)} values but X has {n} rows; give one per row.")
    return series


def _naive_utc(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    if stamps.isna().any():
        raise ValueError("timestamps contain missing values; every request needs its time.")
    return stamps.astype("datetime64[us]")


def _timestamp(value, name) -> pd.Timestamp:
    """A naive UTC timestamp with microsecond resolution, as DuckDB stores it."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}={value!r} is not a date-time such as '2026-03-02 14:00'."
        ) from exc
    if stamp is pd.NaT:
        raise ValueError(f"{name} is missing (NaT); give a date-time or None.")
    if stamp.tz is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.as_unit("us")


def _time_filter(start, end):
    clauses, params = [], []
    if start is not None:
        clauses.append("scoring_timestamp >= ?")
        params.append(_timestamp(start, "start").to_pydatetime())
    if end is not None:
        clauses.append("scoring_timestamp < ?")
        params.append(_timestamp(end, "end").to_pydatetime())
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


# --------------------------------------------------------------------------- configuration


def _as_tuple(values, name):
    if values is None:
        raise ValueError(f"{name} is required: give one value or a list of values.")
    if isinstance(values, str | bytes | numbers.Number | bool | np.generic):
        values = [values]
    values = tuple(v.item() if isinstance(v, np.generic) else v for v in values)
    if not values:
        raise ValueError(f"{name} is empty: give at least one value.")
    return values


@dataclass(frozen=True)
class FairnessConfig:
    """What to monitor: one fairness attribute and how to judge its outcomes.

    Parameters
    ----------
    attribute : str
        The logged column holding the fairness attribute (e.g. ``"SEX"``).
    monitored : value or list of values
        Values of the group that may be harmed (e.g. ``"female"``).
    reference : value or list of values
        Values of the comparison group (e.g. ``"male"``); disjoint from ``monitored``.
    favourable : value or list of values
        Prediction values that benefit the person (e.g. ``0``, "will not default").
    threshold : float, default=0.8
        Alert when disparate impact falls below it. A fraction in ``(0, 2]``:
        0.8 means 80%; values above 1 let a monitor also demand that the
        monitored group is not *over*-favoured relative to a ceiling.
    min_records : int, default=100
        Smallest number of requests a window's disparate impact is computed
        from; shorter windows are topped up with the newest earlier requests.
    window : str or pandas.Timedelta, default="1h"
        Window length, anything :class:`pandas.Timedelta` accepts.

    Raises
    ------
    ValueError
        The threshold is outside ``(0, 2]`` (a percentage such as 80 is
        refused with a hint), ``min_records`` is negative, the window is not
        positive, or monitored and reference values overlap.
    """

    attribute: str
    monitored: tuple
    reference: tuple
    favourable: tuple
    threshold: float = 0.8
    min_records: int = 100
    window: pd.Timedelta = field(default=pd.Timedelta("1h"))

    def __post_init__(self):
        if not isinstance(self.attribute, str) or not self.attribute:
            raise ValueError(f"attribute must be a column name, got {self.attribute!r}.")
        set_ = object.__setattr__
        set_(self, "monitored", _as_tuple(self.monitored, "monitored"))
        set_(self, "reference", _as_tuple(self.reference, "reference"))
        set_(self, "favourable", _as_tuple(self.favourable, "favourable"))
        overlap = set(self.monitored) & set(self.reference)
        if overlap:
            raise ValueError(
                f"values {sorted(map(str, overlap))} are both monitored and reference; a value "
                "belongs to one group only."
            )
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not np.isfinite(t):
            raise ValueError(f"threshold must be a number in (0, 2] such as 0.8, got {t!r}.")
        if not 0 < t <= 2:
            hint = (
                f" (did you mean {t / 100:g}? give a fraction, not a percentage)"
                if 2 < t <= 200
                else ""
            )
            raise ValueError(f"threshold must be in (0, 2], got {t!r}{hint}.")
        set_(self, "threshold", float(t))
        m = self.min_records
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 0:
            raise ValueError(f"min_records must be a non-negative integer, got {m!r}.")
        set_(self, "min_records", int(m))
        try:
            window = pd.Timedelta(self.window)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"window must be a duration such as '1h' or '30min', got {self.window!r}."
            ) from exc
        if window <= pd.Timedelta(0) or window != window.floor("us"):
            raise ValueError(
                f"window must be a positive whole number of microseconds, got {window}."
            )
        set_(self, "window", window)

    def validate(self, log: PayloadLog) -> FairnessConfig:
        """Check the configuration against a payload log; returns ``self``.

        Raises
        ------
        ValueError
            The attribute is not a logged column, a monitored or reference
            value never occurs in it, or no favourable value is a possible
            prediction (e.g. ``"granted"`` for a log of 0/1 predictions).
        """
        if self.attribute not in log.columns or self.attribute in PAYLOAD_COLUMNS:
            raise ValueError(
                f"attribute {self.attribute!r} is not a logged column; choose one of "
                f"{log.features + log.attributes}."
            )
        present = log.values(self.attribute)
        shown = {str(v) for v in present}
        for name in ("monitored", "reference"):
            absent = [v for v in getattr(self, name) if str(v) not in shown]
            if absent:
                raise ValueError(
                    f"{name} value(s) {absent} of {self.attribute!r} never occur in the payload "
                    f"log; it holds {present[:20]}."
                )
        # values are compared as text in SQL, so 0 and "0" both match a logged 0
        outcomes = log.values("prediction")
        if outcomes and not {str(v) for v in self.favourable} & {str(v) for v in outcomes}:
            raise ValueError(
                f"favourable={list(self.favourable)} matches none of the logged predictions "
                f"{outcomes[:20]}; give the prediction value(s) that benefit the person."
            )
        return self

    def to_dict(self) -> dict:
        """JSON-ready form (the window as a string such as ``"1h"``)."""
        return {
            "attribute": self.attribute,
            "monitored": list(self.monitored),
            "reference": list(self.reference),
            "favourable": list(self.favourable),
            "threshold": self.threshold,
            "min_records": self.min_records,
            "window": _duration_text(self.window),
        }


def _duration_text(width: pd.Timedelta) -> str:
    """``1h``, ``30min``, ``1D``, ``1h30min``: how people write window lengths."""
    parts, rest = [], pd.Timedelta(width)
    for unit, size in (("D", "1D"), ("h", "1h"), ("min", "1min"), ("s", "1s"), ("us", "1us")):
        count, rest = divmod(rest, pd.Timedelta(size))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


# --------------------------------------------------------------------------- windows

_ORIGIN = pd.Timestamp("2000-01-03")  # a Monday: hourly, daily and weekly windows align


def _source_sql(config: FairnessConfig, where: str) -> str:
    """Rows of the log with their window, group (1 monitored, 2 reference, 0 other) and outcome."""
    attr = _quote(config.attribute)
    return f"""
        SELECT request_id, scoring_timestamp AS ts,
               time_bucket(to_microseconds($window_us), scoring_timestamp, $origin) AS bucket,
               CASE WHEN list_contains($monitored, CAST({attr} AS VARCHAR)) THEN 1
                    WHEN list_contains($reference, CAST({attr} AS VARCHAR)) THEN 2
                    ELSE 0 END AS grp,
               list_contains($favourable, CAST(prediction AS VARCHAR)) AS fav
        FROM {_TABLE} {where}
    """


def _sql_params(config, origin, end):
    return {
        "window_us": int(config.window / pd.Timedelta("1us")),
        "origin": origin.to_pydatetime(),
        "monitored": [str(v) for v in config.monitored],
        "reference": [str(v) for v in config.reference],
        "favourable": [str(v) for v in config.favourable],
        **({"end": end.to_pydatetime()} if end is not None else {}),
    }


def _bucket_counts(log, config, origin, end) -> pd.DataFrame:
    """Per-window counts (aggregated in DuckDB): the only pass over every record."""
    where = "WHERE scoring_timestamp < $end" if end is not None else ""
    sql = f"""
        SELECT bucket, count(*) AS n, min(ts) AS oldest, max(ts) AS newest,
               count(*) FILTER (WHERE grp = 1) AS m_tot,
               count(*) FILTER (WHERE grp = 1 AND fav) AS m_fav,
               count(*) FILTER (WHERE grp = 2) AS r_tot,
               count(*) FILTER (WHERE grp = 2 AND fav) AS r_fav
        FROM ({_source_sql(config, where)}) GROUP BY bucket ORDER BY bucket
    """
    return log.connection.execute(sql, _sql_params(config, origin, end)).df()


def _window_plan(log, config, start, end, origin):
    """Window grid with each window's own counts and, for short windows, the records to use.

    Returns the grid (one row per window from ``start`` to ``end``) and the
    table of short windows with the half-open range ``(lo, hi]`` of global
    record positions (records ordered by timestamp, then request id) they use.
    """
    origin = _ORIGIN if origin is None else _timestamp(origin, "origin")
    end_ts = None if end is None else _timestamp(end, "end")
    counts = _bucket_counts(log, config, origin, end_ts)
    width = config.window
    if counts.empty and (start is None or end is None):
        return None, None, origin

    def floor(t):  # the start of t's window, as DuckDB's time_bucket computes it
        return origin + ((t - origin) // width) * width

    first = floor(_timestamp(start, "start")) if start is not None else counts["bucket"].min()
    last = floor(end_ts - pd.Timedelta("1us")) if end_ts is not None else counts["bucket"].max()
    if last < first:
        raise ValueError(f"end={end!r} is not after start={start!r}; give a non-empty time range.")
    grid = pd.DataFrame({"bucket": pd.date_range(first, last, freq=width).as_unit("us")})
    counts["bucket"] = counts["bucket"].astype("datetime64[us]")
    # cumulative count of records up to and including each window, over the whole history
    history = pd.concat([counts, grid[~grid["bucket"].isin(counts["bucket"])]])
    history = history.sort_values("bucket").fillna({"n": 0}).reset_index(drop=True)
    history["n"] = history["n"].astype(np.int64)
    history["cum"] = history["n"].cumsum()
    grid = grid.merge(history, on="bucket", how="left")
    for col in ("m_tot", "m_fav", "r_tot", "r_fav"):
        grid[col] = grid[col].fillna(0).astype(np.int64)
    short = grid[grid["n"] < config.min_records][["bucket", "cum"]].copy()
    short["lo"] = np.maximum(short["cum"] - config.min_records, 0)
    short["hi"] = short["cum"]
    filled = history[history["n"] > 0][["bucket", "n", "cum"]]
    return grid, (short, filled), origin


def _backfill_sql(config, end) -> str:
    """Records used by each short window: the newest ``min_records`` records before its end.

    Each record gets its global position = records in earlier windows + its
    rank inside its own window (``row_number`` by timestamp, then request id);
    a short window uses positions ``(lo, hi]``. Only windows that can supply
    such records are ranked, so a log without short windows is never sorted.
    """
    # the time range that can hold needed records, so DuckDB skips other row groups by their
    # min/max statistics instead of bucketing the whole log again
    where = "WHERE scoring_timestamp >= $first_needed AND scoring_timestamp < $after_needed"
    if end is not None:
        where += " AND scoring_timestamp < $end"
    return f"""
        WITH needed AS (
            SELECT DISTINCT f.bucket, f.cum - f.n AS before
            FROM _filled f JOIN _short s ON f.cum - f.n < s.hi AND f.cum > s.lo
        ),
        ranked AS (
            SELECT src.*, needed.before + row_number() OVER (
                       PARTITION BY src.bucket ORDER BY src.ts, src.request_id) AS pos
            FROM ({_source_sql(config, where)}) src JOIN needed USING (bucket)
        )
        SELECT s.bucket AS target, r.request_id, r.ts, r.bucket, r.grp, r.fav
        FROM ranked r JOIN _short s ON r.pos > s.lo AND r.pos <= s.hi
    """


def _run_backfill(log, config, plan, end, origin, select):
    short, filled = plan
    supplying = filled[filled["cum"] > short["lo"].min()]
    params = _sql_params(config, origin, None if end is None else _timestamp(end, "end"))
    first = supplying["bucket"].min() if len(supplying) else short["bucket"].min()
    params["first_needed"] = first.to_pydatetime()
    params["after_needed"] = (short["bucket"].max() + config.window).to_pydatetime()
    con = log.connection
    con.register("_short", short)
    con.register("_filled", filled)
    try:
        sql = f"WITH used AS ({_backfill_sql(config, end)}) {select}"
        return con.execute(sql, params).df()
    finally:
        con.unregister("_short")
        con.unregister("_filled")


def windowed_disparate_impact(
    log: PayloadLog,
    config: FairnessConfig,
    *,
    start=None,
    end=None,
    origin=None,
    ci: float = 0.95,
    n_boot: int = 1000,
    random_state=None,
) -> pd.DataFrame:
    """Disparate impact of the monitored group per time window, computed inside DuckDB.

    Parameters
    ----------
    log : PayloadLog
    config : FairnessConfig
        Validated against ``log`` first.
    start, end : datetime-like, optional
        Monitor the windows overlapping ``[start, end)``; default: from the
        first to the last logged request. Requests at or after ``end`` are
        ignored (a last, partial window covers only up to ``end``); requests
        before ``start`` may still be pulled into short windows.
    origin : datetime-like, optional
        Windows are aligned to it (default 2000-01-03 00:00, a Monday, so
        hourly windows start on the hour).
    ci, n_boot, random_state
        Bootstrap interval of each window's disparate impact, as in
        :func:`fairaudit.audit.disparate_impact_from_counts` (``n_boot=0``
        skips intervals).

    Returns
    -------
    pandas.DataFrame
        One row per window: ``window_start, window_end, records`` (in the
        window), ``records_used, backfilled`` (of those, how many came from
        earlier windows), ``oldest_used, newest_used``, ``monitored_favourable,
        monitored_total, reference_favourable, reference_total,
        monitored_rate, reference_rate, disparate_impact, ci_low, ci_high``,
        ``status`` (``"ok"``, ``"alert"``, ``"undefined"`` when a group has no
        records or the reference group no favourable outcome) and ``alert``.
        ``records_used < min_records`` means the whole history was too short.
    """
    config.validate(log)
    grid, plan, origin = _window_plan(log, config, start, end, origin)
    if grid is None:
        return pd.DataFrame(columns=_WINDOW_COLUMNS)
    grid["used"] = grid["n"]
    if len(plan[0]):
        filled = _run_backfill(
            log,
            config,
            plan,
            end,
            origin,
            """SELECT target AS bucket, count(*) AS used, min(ts) AS oldest, max(ts) AS newest,
                      count(*) FILTER (WHERE grp = 1) AS m_tot,
                      count(*) FILTER (WHERE grp = 1 AND fav) AS m_fav,
                      count(*) FILTER (WHERE grp = 2) AS r_tot,
                      count(*) FILTER (WHERE grp = 2 AND fav) AS r_fav
               FROM used GROUP BY target""",
        )
        filled["bucket"] = filled["bucket"].astype("datetime64[us]")
        grid = grid.set_index("bucket")
        filled = filled.set_index("bucket")
        cols = ["used", "oldest", "newest", "m_tot", "m_fav", "r_tot", "r_fav"]
        short = grid.index.isin(plan[0]["bucket"])
        grid.loc[short, cols] = np.nan
        grid.update(filled[cols])
        grid = grid.reset_index()
        for col in ("used", "m_tot", "m_fav", "r_tot", "r_fav"):
            grid[col] = grid[col].fillna(0).astype(np.int64)
    return _finish_windows(grid, config, ci, n_boot, random_state)


_WINDOW_COLUMNS = [
    "window_start",
    "window_end",
    "records",
    "records_used",
    "backfilled",
    "oldest_used",
    "newest_used",
    "monitored_favourable",
    "monitored_total",
    "reference_favourable",
    "reference_total",
    "monitored_rate",
    "reference_rate",
    "disparate_impact",
    "ci_low",
    "ci_high",
    "status",
    "alert",
]


def _finish_windows(grid, config, ci, n_boot, random_state):
    rng = np.random.default_rng(random_state)
    rows = []
    for counts in grid[["m_fav", "m_tot", "r_fav", "r_tot"]].itertuples(index=False):
        figures = _di_figures(*counts, ci=ci, n_boot=n_boot, rng=rng)
        rows.append((figures["disparate_impact"], figures["ci_low"], figures["ci_high"]))
    di = pd.DataFrame(rows, columns=["disparate_impact", "ci_low", "ci_high"], dtype=float)
    out = pd.DataFrame(
        {
            "window_start": grid["bucket"],
            "window_end": grid["bucket"] + config.window,
            "records": grid["n"].fillna(0).astype(np.int64),
            "records_used": grid["used"].astype(np.int64),
        }
    )
    out["backfilled"] = out["records_used"] - np.minimum(out["records"], out["records_used"])
    out["oldest_used"] = pd.to_datetime(grid["oldest"]).astype("datetime64[us]")
    out["newest_used"] = pd.to_datetime(grid["newest"]).astype("datetime64[us]")
    out["monitored_favourable"] = grid["m_fav"]
    out["monitored_total"] = grid["m_tot"]
    out["reference_favourable"] = grid["r_fav"]
    out["reference_total"] = grid["r_tot"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["monitored_rate"] = grid["m_fav"] / grid["m_tot"].where(grid["m_tot"] > 0)
        out["reference_rate"] = grid["r_fav"] / grid["r_tot"].where(grid["r_tot"] > 0)
    out[["disparate_impact", "ci_low", "ci_high"]] = di.to_numpy()
    out["alert"] = out["disparate_impact"] < config.threshold
    out["status"] = np.where(
        out["disparate_impact"].isna(), "undefined", np.where(out["alert"], "alert", "ok")
    )
    return out[_WINDOW_COLUMNS]


def window_records(log: PayloadLog, config: FairnessConfig, window_start, *, end=None, origin=None):
    """The requests a window's disparate impact was computed from (back-filled ones included).

    Useful to inspect an alert: which requests, from which earlier windows.
    Returns ``request_id, scoring_timestamp, window_start`` (the window each
    request was logged in), ``group`` and ``favourable``, newest first.
    """
    config.validate(log)
    origin_ts = _ORIGIN if origin is None else _timestamp(origin, "origin")
    start = _timestamp(window_start, "window_start")
    if (start - origin_ts) % config.window != pd.Timedelta(0):
        raise ValueError(f"window_start={start} is not a window start for window {config.window}.")
    stop = start + config.window
    if end is not None:
        stop = min(stop, _timestamp(end, "end"))
    grid, plan, origin_ts = _window_plan(log, config, start, stop, origin_ts)
    short = plan[0]
    if len(short) and (short["bucket"] == start).any():
        plan = (short[short["bucket"] == start], plan[1])
        rows = _run_backfill(
            log, config, plan, stop, origin_ts, "SELECT request_id, ts, bucket, grp, fav FROM used"
        )
    else:
        sql = f"SELECT request_id, ts, bucket, grp, fav FROM ({_source_sql(config, '')}) "
        sql += "WHERE bucket = $start"
        params = _sql_params(config, origin_ts, None) | {"start": start.to_pydatetime()}
        rows = log.connection.execute(sql, params).df()
    rows = rows.sort_values(["ts", "request_id"], ascending=False).reset_index(drop=True)
    return pd.DataFrame(
        {
            "request_id": rows["request_id"].astype(np.int64),
            "scoring_timestamp": rows["ts"].astype("datetime64[us]"),
            "window_start": rows["bucket"].astype("datetime64[us]"),
            "group": rows["grp"].map({1: _MONITORED, 2: _REFERENCE, 0: "other"}),
            "favourable": rows["fav"].astype(bool),
        }
    )


def fairness_alerts(windows: pd.DataFrame, config: FairnessConfig) -> pd.DataFrame:
    """The windows that raised an alert, as a tidy table (one row per alert).

    Columns: ``window_start, window_end, attribute, monitored, reference,
    disparate_impact, ci_low, ci_high, threshold, records_used, backfilled``
    (values as fractions; multiply by 100 for the percentages a dashboard
    shows). An alert whose interval reaches above the threshold, or that
    rests on back-filled records, deserves a second look before action.
    """
    hits = windows[windows["alert"]]
    return pd.DataFrame(
        {
            "window_start": hits["window_start"],
            "window_end": hits["window_end"],
            "attribute": config.attribute,
            "monitored": ", ".join(map(str, config.monitored)),
            "reference": ", ".join(map(str, config.reference)),
            "disparate_impact": hits["disparate_impact"],
            "ci_low": hits["ci_low"],
            "ci_high": hits["ci_high"],
            "threshold": config.threshold,
            "records_used": hits["records_used"],
            "backfilled": hits["backfilled"],
        }
    ).reset_index(drop=True)


def _di_figures(m_fav, m_tot, r_fav, r_tot, *, ci=0.95, n_boot=0, rng=None) -> dict:
    """Disparate impact of monitored vs reference from four counts, via the audit core."""
    out = {
        "monitored_favourable": int(m_fav),
        "monitored_total": int(m_tot),
        "reference_favourable": int(r_fav),
        "reference_total": int(r_tot),
        "monitored_rate": m_fav / m_tot if m_tot else np.nan,
        "reference_rate": r_fav / r_tot if r_tot else np.nan,
        "disparate_impact": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
    }
    if m_tot and r_tot and r_fav:
        with warnings.catch_warnings():
            # a bootstrap replicate without reference favourables is dropped, as intended
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            frame = disparate_impact_from_counts(
                pd.Series([m_fav, r_fav], index=[_MONITORED, _REFERENCE]),
                pd.Series([m_tot, r_tot], index=[_MONITORED, _REFERENCE]),
                reference_group=_REFERENCE,
                ci=ci,
                n_boot=n_boot,
                random_state=rng,
                min_group_size=0,
            )
        row = frame.loc[_MONITORED]
        out.update(
            disparate_impact=float(row["disparate_impact"]),
            ci_low=float(row["ci_low"]),
            ci_high=float(row["ci_high"]),
        )
    return out


# --------------------------------------------------------------------------- perturbation


def _group_of(values: pd.Series, config: FairnessConfig) -> np.ndarray:
    """``"monitored"``, ``"reference"`` or ``"other"`` per row (compared as text, as in SQL)."""
    text = values.astype("string")
    return np.select(
        [
            text.isin([str(v) for v in config.monitored]).fillna(False).to_numpy(bool),
            text.isin([str(v) for v in config.reference]).fillna(False).to_numpy(bool),
        ],
        [_MONITORED, _REFERENCE],
        default="other",
    )


def perturb_attribute(
    X: pd.DataFrame, config: FairnessConfig, *, to_reference=None, to_monitored=None
) -> pd.DataFrame:
    """Copy of ``X`` with the fairness attribute flipped and every other column untouched.

    Rows of the monitored group get the reference value ``to_reference``
    (default: the first reference value of ``config``), rows of the reference
    group get ``to_monitored`` (default: the first monitored value); other rows
    are unchanged. Re-scoring this frame asks the model "would the decision
    have been the same for the other group?".
    """
    if config.attribute not in X.columns:
        raise ValueError(
            f"attribute {config.attribute!r} is not a column of X; columns: {list(X.columns)}."
        )
    to_reference = config.reference[0] if to_reference is None else to_reference
    to_monitored = config.monitored[0] if to_monitored is None else to_monitored
    if str(to_reference) not in map(str, config.reference):
        raise ValueError(
            f"to_reference={to_reference!r} is not a reference value {config.reference}."
        )
    if str(to_monitored) not in map(str, config.monitored):
        raise ValueError(
            f"to_monitored={to_monitored!r} is not a monitored value {config.monitored}."
        )
    column = X[config.attribute]
    group = _group_of(column, config)
    flipped = column.copy()
    if isinstance(column.dtype, pd.CategoricalDtype):
        new = [v for v in (to_reference, to_monitored) if v not in column.cat.categories]
        if new:
            flipped = flipped.cat.add_categories(new)
    else:
        flipped = flipped.astype(object)
    flipped[group == _MONITORED] = to_reference
    flipped[group == _REFERENCE] = to_monitored
    if not isinstance(column.dtype, pd.CategoricalDtype):
        flipped = flipped.astype(column.dtype)
    out = X.copy()
    out[config.attribute] = flipped
    return out


@dataclass
class PerturbationResult:
    """Payload, perturbed and de-biased decisions of the logged requests, and their summary.

    Attributes
    ----------
    records : pandas.DataFrame
        One row per request of the monitored or reference group:
        ``request_id, scoring_timestamp, model_version, group, prediction,
        perturbed_prediction, changed, debiased_prediction, label``.
    summary : dict
        ``records``, ``changed`` (decisions that change when only the attribute
        changes) per group, ``debiased`` (monitored decisions turned
        favourable), disparate impact on ``payload``, ``payload_plus_perturbed``
        and ``debiased`` (each with its counts and interval), and ``accuracy``
        before/after de-biasing on requests with a feedback label.
    """

    records: pd.DataFrame
    summary: dict
    config: FairnessConfig

    def windowed(self, window=None, *, origin=None) -> pd.DataFrame:
        """Disparate impact per window for the payload, payload + perturbed and de-biased views.

        Computed in pandas from :attr:`records` (no ``min_records`` back-fill),
        long format: ``window_start, view, disparate_impact``; ``window``
        defaults to the configuration's.
        """
        width = self.config.window if window is None else pd.Timedelta(window)
        origin = _ORIGIN if origin is None else _timestamp(origin, "origin")
        rec = self.records
        start = origin + ((rec["scoring_timestamp"] - origin) // width) * width
        rows = []
        for bucket, part in rec.groupby(start, sort=True):
            for view, counts in _view_counts(part, self.config).items():
                rows.append({"window_start": bucket, "view": view, **_di_figures(*counts)})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """JSON-ready summary (the per-record table is left out)."""
        return {"config": self.config.to_dict(), **self.summary}


def _view_counts(rec: pd.DataFrame, config: FairnessConfig) -> dict:
    """(m_fav, m_tot, r_fav, r_tot) for the payload, payload + perturbed and de-biased views."""
    fav = [str(v) for v in config.favourable]
    is_fav = rec["prediction"].astype("string").isin(fav).to_numpy(bool)
    pert_fav = rec["perturbed_prediction"].astype("string").isin(fav).to_numpy(bool)
    deb_fav = rec["debiased_prediction"].astype("string").isin(fav).to_numpy(bool)
    mon = (rec["group"] == _MONITORED).to_numpy()
    ref = (rec["group"] == _REFERENCE).to_numpy()
    payload = (is_fav[mon].sum(), mon.sum(), is_fav[ref].sum(), ref.sum())
    # perturbed reference records join the monitored group and vice versa
    combined = (
        is_fav[mon].sum() + pert_fav[ref].sum(),
        mon.sum() + ref.sum(),
        is_fav[ref].sum() + pert_fav[mon].sum(),
        ref.sum() + mon.sum(),
    )
    debiased = (deb_fav[mon].sum(), mon.sum(), deb_fav[ref].sum(), ref.sum())
    return {"payload": payload, "payload_plus_perturbed": combined, "debiased": debiased}


def _predict(model, X: pd.DataFrame) -> np.ndarray:
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X))
    if callable(model):
        return np.asarray(model(X))
    raise TypeError(f"model must be a fitted estimator or a callable, got {type(model).__name__}.")


def perturbation_analysis(
    log: PayloadLog,
    config: FairnessConfig,
    model,
    *,
    start=None,
    end=None,
    derive=None,
    to_reference=None,
    to_monitored=None,
    ci: float = 0.95,
    n_boot: int = 1000,
    random_state=None,
) -> PerturbationResult:
    """Re-score logged requests with the fairness attribute flipped; de-bias decisions.

    Parameters
    ----------
    log : PayloadLog
    config : FairnessConfig
    model : estimator, callable or dict
        The deployed model: a fitted estimator whose ``predict`` returns the
        logged decisions, a callable ``X -> decisions``, or a dict mapping each
        logged ``model_version`` to one of those (each request is re-scored by
        the model that scored it).
    start, end : datetime-like, optional
        Requests with ``start <= scoring_timestamp < end`` are re-scored (they
        are read into memory, so choose a range that fits).
    derive : callable, optional
        ``frame -> frame`` applied after flipping, to recompute model inputs
        derived from the attribute. Required when the attribute is logged but
        is not a model input: flipping it alone could never change a decision.
    to_reference, to_monitored
        Values the flipped records get; see :func:`perturb_attribute`.
    ci, n_boot, random_state
        Bootstrap intervals of the three disparate impacts.

    Returns
    -------
    PerturbationResult

    Notes
    -----
    Perturbation only detects bias that flows through the attribute (or
    features ``derive`` recomputes from it). A model that never sees the
    attribute shows no changed decisions even if proxies such as postal code
    carry the same information; the windowed disparate impact still sees the
    outcome gap.
    """
    config.validate(log)
    if config.attribute not in log.features and derive is None:
        raise ValueError(
            f"{config.attribute!r} is logged but is not a model input, so flipping it cannot "
            "change a decision. Pass derive=<function recomputing the model inputs from it>, "
            "or monitor a model that takes it as an input."
        )
    frame = log.to_pandas(start=start, end=end)
    group = _group_of(frame[config.attribute], config)
    frame = frame[group != "other"].reset_index(drop=True)
    group = group[group != "other"]
    inputs = frame[log.features + log.attributes]
    flipped = perturb_attribute(
        inputs, config, to_reference=to_reference, to_monitored=to_monitored
    )
    if derive is not None:
        flipped = derive(flipped)
    perturbed = pd.Series([None] * len(frame), dtype=object)
    if isinstance(model, dict):
        versions = frame["model_version"].astype("string").fillna("<missing>")
        unknown = sorted(set(versions) - set(map(str, model)))
        if unknown:
            raise ValueError(f"no model given for logged model_version(s) {unknown}.")
        for version, estimator in model.items():
            rows = (versions == str(version)).to_numpy()
            if rows.any():
                perturbed[rows] = list(_predict(estimator, flipped.loc[rows, log.features]))
    else:
        perturbed[:] = list(_predict(model, flipped[log.features]))
    prediction = frame["prediction"]
    perturbed = perturbed.astype(prediction.dtype)
    fav = [str(v) for v in config.favourable]
    is_fav = prediction.astype("string").isin(fav).to_numpy(bool)
    pert_fav = perturbed.astype("string").isin(fav).to_numpy(bool)
    mon = group == _MONITORED
    # the de-biasing rule: a monitored request refused only because of its group gets the
    # favourable decision it would have got as a member of the reference group
    flip_up = mon & ~is_fav & pert_fav
    debiased = prediction.where(~flip_up, perturbed)
    records = pd.DataFrame(
        {
            "request_id": frame["request_id"],
            "scoring_timestamp": frame["scoring_timestamp"],
            "model_version": frame["model_version"],
            "group": group,
            "prediction": prediction,
            "perturbed_prediction": perturbed,
            "changed": (prediction.astype("string") != perturbed.astype("string")).to_numpy(),
            "debiased_prediction": debiased,
            "label": frame["label"],
        }
    )
    rng = np.random.default_rng(random_state)
    views = _view_counts(records, config)
    ref = ~mon
    summary = {
        "records": {"monitored": int(mon.sum()), "reference": int(ref.sum())},
        "changed": {
            "monitored_to_favourable": int(flip_up.sum()),
            "monitored_to_unfavourable": int((mon & is_fav & ~pert_fav).sum()),
            "reference_to_unfavourable": int((ref & is_fav & ~pert_fav).sum()),
            "reference_to_favourable": int((ref & ~is_fav & pert_fav).sum()),
        },
        "debiased": int(flip_up.sum()),
        "disparate_impact": {
            view: _di_figures(*counts, ci=ci, n_boot=n_boot, rng=rng)
            for view, counts in views.items()
        },
        "accuracy": _feedback_accuracy(records),
    }
    return PerturbationResult(records=records, summary=summary, config=config)


def _feedback_accuracy(records: pd.DataFrame) -> dict:
    """Accuracy of payload and de-biased decisions on requests whose true outcome is known."""
    labelled = records[records["label"].notna()]
    out = {"labelled_records": int(len(labelled))}
    for name, part in (("all", labelled), (_MONITORED, labelled[labelled["group"] == _MONITORED])):
        truth = part["label"].astype("string")
        before = (part["prediction"].astype("string") == truth).mean() if len(part) else np.nan
        after = (
            (part["debiased_prediction"].astype("string") == truth).mean() if len(part) else np.nan
        )
        out[name] = {"records": int(len(part)), "before": float(before), "after": float(after)}
    return out


# --------------------------------------------------------------------------- recommendations

_KINDS = {
    "sex": {
        "names": {"sex", "gender"},
        "values": {"male", "female", "m", "f", "man", "woman", "men", "women", "non-binary"},
    },
    "race": {
        "names": {"race", "ethnicity", "ethnic"},
        "values": {
            "white", "black", "asian", "hispanic", "latino", "other", "asian-pac-islander",
            "amer-indian-eskimo", "native american", "pacific islander", "mixed",
            "african american", "caucasian",
        },
    },
    "marital_status": {
        "names": {"marriage", "marital", "married"},
        "values": {
            "married", "single", "divorced", "widowed", "separated", "never-married",
            "married-civ-spouse", "married-spouse-absent", "married-af-spouse", "others",
        },
    },
    "age": {"names": {"age", "dob", "birthdate", "birth"}, "values": set()},
    "national_origin": {
        "names": {"country", "nationality", "citizenship", "native"},
        "values": set(),
    },
    "postal_code": {"names": {"zip", "zipcode", "postal", "postcode"}, "values": set()},
}  # fmt: skip

# catch-all labels are never recommended as a group: they mix unrelated people
_PLACEHOLDERS = {"unknown", "other", "others", "missing", "?", "na", "n/a", "none", ""}

_YOUNG = 26  # the monitored age group is 18-25 by convention


def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return {t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t}


def _detect(name: str, values: pd.Series):
    """(kind, matched_by) for a column, or None."""
    tokens = _tokens(name)
    by_name = next((k for k, spec in _KINDS.items() if tokens & spec["names"]), None)
    by_values = None
    if not pd.api.types.is_numeric_dtype(values.dtype):
        distinct = {str(v).strip().lower() for v in values.dropna().unique()}
        if 2 <= len(distinct) <= 50:
            for kind, spec in _KINDS.items():
                vocab = spec["values"]
                if vocab and len(distinct & vocab) >= max(2, 0.6 * len(distinct)):
                    by_values = kind
                    break
    if by_name is None and by_values is None:
        return None
    if by_name and by_values and by_name != by_values:
        return by_values, "values"
    kind = by_name or by_values
    matched = "name and values" if by_name and by_values else ("name" if by_name else "values")
    return kind, matched


def _age_groups(values: pd.Series) -> pd.Series:
    """Young (18-25) vs older for numeric ages or age-band labels such as ``"26-35"``."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        young = values < _YOUNG
    else:
        low = values.astype("string").str.extract(r"^\s*(\d+)", expand=False).astype("Float64")
        young = low < _YOUNG
    labels = young.map({True: f"18-{_YOUNG - 1}", False: f"{_YOUNG}+"})
    return labels.where(values.notna())


def recommend_fairness_attributes(
    X: pd.DataFrame, y=None, *, favourable=None, min_group_size: int = 30
) -> pd.DataFrame:
    """Find columns that look like protected attributes and propose monitored/reference values.

    A column is detected by its name (``sex``, ``gender``, ``race``,
    ``marital``, ``age``, ``country``, ``zip`` ... as a word of the name, so
    ``AGE_BAND`` matches and ``average`` does not) or by its values (a column
    of ``male``/``female`` is a sex column whatever it is called).

    Parameters
    ----------
    X : pandas.DataFrame
    y : array-like, optional
        Outcomes (labels or a model's decisions) to rank the groups by.
    favourable : value or list of values, optional
        The favourable values of ``y``; required with ``y``.
    min_group_size : int, default=30
        Groups smaller than this are never recommended (their rates are noise).

    Returns
    -------
    pandas.DataFrame
        One row per detected column: ``column, kind, matched_by, groups``
        (``{value: [count, favourable_rate]}``), ``monitored, reference``
        (lists of values of the column, or of the derived age groups
        ``"18-25"``/``"26+"`` for numeric ages), ``basis`` and ``note``.

    Notes
    -----
    With outcomes, the reference is the group with the highest favourable rate
    and the monitored group the one with the lowest (both among groups of at
    least ``min_group_size``, catch-all labels such as ``unknown`` or
    ``others`` left out). Without, documented conventions apply: sex
    female vs male; race: every other group vs white; marital status: every
    other status vs married; age 18-25 vs 26 and over; national origin: every
    other country vs the most frequent. Postal codes get no recommendation: an
    area's demographics, not its code, decide who may be harmed. These are
    starting points; the people affected and domain experts decide.
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}.")
    if y is not None:
        if favourable is None:
            raise ValueError("favourable is required with y: which outcome values benefit people?")
        y = pd.Series(np.asarray(y), index=X.index)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} values but X has {len(X)} rows.")
        is_fav = y.astype("string").isin([str(v) for v in _as_tuple(favourable, "favourable")])
    rows = []
    for name in X.columns:
        found = _detect(name, X[name])
        if found is None:
            continue
        kind, matched = found
        values = X[name]
        if kind == "age":
            values = _age_groups(values)
        counts = values.value_counts(dropna=True, sort=False)
        counts = counts[counts > 0]
        groups = {str(g): [int(c), None] for g, c in counts.items()}
        note = ""
        monitored = reference = None
        if kind == "postal_code":
            basis = "none"
            note = "join area demographics to postal codes and monitor those groups"
        elif y is not None:
            rates = is_fav.groupby(values, observed=True).mean()
            for g, r in rates.items():
                if str(g) in groups:
                    groups[str(g)][1] = float(r)
            sized = counts.reindex(rates.index).fillna(0) >= min_group_size
            named = ~rates.index.astype(str).str.strip().str.lower().isin(_PLACEHOLDERS)
            big = rates[sized & named]
            if len(big) >= 2:
                reference, monitored = [big.idxmax()], [big.idxmin()]
                basis = "highest / lowest favourable rate"
            else:
                basis = "none"
                note = f"fewer than two groups of at least {min_group_size} rows"
        else:
            basis = "convention"
            monitored, reference = _convention(kind, counts)
        if kind == "age" and not pd.api.types.is_numeric_dtype(X[name].dtype):
            # translate the young/older split back into the column's own band labels
            labels = pd.Series(X[name].dropna().unique())
            young = set(labels[_age_groups(labels) == f"18-{_YOUNG - 1}"].astype(str))
            if monitored is not None:
                monitored = sorted(
                    str(v) for v in labels if (str(v) in young) == (monitored[0].startswith("18"))
                )
                reference = sorted(str(v) for v in labels if str(v) not in monitored)
        elif kind == "age":
            note = f"derive age groups first, e.g. age_band({name}, edges=(18, {_YOUNG}, 101))"
        rows.append(
            {
                "column": name,
                "kind": kind,
                "matched_by": matched,
                "groups": groups,
                "monitored": None if monitored is None else [_plain(v) for v in monitored],
                "reference": None if reference is None else [_plain(v) for v in reference],
                "basis": basis,
                "note": note,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "column",
            "kind",
            "matched_by",
            "groups",
            "monitored",
            "reference",
            "basis",
            "note",
        ],
    )


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _convention(kind, counts: pd.Series):
    labels = [str(v) for v in counts.index]
    lower = {v.lower(): v for v in labels}
    if kind == "sex":
        male = next((lower[k] for k in ("male", "m", "man", "men") if k in lower), None)
        female = next((lower[k] for k in ("female", "f", "woman", "women") if k in lower), None)
        if male and female:
            return [female], [male]
    elif kind == "race":
        white = next((lower[k] for k in ("white", "caucasian") if k in lower), None)
        if white:
            return [v for v in labels if v != white], [white]
    elif kind == "marital_status":
        married = [v for v in labels if v.lower().startswith("married")]
        if married:
            return [v for v in labels if v not in married], married
    elif kind == "age":
        return [f"18-{_YOUNG - 1}"], [f"{_YOUNG}+"]
    elif kind == "national_origin" and len(counts):
        top = str(counts.idxmax())
        return [v for v in labels if v != top], [top]
    return None, None


# --------------------------------------------------------------------------- simulation


def simulate_requests(
    pool: pd.DataFrame,
    *,
    start,
    days: int = 14,
    requests_per_hour: float = 60.0,
    night_share: float = 0.25,
    random_state=None,
) -> pd.DataFrame:
    """Simulated scoring traffic: rows of ``pool`` requested at random times.

    Hourly request counts are Poisson with a daily cycle: the rate is
    ``requests_per_hour`` at midday and ``night_share`` of it at midnight (a
    cosine in between), so night windows are short and exercise the
    ``min_records`` back-fill. Rows are drawn from ``pool`` with replacement.

    Returns
    -------
    pandas.DataFrame
        The sampled rows (original index kept in column ``pool_index``) with a
        ``scoring_timestamp`` column, sorted by time.
    """
    if not isinstance(pool, pd.DataFrame) or pool.empty:
        raise ValueError("pool must be a non-empty DataFrame of requests to sample from.")
    if days <= 0 or requests_per_hour <= 0 or not 0 <= night_share <= 1:
        raise ValueError(
            "days and requests_per_hour must be positive and night_share in [0, 1]; got "
            f"days={days!r}, requests_per_hour={requests_per_hour!r}, night_share={night_share!r}."
        )
    rng = np.random.default_rng(random_state)
    hours = pd.date_range(_timestamp(start, "start"), periods=int(days) * 24, freq="h")
    cycle = (1 - np.cos(2 * np.pi * hours.hour.to_numpy() / 24)) / 2  # 0 at midnight, 1 at noon
    rate = requests_per_hour * (night_share + (1 - night_share) * cycle)
    counts = rng.poisson(rate)
    offsets = rng.integers(0, 3_600_000_000, size=counts.sum())  # microseconds into the hour
    stamps = np.repeat(hours.to_numpy().astype("datetime64[us]"), counts) + offsets.astype(
        "timedelta64[us]"
    )
    picks = rng.integers(0, len(pool), size=counts.sum())
    out = pool.iloc[picks].copy()
    out.insert(0, "pool_index", out.index.to_numpy())
    out["scoring_timestamp"] = stamps
    return out.sort_values("scoring_timestamp", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- figures

_VIEW_LABELS = {
    "payload": "Payload (decisions as made)",
    "payload_plus_perturbed": "Payload + perturbed records",
    "debiased": "De-biased decisions",
}


def _axis_top(values: pd.DataFrame) -> float:
    """Upper y limit in percent: room above parity, but tiny windows' huge intervals are clipped."""
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(np.clip(finite.max(initial=0) + 10, 110, 250))


def plot_disparate_impact(
    windows: pd.DataFrame, config: FairnessConfig, *, events=None, title=None
):
    """Disparate-impact timeline: value per window with its interval, threshold band, alerts.

    Parameters
    ----------
    windows : pandas.DataFrame
        From :func:`windowed_disparate_impact`.
    config : FairnessConfig
    events : dict, optional
        ``{label: timestamp}`` drawn as vertical lines (e.g. a model release).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = windows.assign(
        di=windows["disparate_impact"] * 100,
        low=windows["ci_low"] * 100,
        high=windows["ci_high"] * 100,
    )
    fig, ax = plt.subplots(figsize=(11, 5), layout="constrained")
    top = _axis_top(data[["di", "high"]])
    ax.axhspan(0, config.threshold * 100, color="tab:red", alpha=0.08, label="Below threshold")
    ax.axhline(config.threshold * 100, color="tab:red", lw=1, ls="--")
    ax.axhline(100, color="grey", lw=0.8, ls=":", label="Parity (100%)")
    if data["low"].notna().any():
        ax.fill_between(
            data["window_start"], data["low"], data["high"], color="tab:blue", alpha=0.15,
            lw=0, step="post", label="95% bootstrap interval",
        )  # fmt: skip
    sns.lineplot(
        data=data, x="window_start", y="di", ax=ax, drawstyle="steps-post", lw=1.2,
        color="tab:blue", label="Disparate impact per window",
    )  # fmt: skip
    alerts = data[data["alert"]]
    ax.scatter(
        alerts["window_start"], alerts["di"], color="tab:red", marker="v", s=14, zorder=3,
        label=f"Alert ({len(alerts)} windows)",
    )  # fmt: skip
    for label, when in (events or {}).items():
        ax.axvline(pd.Timestamp(when), color="black", lw=1)
        ax.annotate(
            label, (pd.Timestamp(when), top * 0.97), xytext=(4, 0), textcoords="offset points",
            va="top", fontsize=9,
        )  # fmt: skip
    groups = f"{', '.join(map(str, config.monitored))} vs {', '.join(map(str, config.reference))}"
    width = _duration_text(config.window)
    ax.set(
        ylim=(0, top),
        xlabel="Window start (UTC)",
        ylabel="Disparate impact (%)",
        title=title or f"Disparate impact of {config.attribute} ({groups}) per {width} window",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncols=3, frameon=False)
    return fig


def plot_perturbation_views(
    windowed: pd.DataFrame, config: FairnessConfig, *, events=None, title=None
):
    """Disparate impact per window for the payload, payload + perturbed and de-biased views.

    ``windowed`` is :meth:`PerturbationResult.windowed`'s long table.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = windowed.assign(
        di=windowed["disparate_impact"] * 100, View=windowed["view"].map(_VIEW_LABELS)
    )
    fig, ax = plt.subplots(figsize=(11, 4.5), layout="constrained")
    ax.axhspan(0, config.threshold * 100, color="tab:red", alpha=0.08, label="Below threshold")
    ax.axhline(100, color="grey", lw=0.8, ls=":")
    sns.lineplot(
        data=data, x="window_start", y="di", hue="View", style="View", markers=True, ax=ax,
        hue_order=list(_VIEW_LABELS.values()), style_order=list(_VIEW_LABELS.values()),
    )  # fmt: skip
    for label, when in (events or {}).items():
        ax.axvline(pd.Timestamp(when), color="black", lw=1, label=label)
    ax.set(
        ylim=(0, _axis_top(data[["di"]])),
        xlabel="Window start (UTC)",
        ylabel="Disparate impact (%)",
        title=title or f"Disparate impact of {config.attribute}: payload, perturbed, de-biased",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncols=3, frameon=False)
    return fig

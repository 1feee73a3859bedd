"""What to monitor: the sensitive feature, monitored and reference values, the favourable label."""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

#: The fixed columns of a payload log (the logged model inputs and attributes come in between).
PAYLOAD_COLUMNS = (
    "request_id",
    "scoring_timestamp",
    "model_version",
    "prediction",
    "probability",
    "label",
)

#: Largest ``min_records`` (far beyond any window; keeps the counts' integers in range).
MAX_MIN_RECORDS = 1_000_000_000


def value_text(value) -> str | None:
    """How a logged value is written when values are compared: the same text, the same value.

    ``True`` is ``"true"``, a whole float is its integer (``1.0`` is ``"1"``, as an
    integer column read through a float one is), ``30`` and ``"30"`` are one value;
    a missing value is None.

    Parameters
    ----------
    value : scalar

    Returns
    -------
    str or None
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def series_text(values: pd.Series) -> pd.Series:
    """:func:`value_text` of every value of a column (missing values stay missing)."""
    return values.astype(object).map(value_text).astype("string")


def duration_text(width) -> str:
    """A window length as people write it: ``1h``, ``30min``, ``1D``, ``90min``."""
    text = to_offset(pd.Timedelta(width)).freqstr
    return text if text[0].isdigit() else f"1{text}"


def as_timestamp(value, name) -> pd.Timestamp:
    """A naive UTC timestamp with microsecond resolution (aware values are converted).

    Raises
    ------
    ValueError
        For a number (its unit is ambiguous), a missing value or text that is not a date-time.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        raise ValueError(
            f"{name}={value!r} is a number, whose unit is ambiguous; give a date-time such as "
            f"'2026-03-02 14:00', or pd.to_datetime({value!r}, unit='s') for seconds since 1970."
        )
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


def as_tuple(values, name) -> tuple:
    """One value or a list of values as a tuple of plain Python values (numpy scalars unwrapped)."""
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
    """What to monitor: one sensitive feature and how to judge its outcomes.

    Parameters
    ----------
    sensitive_features : str
        The logged column holding the sensitive feature (e.g. ``"SEX"``).
    monitored : value or list of values
        Values of the group that may be harmed (e.g. ``"female"``).
    reference : value or list of values
        Values of the comparison group (e.g. ``"male"``); disjoint from ``monitored``.
    favourable_label : value or list of values
        Prediction values that benefit the person (e.g. ``0``, "will not default").
        A missing prediction is never favourable.
    threshold : float, default=0.8
        Alert when disparate impact falls below it. A fraction in ``(0, 2]``:
        0.8 means 80% (the four-fifths rule).
    min_records : int, default=100
        Fewest monitored and reference records a window's disparate impact
        rests on; shorter windows borrow the newest earlier ones, never across
        a change of model version.
    window : str or pandas.Timedelta, default="1h"
        Window length, anything :class:`pandas.Timedelta` accepts.

    Raises
    ------
    ValueError
        The threshold is outside ``(0, 2]`` (a percentage such as 80 is refused
        with a hint), ``min_records`` is not an integer from 0 to
        :data:`MAX_MIN_RECORDS`, the window is not positive, or monitored and
        reference values overlap (compared by :func:`value_text`).
    """

    sensitive_features: str
    monitored: tuple
    reference: tuple
    favourable_label: tuple
    threshold: float = 0.8
    min_records: int = 100
    window: pd.Timedelta = field(default=pd.Timedelta("1h"))

    def __post_init__(self):
        column = self.sensitive_features
        if not isinstance(column, str) or not column:
            raise ValueError(
                f"sensitive_features must be one column name such as 'SEX', got {column!r}."
            )
        set_ = object.__setattr__
        for name in ("monitored", "reference", "favourable_label"):
            set_(self, name, as_tuple(getattr(self, name), name))
        overlap = {value_text(v) for v in self.monitored} & {value_text(v) for v in self.reference}
        if overlap:
            raise ValueError(
                f"values {sorted(overlap)} are both monitored and reference; a value "
                "belongs to one group only."
            )
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not np.isfinite(t):
            raise ValueError(f"threshold must be a number in (0, 2] such as 0.8, got {t!r}.")
        if not 0 < t <= 2:
            hint = f" (did you mean {t / 100:g}? give a fraction)" if 2 < t <= 200 else ""
            raise ValueError(f"threshold must be in (0, 2], got {t!r}{hint}.")
        set_(self, "threshold", float(t))
        m = self.min_records
        if (
            isinstance(m, bool)
            or not isinstance(m, numbers.Integral)
            or not 0 <= m <= MAX_MIN_RECORDS
        ):
            raise ValueError(
                f"min_records must be an integer from 0 to {MAX_MIN_RECORDS:,}, got {m!r}."
            )
        set_(self, "min_records", int(m))
        window = self.window
        if isinstance(window, str) and re.fullmatch(r"\s*\d+\s*d\s*", window):
            window = window.replace("d", "D")  # days, without pandas' deprecation of "d"
        try:
            window = pd.Timedelta(window)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"window must be a duration such as '1h' or '30min', got {self.window!r}."
            ) from exc
        if window <= pd.Timedelta(0) or window != window.floor("us"):
            raise ValueError(
                f"window must be a positive whole number of microseconds, got {window}."
            )
        set_(self, "window", window)

    def validate(self, log) -> FairnessConfig:
        """Check the configuration against a payload log or table; returns ``self``.

        Parameters
        ----------
        log : PayloadLog or TableLog

        Raises
        ------
        ValueError
            The sensitive feature is not a logged column, a monitored or
            reference value never occurs in it, or no favourable label is a
            logged prediction (e.g. ``"granted"`` for a log of 0/1 predictions).
        """
        column = self.sensitive_features
        if column not in log.columns or column in PAYLOAD_COLUMNS:
            raise ValueError(
                f"sensitive_features={column!r} is not a logged column; choose one of "
                f"{log.features + log.attributes}."
            )
        present = log.values(column)
        shown = {value_text(v) for v in present}
        for name in ("monitored", "reference"):
            absent = [v for v in getattr(self, name) if value_text(v) not in shown]
            if absent:
                raise ValueError(
                    f"{name} value(s) {absent} of {column!r} never occur in the payload log; "
                    f"it holds {present[:20]}."
                )
        outcomes = log.values("prediction")
        wanted = {value_text(v) for v in self.favourable_label}
        if outcomes and not wanted & {value_text(v) for v in outcomes}:
            raise ValueError(
                f"favourable_label={list(self.favourable_label)} matches none of the logged "
                f"predictions {outcomes[:20]}; give the prediction value(s) that benefit people."
            )
        return self

    def to_dict(self) -> dict:
        """JSON-ready form (the window as a string such as ``"1h"``)."""
        return {
            "sensitive_features": self.sensitive_features,
            "monitored": list(self.monitored),
            "reference": list(self.reference),
            "favourable_label": list(self.favourable_label),
            "threshold": self.threshold,
            "min_records": self.min_records,
            "window": duration_text(self.window),
        }

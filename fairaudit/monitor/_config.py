"""What to monitor: the fairness attribute, monitored and reference values, favourable outcomes."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fairaudit.monitor._payload import PAYLOAD_COLUMNS, PayloadLog

#: Largest ``min_records`` (far beyond any window; keeps the SQL's integers in range).
MAX_MIN_RECORDS = 1_000_000_000


def value_text(value) -> str:
    """A value as SQL's ``CAST(... AS VARCHAR)`` writes it, so Python and DuckDB compare alike.

    ``True`` is ``"true"`` (Python would write ``"True"``), a numpy scalar is
    its Python value; everything else is ``str(value)``.

    Parameters
    ----------
    value : scalar

    Returns
    -------
    str
    """
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def series_text(values: pd.Series) -> pd.Series:
    """:func:`value_text` of every value of a column (missing values stay missing).

    Parameters
    ----------
    values : pandas.Series

    Returns
    -------
    pandas.Series of dtype ``string``
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.map({True: "true", False: "false"}).astype("string")
    return values.astype("string")


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
        Smallest number of monitored and reference records a window's
        disparate impact is computed from (requests of other groups do not
        count); shorter windows are topped up with the newest earlier ones.
    window : str or pandas.Timedelta, default="1h"
        Window length, anything :class:`pandas.Timedelta` accepts.

    Raises
    ------
    ValueError
        The threshold is outside ``(0, 2]`` (a percentage such as 80 is
        refused with a hint), ``min_records`` is not an integer from 0 to
        :data:`MAX_MIN_RECORDS`, the window is not positive, or monitored and
        reference values overlap (compared as the log compares them: ``30``
        and ``"30"`` are one value, ``True`` is ``"true"``).
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
        # compared by the text the log compares (30 and "30" are the same value there)
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
            hint = (
                f" (did you mean {t / 100:g}? give a fraction, not a percentage)"
                if 2 < t <= 200
                else ""
            )
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

        Parameters
        ----------
        log : PayloadLog
            The log the configuration will monitor.

        Returns
        -------
        FairnessConfig

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
        shown = {value_text(v) for v in present}
        for name in ("monitored", "reference"):
            absent = [v for v in getattr(self, name) if value_text(v) not in shown]
            if absent:
                raise ValueError(
                    f"{name} value(s) {absent} of {self.attribute!r} never occur in the payload "
                    f"log; it holds {present[:20]}."
                )
        # values are compared as text in SQL, so 0 and "0" both match a logged 0
        outcomes = log.values("prediction")
        favourable = {value_text(v) for v in self.favourable}
        if outcomes and not favourable & {value_text(v) for v in outcomes}:
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

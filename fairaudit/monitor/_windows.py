"""Disparate impact per time window, counted where the log lives, back-filled, and alerts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from fairaudit.metrics import UndefinedMetricWarning, disparate_impact_from_counts
from fairaudit.monitor._backfill import history, plan_windows, used_counts
from fairaudit.monitor._config import FairnessConfig, as_timestamp, duration_text
from fairaudit.monitor._payload import PayloadLog
from fairaudit.monitor._tables import TableLog

#: Windows are aligned to this Monday midnight (UTC), so hourly windows start on the hour.
ORIGIN = pd.Timestamp("2000-01-03")
#: Most windows one call computes (each gets its own disparate impact and interval).
MAX_WINDOWS = 100_000
_GROUP_NAMES = {1: "monitored", 2: "reference"}


def as_table_log(log) -> TableLog:
    """The log as a :class:`TableLog`: a payload log's DuckDB table, or any other table."""
    if isinstance(log, TableLog):
        return log
    if isinstance(log, PayloadLog):
        return log.table_log()
    return TableLog(log)


def _grid(h, config, start, end_us, origin):
    """Window starts (µs since origin) from ``start`` (or the first request) to ``end``."""
    width = int(config.window / pd.Timedelta("1us"))
    if h.empty and (start is None or end_us is None):
        return None
    if start is not None:
        first = ((as_timestamp(start, "start") - origin) // pd.Timedelta("1us")) // width * width
    else:
        first = int(h["bucket"].min())
    last = (end_us - 1) // width * width if end_us is not None else int(h["bucket"].max())
    if last < first:
        raise ValueError("end is not after start; give a non-empty time range.")
    n_windows = (last - first) // width + 1
    if n_windows > MAX_WINDOWS:
        raise ValueError(
            f"window={duration_text(config.window)!r} makes {n_windows:,} windows, more than "
            f"{MAX_WINDOWS:,}; choose a longer window or a shorter range."
        )
    return np.arange(first, last + 1, width, dtype=np.int64)


def _windows_and_plan(log, config, start, end, origin):
    table = as_table_log(log)
    config.validate(table)
    origin = ORIGIN if origin is None else as_timestamp(origin, "origin")
    end_us = None if end is None else (as_timestamp(end, "end") - origin) // pd.Timedelta("1us")
    h = history(table, config, origin, end_us)
    grid = _grid(h, config, start, end_us, origin)
    return table, origin, end_us, h, grid


def _stamps(origin, us) -> pd.Series:
    """Naive UTC timestamps from microseconds since ``origin`` (NaN gives NaT)."""
    us = np.asarray(us, dtype=float)
    stamps = np.datetime64(origin, "us") + np.nan_to_num(us).astype(np.int64).astype("m8[us]")
    return pd.Series(np.where(np.isnan(us), np.datetime64("NaT"), stamps), dtype="datetime64[us]")


def windowed_disparate_impact(
    log,
    config: FairnessConfig,
    *,
    start=None,
    end=None,
    origin=None,
    ci: float = 0.95,
    n_boot: int = 1000,
    random_state=None,
) -> pd.DataFrame:
    """Disparate impact of the monitored group per time window, computed where the log lives.

    Parameters
    ----------
    log : PayloadLog, TableLog or table
        A payload log, or a payload table in any engine narwhals reads (see
        :class:`TableLog`); all give the same windows on the same rows.
    config : FairnessConfig
        Validated against ``log`` first.
    start, end : datetime-like, optional
        Monitor the windows overlapping ``[start, end)``; default: from the
        first to the last logged request. Requests at or after ``end`` are
        ignored; requests before ``start`` may still be borrowed.
    origin : datetime-like, optional
        Windows are aligned to it (default 2000-01-03 00:00 UTC, a Monday).
    ci, n_boot, random_state
        Bootstrap interval of each window's disparate impact, as in
        :func:`fairaudit.metrics.disparate_impact_from_counts` (``n_boot=0``
        skips intervals).

    Returns
    -------
    pandas.DataFrame
        One row per window: ``window_start, window_end`` (UTC), ``records``
        (every request in the window), ``records_used, backfilled`` (the
        monitored and reference records the value rests on, and how many of
        them came from earlier windows), ``oldest_used, newest_used``,
        ``monitored_favourable, monitored_total, reference_favourable,
        reference_total, monitored_rate, reference_rate, disparate_impact,
        ci_low, ci_high``, ``status`` (``"ok"``, ``"alert"``, or ``"undefined"``
        when a group has no records or the reference group no favourable
        outcome), ``alert`` (the point estimate is below the threshold) and
        ``alert_confirmed`` (the whole interval is, and the window rests on
        ``min_records`` records).

        A window with fewer than ``min_records`` monitored and reference records
        borrows the newest earlier ones, but only from the windows just before
        it that its model version served alone: a window in which the version
        changed borrows nothing and lends nothing. ``records_used <
        min_records`` then means the history since the change is too short.
    """
    table, origin, end_us, h, grid = _windows_and_plan(log, config, start, end, origin)
    if grid is None:
        return pd.DataFrame(columns=WINDOW_COLUMNS)
    plan = plan_windows(h, grid, config.min_records)
    used = used_counts(table, config, origin, end_us, h, plan)
    starts = _stamps(origin, grid)
    out = pd.DataFrame(
        {
            "window_start": starts,
            "window_end": starts + config.window,
            "records": plan["records"].astype(np.int64),
            "records_used": used["used"].astype(np.int64),
            "backfilled": (used["used"] - plan["own"]).astype(np.int64),
            "oldest_used": _stamps(origin, used["oldest_us"]),
            "newest_used": _stamps(origin, used["newest_us"]),
            "monitored_favourable": used["m_fav"].astype(np.int64),
            "monitored_total": used["m_tot"].astype(np.int64),
            "reference_favourable": used["r_fav"].astype(np.int64),
            "reference_total": used["r_tot"].astype(np.int64),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["monitored_rate"] = out["monitored_favourable"] / out["monitored_total"].where(
            out["monitored_total"] > 0
        )
        out["reference_rate"] = out["reference_favourable"] / out["reference_total"].where(
            out["reference_total"] > 0
        )
    defined = (out["monitored_total"] > 0) & (out["reference_favourable"] > 0)
    out["disparate_impact"] = (out["monitored_rate"] / out["reference_rate"]).where(defined)
    out["ci_low"] = out["ci_high"] = np.nan
    if n_boot > 0:  # each defined window's own bootstrap, one seeded stream for all
        rng = np.random.default_rng(random_state)
        counts = out.loc[defined, ["monitored_favourable", "monitored_total",
                                   "reference_favourable", "reference_total"]]  # fmt: skip
        bounds = [
            [(r := disparate_impact_record(*c, ci=ci, n_boot=n_boot, rng=rng))["ci_low"],
             r["ci_high"]] for c in counts.itertuples(index=False)
        ]  # fmt: skip
        out.loc[defined, ["ci_low", "ci_high"]] = np.array(bounds, dtype=float).reshape(-1, 2)
    out["alert"] = out["disparate_impact"] < config.threshold
    # a confirmed alert: the whole interval lies below the threshold (NaN bounds never confirm),
    # and the window rests on min_records records (a handful gives a degenerate interval)
    out["alert_confirmed"] = (out["ci_high"] < config.threshold) & (
        out["records_used"] >= config.min_records
    )
    out["status"] = np.where(
        out["disparate_impact"].isna(), "undefined", np.where(out["alert"], "alert", "ok")
    )
    return out[WINDOW_COLUMNS]


WINDOW_COLUMNS = [
    "window_start", "window_end", "records", "records_used", "backfilled", "oldest_used",
    "newest_used", "monitored_favourable", "monitored_total", "reference_favourable",
    "reference_total", "monitored_rate", "reference_rate", "disparate_impact", "ci_low",
    "ci_high", "status", "alert", "alert_confirmed",
]  # fmt: skip


def window_records(log, config: FairnessConfig, window_start, *, end=None, origin=None):
    """The requests a window's disparate impact was computed from (back-filled ones included).

    Useful to inspect an alert: which requests, from which earlier windows.

    Parameters
    ----------
    log : PayloadLog, TableLog or table
    config : FairnessConfig
    window_start : timestamp
        The start of the window, as in :func:`windowed_disparate_impact`'s table.
    end, origin : timestamp, optional
        As given to :func:`windowed_disparate_impact`.

    Returns
    -------
    pandas.DataFrame
        ``request_id, scoring_timestamp, window_start`` (the window each request
        was logged in), ``group`` and ``favourable``, newest first.
    """
    origin_ts = ORIGIN if origin is None else as_timestamp(origin, "origin")
    start = as_timestamp(window_start, "window_start")
    if (start - origin_ts) % config.window != pd.Timedelta(0):
        raise ValueError(
            f"window_start={start} is not a window start for window {duration_text(config.window)}."
        )
    stop = start + config.window
    stop = stop if end is None else min(stop, as_timestamp(end, "end"))
    table, origin_ts, end_us, h, grid = _windows_and_plan(log, config, start, stop, origin_ts)
    plan = plan_windows(h, grid[:1], config.min_records).iloc[0]
    positions = h["cum_g"] - h["g"]
    lending = h[(h["cum_g"] > plan["lo"]) & (positions < plan["hi"])]
    rows = table.group_records(config, origin_ts, lending["bucket"], end_us)
    rows["pos"] = rows["bucket"].map(dict(zip(h["bucket"], positions, strict=True))) + rows["rank"]
    rows = rows[(rows["pos"] > plan["lo"]) & (rows["pos"] <= plan["hi"])]
    rows = rows.sort_values("pos", ascending=False, ignore_index=True)
    return pd.DataFrame(
        {
            "request_id": rows["request_id"].to_numpy(),
            "scoring_timestamp": _stamps(origin_ts, rows["us"]),
            "window_start": _stamps(origin_ts, rows["bucket"]),
            "group": rows["grp"].map(_GROUP_NAMES),
            "favourable": rows["fav"].astype(bool),
        }
    )


def fairness_alerts(windows: pd.DataFrame, config: FairnessConfig) -> pd.DataFrame:
    """The windows that raised an alert, as a tidy table (one row per alert).

    Columns: ``window_start, window_end, sensitive_features, monitored, reference,
    disparate_impact, ci_low, ci_high, threshold, records_used, backfilled``
    (values as fractions). An alert whose interval reaches above the threshold,
    or that rests on back-filled records, deserves a second look before action.

    Parameters
    ----------
    windows : pandas.DataFrame
        From :func:`windowed_disparate_impact`.
    config : FairnessConfig
        The configuration it was computed with.

    Returns
    -------
    pandas.DataFrame
    """
    hits = windows[windows["alert"]]
    return pd.DataFrame(
        {
            "window_start": hits["window_start"],
            "window_end": hits["window_end"],
            "sensitive_features": config.sensitive_features,
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


def disparate_impact_record(m_fav, m_tot, r_fav, r_tot, *, ci=0.95, n_boot=0, rng=None) -> dict:
    """Counts, rates and disparate impact (with interval) of monitored vs reference."""
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
                pd.Series([m_fav, r_fav], index=["monitored", "reference"]),
                pd.Series([m_tot, r_tot], index=["monitored", "reference"]),
                reference_group="reference",
                ci=ci,
                n_boot=n_boot,
                random_state=rng,
                min_group_size=0,
            )
        row = frame.loc["monitored"]
        out.update(
            disparate_impact=float(row["disparate_impact"]),
            ci_low=float(row["ci_low"]),
            ci_high=float(row["ci_high"]),
        )
    return out

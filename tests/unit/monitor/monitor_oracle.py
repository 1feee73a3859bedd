"""A brute-force pandas oracle of the monitor's windows, written apart from the package.

It walks the log window by window and record by record, the slow way, from the
documented rules only:

* timestamps are UTC (aware ones are converted, naive ones taken as UTC); a
  window starts at ``origin + k * window``;
* a value belongs to a group when it is written the same way as one of the
  group's values (``True`` is ``"true"``, ``1.0`` is ``"1"``); a missing value
  belongs to no group, and a missing prediction is not favourable;
* a window's disparate impact rests on its own monitored and reference records
  and, when those are fewer than ``min_records``, on the newest earlier ones
  (ordered by time, then request id) until it has ``min_records``; it borrows
  only from the windows just before it that the model version serving it
  served alone, so a window in which the version changed neither borrows nor is
  borrowed from, and neither is a window of another version.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def key(value):
    """How the log writes a value, or None for a missing one."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def utc_naive(stamps: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(stamps)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[us]")


def oracle_windows(
    table: pd.DataFrame,
    *,
    column,
    monitored,
    reference,
    favourable,
    threshold=0.8,
    min_records=0,
    window="1h",
    origin="2000-01-03",
    start=None,
    end=None,
) -> pd.DataFrame:
    """The windows of ``table`` (a pandas payload table), one row each."""
    width, origin = pd.Timedelta(window), pd.Timestamp(origin)
    df = table.copy()
    df["ts"] = utc_naive(df["scoring_timestamp"])
    if end is not None:
        df = df[df["ts"] < _utc(end)]
    df = df.sort_values(["ts", "request_id"]).reset_index(drop=True)
    keys = df[column].map(key)
    mon_keys, ref_keys = {key(v) for v in monitored}, {key(v) for v in reference}
    df["grp"] = np.where(keys.isin(mon_keys), 1, np.where(keys.isin(ref_keys), 2, 0))
    df["grp"] = np.where(keys.isna(), 0, df["grp"])
    df["fav"] = df["prediction"].map(key).isin({key(v) for v in favourable})
    if "model_version" in df:
        df["version"] = df["model_version"].map(lambda v: "<missing>" if key(v) is None else key(v))
    else:
        df["version"] = "one"
    df["bucket"] = origin + ((df["ts"] - origin) // width) * width
    if df.empty and (start is None or end is None):
        return pd.DataFrame()
    first = _floor(_utc(start), origin, width) if start is not None else df["bucket"].min()
    last = (
        _floor(_utc(end) - pd.Timedelta("1us"), origin, width)
        if end is not None
        else df["bucket"].max()
    )
    versions = df.groupby("bucket")["version"].agg(frozenset)  # who served each window
    rows = [
        _one_window(df, w_start, width, min_records, versions)
        for w_start in pd.date_range(first, last, freq=width)
    ]
    out = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["monitored_rate"] = out["monitored_favourable"] / out["monitored_total"].where(
            out["monitored_total"] > 0
        )
        out["reference_rate"] = out["reference_favourable"] / out["reference_total"].where(
            out["reference_total"] > 0
        )
        out["disparate_impact"] = (out["monitored_rate"] / out["reference_rate"]).where(
            (out["monitored_total"] > 0) & (out["reference_favourable"] > 0)
        )
    out["alert"] = out["disparate_impact"] < threshold
    out["status"] = np.where(
        out["disparate_impact"].isna(), "undefined", np.where(out["alert"], "alert", "ok")
    )
    return out


def _utc(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tz is not None else stamp


def _floor(t, origin, width):
    return origin + ((t - origin) // width) * width


def _one_window(df, w_start, width, min_records, versions) -> dict:
    in_window = df["bucket"] == w_start
    own = df[in_window & (df["grp"] > 0)]
    used = own
    if len(own) < min_records:
        lenders = _lending_windows(versions, w_start)
        earlier = df[df["bucket"].isin(lenders) & (df["grp"] > 0)]
        used = pd.concat([earlier.tail(min_records - len(own)), own])
    mon, ref = used[used["grp"] == 1], used[used["grp"] == 2]
    return {
        "window_start": w_start,
        "window_end": w_start + width,
        "records": int(in_window.sum()),
        "records_used": len(used),
        "backfilled": len(used) - len(own),
        "oldest_used": used["ts"].min() if len(used) else pd.NaT,
        "newest_used": used["ts"].max() if len(used) else pd.NaT,
        "monitored_favourable": int(mon["fav"].sum()),
        "monitored_total": len(mon),
        "reference_favourable": int(ref["fav"].sum()),
        "reference_total": len(ref),
        "ids": list(used["request_id"]),
    }


def _lending_windows(versions, w_start) -> list:
    """The earlier windows a window may borrow from: back to the last change of model version."""
    mine = versions.get(w_start)
    if mine is None:  # an empty window is served by the version of the last request before it
        before = versions[versions.index < w_start]
        if before.empty:
            return []
        mine = before.iloc[-1]
    if len(mine) != 1:
        return []
    lenders = []
    for bucket in sorted(versions.index[versions.index < w_start], reverse=True):
        if versions[bucket] != mine:
            break
        lenders.append(bucket)
    return lenders

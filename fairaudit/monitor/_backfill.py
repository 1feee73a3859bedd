"""The back-fill of short windows, planned from the counts the engine returns.

One path for every log: the engine holding the requests (DuckDB for a
:class:`PayloadLog`, or Spark, Polars, pandas for a :class:`TableLog`) counts
per window and model version; the back-fill is planned here from those
counts. Monitored and reference records are numbered in time order (then by
request id); a window uses positions ``(lo, hi]``, where ``hi`` counts the
records up to its end and ``lo`` reaches back ``min_records`` records, but
never before the run of windows that the window's model version served alone.
A window's counts are differences of running totals at ``hi`` and ``lo``; only
the window in which ``lo`` falls, when it falls inside one, is read back
record by record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_GROUP_COUNTS = ["m_tot", "m_fav", "r_tot", "r_fav"]


def history(table, config, origin, end_us):
    """Every window holding requests, in time order, with its counts, its model version
    (None when two served in it), running totals and the first position it may borrow from."""
    counts = table.window_counts(config, origin, end_us)
    by = counts.groupby("bucket", sort=True)
    h = by[["n", *_GROUP_COUNTS]].sum()
    h["first_us"], h["last_us"] = by["first_us"].min(), by["last_us"].max()
    versions = by["version"].agg(["nunique", "first"])
    h["version"] = versions["first"].where(versions["nunique"] == 1)
    h["g"] = h["m_tot"] + h["r_tot"]
    h = h.reset_index()
    total = h[[*_GROUP_COUNTS, "g"]].cumsum().add_prefix("cum_")
    h = pd.concat([h, total], axis=1)
    mixed = h["version"].isna()
    new_run = mixed | mixed.shift(fill_value=True) | (h["version"] != h["version"].shift())
    # back-fill reaches back to the first window of a run served by one version, no further
    h["floor"] = (h["cum_g"] - h["g"]).where(new_run).ffill().fillna(0).astype(np.int64)
    h["mixed"] = mixed
    return h


def plan_windows(h, grid, min_records):
    """Per window: its own counts and the positions ``(lo, hi]`` of the records it uses."""
    if h.empty:  # nothing logged before the end: every window is empty
        h = pd.DataFrame(0, index=[0], columns=h.columns).assign(bucket=grid[-1] + 1, mixed=False)
    b = h["bucket"].to_numpy()
    k = np.searchsorted(b, grid, side="right") - 1  # the last window with requests, up to here
    has = k >= 0
    kk = np.where(has, k, 0)
    own = has & (b[kk] == grid)
    plan = pd.DataFrame({"bucket": grid, "k": np.where(has, k, -1)})
    plan["records"] = np.where(own, h["n"].to_numpy()[kk], 0)
    plan["own"] = np.where(own, h["g"].to_numpy()[kk], 0)
    hi = np.where(has, h["cum_g"].to_numpy()[kk], 0)
    after_mixed = ~own & h["mixed"].to_numpy()[kk]  # an empty window after a change borrows none
    floor = np.where(after_mixed, hi, h["floor"].to_numpy()[kk])
    plan["hi"] = hi
    plan["lo"] = np.minimum(np.maximum(hi - min_records, np.where(has, floor, 0)), hi - plan["own"])
    # the window in which position lo + 1 lies, and lo's rank inside it
    j = np.searchsorted(h["cum_g"].to_numpy(), plan["lo"].to_numpy(), side="right")
    plan["j"] = np.where(plan["hi"] > plan["lo"], j, -1)
    jj = np.clip(plan["j"].to_numpy(), 0, max(len(h) - 1, 0))
    plan["r"] = np.where(plan["j"] >= 0, plan["lo"] - (h["cum_g"] - h["g"]).to_numpy()[jj], 0)
    return plan


def used_counts(table, config, origin, end_us, h, plan):
    """The counts, oldest and newest record of each window's records ``(lo, hi]``."""
    totals = h[[f"cum_{c}" for c in _GROUP_COUNTS]].to_numpy()
    zero = np.zeros((1, len(_GROUP_COUNTS)), dtype=np.int64)
    at_end = np.vstack([zero, totals])  # running totals after window k is at index k + 1
    k, j, r = plan["k"].to_numpy(), plan["j"].to_numpy(), plan["r"].to_numpy()
    used = plan["hi"] - plan["lo"]
    upper = at_end[k + 1]
    lower = np.where((j >= 0)[:, None], at_end[np.maximum(j, 0)], upper)
    first_us = h["first_us"].to_numpy()
    oldest = np.where(j >= 0, first_us[np.maximum(j, 0)] if len(h) else 0, np.nan)
    inside = (j >= 0) & (r > 0)
    if inside.any():  # lo falls inside a window: read that window's records back, ranked
        rows = table.group_records(config, origin, h["bucket"].to_numpy()[j[inside]], end_us)
        for c, test in (("m_tot", rows["grp"] == 1), ("r_tot", rows["grp"] == 2)):
            rows[c] = test.astype(np.int64)
            rows[c.replace("tot", "fav")] = (test & (rows["fav"] == 1)).astype(np.int64)
        rows[_GROUP_COUNTS] = rows.groupby("bucket")[_GROUP_COUNTS].cumsum()
        ranked = rows.set_index(["bucket", "rank"])
        buckets = h["bucket"].to_numpy()[j[inside]]
        lower[inside] += ranked.loc[list(zip(buckets, r[inside], strict=True)), _GROUP_COUNTS]
        oldest[inside] = ranked.loc[list(zip(buckets, r[inside] + 1, strict=True)), "us"]
    newest_at = np.searchsorted(h["cum_g"].to_numpy(), plan["hi"].to_numpy(), side="left")
    newest = h["last_us"].to_numpy()[np.minimum(newest_at, max(len(h) - 1, 0))] if len(h) else 0
    out = pd.DataFrame(upper - lower, columns=_GROUP_COUNTS, index=plan.index)
    out["used"] = used
    out["oldest_us"] = np.where(used > 0, oldest, np.nan)
    out["newest_us"] = np.where(used > 0, newest, np.nan)
    return out

"""Alerting rules as sequential detection: how often each cries wolf, and how late it sees a drift.

A monitor raises an alarm window after window, so each rule is a sequential
test: its false-alarm rate (alarms per window while nothing changed) and its
detection delay (from a change to the first alarm after it) trade against each
other. Three rules read the windows: an alert on the point estimate, an alert
confirmed by the whole interval, and ``k`` point alerts in a row. A fourth,
Page's CUSUM, accumulates evidence over the windows' *own* records, so that no
record is counted twice, as overlapping back-filled windows would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def alert_runs(alert: pd.Series, k: int) -> pd.Series:
    """Whether each window closes a run of ``k`` alerting windows (windows in time order).

    An undefined window (missing alert) breaks a run.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a whole number of windows, at least 1, got {k!r}.")
    run = alert.fillna(False).astype(int).rolling(k, min_periods=k).sum()
    return run.eq(k)


def shares_records(windows: pd.DataFrame, k: int) -> pd.Series:
    """Whether the run of ``k`` windows closing at each window holds a window that borrowed
    records: back-fill takes the newest earlier ones, so such a run is not ``k`` independent
    confirmations but partly one sample counted again."""
    borrowed = (windows["backfilled"] > 0).astype(int)
    return borrowed.rolling(max(k - 1, 1), min_periods=1).sum().gt(0) if k > 1 else borrowed.lt(0)


def cusum(own: pd.DataFrame, threshold: float, h: float) -> pd.DataFrame:
    """Page's CUSUM of the monitored group's decisions, per window's own records.

    Each window adds the log-likelihood ratio of its monitored decisions under
    "disparate impact equals ``threshold``" against "parity", with the
    reference group's favourable rate in the same window standing in for the
    unknown rate: ``fav * log(t) + unfav * log((1 - t p) / (1 - p))``. The sum
    restarts at 0 whenever it falls below 0, and after an alarm; it alarms when
    it exceeds ``h``.

    Parameters
    ----------
    own : pandas.DataFrame
        Windows computed with ``min_records=0`` (their own records only), in time order.
    threshold : float
        The disparate impact to detect, e.g. the alert threshold.
    h : float
        The alarm level: larger means fewer false alarms and later detection.

    Returns
    -------
    pandas.DataFrame
        ``statistic`` and ``alarm`` per window.
    """
    p = own["reference_rate"].to_numpy(float)
    fav = own["monitored_favourable"].to_numpy(float)
    unfav = own["monitored_total"].to_numpy(float) - fav
    usable = (p > 0) & (p < 1) & (threshold * p < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = fav * np.log(threshold) + unfav * np.log((1 - threshold * p) / (1 - p))
    step = np.where(usable, step, 0.0)
    statistic, alarm, total = np.zeros(len(step)), np.zeros(len(step), bool), 0.0
    for i, x in enumerate(step):
        total = max(0.0, total + x)
        statistic[i], alarm[i] = total, total > h
        if alarm[i]:
            total = 0.0
    return pd.DataFrame({"statistic": statistic, "alarm": alarm}, index=own.index)


def detection_table(alarms: dict, windows: pd.DataFrame, release) -> pd.DataFrame:
    """Each rule's false-alarm rate before ``release`` and its delay after it.

    Parameters
    ----------
    alarms : dict of str to boolean Series
        Per rule, whether each window raises an alarm (aligned with ``windows``).
    windows : pandas.DataFrame
        With ``window_start`` and ``window_end``.
    release : timestamp
        When the change happened.

    Returns
    -------
    pandas.DataFrame
        One row per rule: ``false_alarm_rate`` (share of the windows before the
        release that alarm), ``false_alarms``, ``detection_rate`` (share of the
        windows after it that alarm), ``first_alarm`` after the release and
        ``delay`` (from the release to the end of that window, when the alarm
        can be raised; NaT when none).
    """
    before = (windows["window_start"] < release).to_numpy()
    rows = []
    for rule, alarm in alarms.items():
        alarm = np.asarray(alarm, dtype=bool)
        after = windows.loc[~before & alarm]
        rows.append(
            {
                "rule": rule,
                "false_alarm_rate": alarm[before].mean() if before.any() else np.nan,
                "false_alarms": int(alarm[before].sum()),
                "detection_rate": alarm[~before].mean() if (~before).any() else np.nan,
                "first_alarm": after["window_start"].min() if len(after) else pd.NaT,
                "delay": after["window_end"].min() - pd.Timestamp(release)
                if len(after)
                else pd.NaT,
            }
        )
    out = pd.DataFrame(rows).set_index("rule")
    # typed columns even when no rule alarms (a column of NaT alone would be untyped)
    out["first_alarm"] = pd.Series([r["first_alarm"] for r in rows], out.index, "datetime64[us]")
    out["delay"] = pd.Series([r["delay"] for r in rows], out.index, "timedelta64[us]")
    return out

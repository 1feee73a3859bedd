"""Disparate impact per time window, counted by DuckDB where the log lives, and alerts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from fairaudit.metrics import UndefinedMetricWarning, disparate_impact_from_counts
from fairaudit.monitor._config import FairnessConfig, _duration_text, value_text
from fairaudit.monitor._payload import (
    _MONITORED,
    _REFERENCE,
    _TABLE,
    PayloadLog,
    _quote,
    _timestamp,
)
from fairaudit.monitor._tables import TableLog

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
        "monitored": [value_text(v) for v in config.monitored],
        "reference": [value_text(v) for v in config.reference],
        "favourable": [value_text(v) for v in config.favourable],
        **({"end": end.to_pydatetime()} if end is not None else {}),
    }


def _bucket_counts(log, config, origin, end) -> pd.DataFrame:
    """Per-window counts (aggregated in DuckDB): the only pass over every record."""
    where = "WHERE scoring_timestamp < $end" if end is not None else ""
    sql = f"""
        SELECT bucket, count(*) AS n,
               min(ts) FILTER (WHERE grp > 0) AS oldest, max(ts) FILTER (WHERE grp > 0) AS newest,
               count(*) FILTER (WHERE grp = 1) AS m_tot,
               count(*) FILTER (WHERE grp = 1 AND fav) AS m_fav,
               count(*) FILTER (WHERE grp = 2) AS r_tot,
               count(*) FILTER (WHERE grp = 2 AND fav) AS r_fav
        FROM ({_source_sql(config, where)}) GROUP BY bucket ORDER BY bucket
    """
    return log.connection.execute(sql, _sql_params(config, origin, end)).df()


#: Most windows one call computes (each gets its own disparate impact and interval).
MAX_WINDOWS = 100_000


def _window_plan(log, config, start, end, origin):
    """Window grid with each window's own counts and, for short windows, the records to use.

    Returns the grid (one row per window from ``start`` to ``end``) and the
    table of short windows with the half-open range ``(lo, hi]`` of global
    record positions (records ordered by timestamp, then request id) they use.
    """
    origin = _ORIGIN if origin is None else _timestamp(origin, "origin")
    end_ts = None if end is None else _timestamp(end, "end")
    if isinstance(log, TableLog):
        counts = log.bucket_counts(config, origin, end_ts)
    else:
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
    n_windows = (last - first) // width + 1
    if n_windows > MAX_WINDOWS:
        raise ValueError(
            f"window={_duration_text(width)!r} makes {n_windows:,} windows from {first} to "
            f"{last}, more than {MAX_WINDOWS:,}; choose a longer window or a shorter range."
        )
    grid = pd.DataFrame({"bucket": pd.date_range(first, last, freq=width).as_unit("us")})
    counts["bucket"] = counts["bucket"].astype("datetime64[us]")
    # cumulative count of monitored and reference records (the ones disparate impact rests on;
    # ``min_records`` counts them, not all requests) up to and including each window
    counts["g"] = counts["m_tot"] + counts["r_tot"]
    history = pd.concat([counts, grid[~grid["bucket"].isin(counts["bucket"])]])
    history = history.sort_values("bucket").fillna({"n": 0, "g": 0}).reset_index(drop=True)
    history[["n", "g"]] = history[["n", "g"]].astype(np.int64)
    history["cum"] = history["g"].cumsum()
    grid = grid.merge(history, on="bucket", how="left")
    for col in ("m_tot", "m_fav", "r_tot", "r_fav"):
        grid[col] = grid[col].fillna(0).astype(np.int64)
    short = grid[grid["g"] < config.min_records][["bucket", "cum"]].copy()
    short["lo"] = np.maximum(short["cum"] - config.min_records, 0)
    short["hi"] = short["cum"]
    # positions count group records only: ``n`` below is a window's monitored + reference records
    filled = history[history["g"] > 0][["bucket", "g", "cum"]].rename(columns={"g": "n"})
    return grid, (short, filled), origin


def _backfill_sql(config, end) -> str:
    """Records used by each short window: the newest ``min_records`` group records before its end.

    Only monitored and reference records count. Each gets its global position
    = such records in earlier windows + its rank inside its own window
    (``row_number`` by timestamp, then request id); a short window uses
    positions ``(lo, hi]``. Only windows that can supply
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
            WHERE src.grp > 0
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
    log: PayloadLog | TableLog,
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

    ``log`` is a :class:`PayloadLog` (DuckDB) or a payload table in any engine
    narwhals reads, such as a Spark table (see :class:`TableLog`); both give
    the same windows on the same rows.

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
        :func:`fairaudit.metrics.disparate_impact_from_counts` (``n_boot=0``
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
        records or the reference group no favourable outcome), ``alert`` (the
        point estimate is below the threshold) and ``alert_confirmed`` (the whole
        interval is, and the window has ``min_records`` records: fewer false
        alarms, later detection).
        ``records`` counts every request in the window; ``records_used`` and
        ``backfilled`` count only monitored and reference records, the ones the
        disparate impact rests on, and ``min_records`` counts those too (a window
        of 100 requests with 20 monitored and 30 reference records is short when
        ``min_records=100``). ``records_used < min_records`` means the whole
        history was too short.
    """
    if not isinstance(log, PayloadLog | TableLog):
        log = TableLog(log)  # a table in another engine: counted where it lives
    config.validate(log)
    grid, plan, origin = _window_plan(log, config, start, end, origin)
    if grid is None:
        return pd.DataFrame(columns=_WINDOW_COLUMNS)
    grid["used"] = grid["g"]
    if len(plan[0]):
        if isinstance(log, TableLog):
            end_ts = None if end is None else _timestamp(end, "end")
            filled = _aggregate_used(log.used_records(config, plan, end_ts, origin))
        else:
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


def _aggregate_used(used: pd.DataFrame) -> pd.DataFrame:
    """What the DuckDB path's back-fill query returns, from the used records in pandas."""
    grp, fav = used["grp"].to_numpy(), used["fav"].to_numpy(bool)
    parts = used.assign(
        m_tot=grp == 1, m_fav=(grp == 1) & fav, r_tot=grp == 2, r_fav=(grp == 2) & fav
    )
    out = parts.groupby("target").agg(
        used=("request_id", "size"), oldest=("ts", "min"), newest=("ts", "max"),
        m_tot=("m_tot", "sum"), m_fav=("m_fav", "sum"), r_tot=("r_tot", "sum"),
        r_fav=("r_fav", "sum"),
    )  # fmt: skip
    return out.rename_axis("bucket").reset_index()


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
    "alert_confirmed",
]


def _finish_windows(grid, config, ci, n_boot, random_state):
    rng = np.random.default_rng(random_state)
    rows = []
    for counts in grid[["m_fav", "m_tot", "r_fav", "r_tot"]].itertuples(index=False):
        record = _disparate_impact_record(*counts, ci=ci, n_boot=n_boot, rng=rng)
        rows.append((record["disparate_impact"], record["ci_low"], record["ci_high"]))
    di = pd.DataFrame(rows, columns=["disparate_impact", "ci_low", "ci_high"], dtype=float)
    out = pd.DataFrame(
        {
            "window_start": grid["bucket"],
            "window_end": grid["bucket"] + config.window,
            "records": grid["n"].fillna(0).astype(np.int64),
            "records_used": grid["used"].astype(np.int64),
        }
    )
    own = grid["g"].fillna(0).astype(np.int64)
    out["backfilled"] = out["records_used"] - np.minimum(own, out["records_used"])
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
    # false-alarm control: the whole interval lies below the threshold (NaN bounds never confirm),
    # and the window rests on min_records records: a bootstrap of a handful of records (one
    # monitored refusal gives the interval [0, 0]) is too degenerate to confirm anything
    out["alert_confirmed"] = (out["ci_high"] < config.threshold) & (
        out["records_used"] >= config.min_records
    )
    out["status"] = np.where(
        out["disparate_impact"].isna(), "undefined", np.where(out["alert"], "alert", "ok")
    )
    return out[_WINDOW_COLUMNS]


def window_records(log: PayloadLog, config: FairnessConfig, window_start, *, end=None, origin=None):
    """The requests a window's disparate impact was computed from (back-filled ones included).

    Useful to inspect an alert: which requests, from which earlier windows.
    Returns ``request_id, scoring_timestamp, window_start`` (the window each
    request was logged in), ``group`` and ``favourable``, newest first.

    Parameters
    ----------
    log : PayloadLog
    config : FairnessConfig
    window_start : timestamp
        The start of the window, as in :func:`windowed_disparate_impact`'s table.
    end, origin : timestamp, optional
        As given to :func:`windowed_disparate_impact`.

    Returns
    -------
    pandas.DataFrame
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
        sql += "WHERE bucket = $start AND grp > 0"
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


def _disparate_impact_record(m_fav, m_tot, r_fav, r_tot, *, ci=0.95, n_boot=0, rng=None) -> dict:
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

"""Alerting rules as sequential detection, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.monitor import alert_runs, cusum, detection_table, shares_records


def test_k_in_a_row_marks_the_windows_closing_a_run():
    alert = pd.Series([True, True, False, True, True, True, True, None, True])
    assert alert_runs(alert, 3).tolist() == [False, False, False, False, False, True, True,
                                             False, False]  # fmt: skip
    assert alert_runs(alert, 1).tolist() == alert.fillna(False).tolist()
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="k must be a whole number"):
            alert_runs(alert, bad)


def test_a_run_that_holds_a_borrowing_window_is_not_independent():
    windows = pd.DataFrame({"backfilled": [0, 0, 5, 0, 0, 0]})
    # a run of 3 ending at i holds windows i-1 and i that may have borrowed from the one before
    assert shares_records(windows, 3).tolist() == [False, False, True, True, False, False]
    assert not shares_records(windows, 1).any()


def _own(m_fav, m_tot, r_fav, r_tot):
    return pd.DataFrame({
        "monitored_favourable": m_fav, "monitored_total": m_tot,
        "reference_rate": np.asarray(r_fav, float) / np.asarray(r_tot, float),
    })  # fmt: skip


def test_cusum_by_hand():
    # reference rate 0.5; detecting disparate impact 0.8: a favourable monitored decision adds
    # log(0.8), an unfavourable one log(0.6 / 0.5)
    own = _own([5, 0, 1, 10], [10, 10, 10, 10], [5, 5, 5, 0], [10, 10, 10, 10])
    up, down = np.log(1.2), np.log(0.8)
    steps = [5 * down + 5 * up, 10 * up, 1 * down + 9 * up, 0.0]  # no reference favourable: 0
    out = cusum(own, 0.8, h=2.5)
    expected, total = [], 0.0
    for step in steps:
        total = max(0.0, total + step)
        expected.append(total)
        total = 0.0 if total > 2.5 else total
    np.testing.assert_allclose(out["statistic"], expected)
    assert out["alarm"].tolist() == [False, False, True, False]  # 1.82 + 1.42 > 2.5, then reset
    # parity every window: the statistic drifts down and never alarms
    fair = _own([7] * 50, [10] * 50, [7] * 50, [10] * 50)
    assert not cusum(fair, 0.8, h=2.5)["alarm"].any()


def test_detection_table_counts_false_alarms_before_and_the_delay_after():
    start = pd.date_range("2026-03-02", periods=6, freq="h")
    windows = pd.DataFrame({"window_start": start, "window_end": start + pd.Timedelta("1h")})
    release = start[3]
    table = detection_table(
        {"a": [True, False, False, False, True, True], "never": [False] * 6}, windows, release
    )
    assert table.loc["a", "false_alarm_rate"] == pytest.approx(1 / 3)
    assert table.loc["a", "false_alarms"] == 1
    assert table.loc["a", "detection_rate"] == pytest.approx(2 / 3)
    assert table.loc["a", "first_alarm"] == start[4]
    assert table.loc["a", "delay"] == pd.Timedelta("2h")  # raised at the end of 04:00-05:00
    assert pd.isna(table.loc["never", "delay"]) and table.loc["never", "false_alarms"] == 0
    silent = detection_table({"never": [False] * 6}, windows, release)
    assert silent["delay"].dtype.kind == "m" and silent["delay"].isna().all()

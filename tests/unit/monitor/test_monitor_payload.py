"""The payload log: what it stores, what it refuses, and that it never loses a file."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from monitor_data import make_requests

from fairaudit.monitor import PayloadLog


def test_payload_log_round_trip_and_refusals(log, requests):
    frame = log.to_pandas()
    assert list(frame.columns[:3]) == ["request_id", "scoring_timestamp", "model_version"]
    assert list(frame["group"].cat.categories) == ["a", "b", "c"]
    assert log.features == ["x", "group"] and log.attributes == ["band"]
    assert frame["scoring_timestamp"].is_monotonic_increasing
    X, prediction, stamps, ids = requests
    with pytest.raises(ValueError, match="already in the log"):
        log.append(X.head(2), prediction[:2], timestamps=stamps[:2], request_ids=ids[:2])
    with pytest.raises(FileExistsError, match="overwrite=True"):
        PayloadLog.create(log.path, X)
    updated = log.add_feedback(ids[:10], prediction[:10])
    labelled = log.to_pandas().set_index("request_id")["label"].dropna()
    assert updated == 10 and sorted(labelled.index) == sorted(ids[:10])
    assert log.values("group") == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("predictions", "message"),
    [
        ([0.31, 0.49, 0.51, 0.7], r"whole-number labels in this log, got 0.31.*probabilities="),
        (["yes", "no", "yes", "no"], r"whole-number labels in this log, got 'yes'.*'string'"),
        ([1, None, 0, 1], r"predictions has 1 missing value\(s\)"),
    ],
)
def test_append_refuses_what_is_not_a_label_and_logs_nothing(tmp_path, predictions, message):
    """Reported: PayloadLog.append rounded float predictions into the integer column:
    [0.31, 0.49, 0.51, 0.7] were logged as [0, 0, 1, 1]."""
    X = pd.DataFrame({"SEX": ["f", "m", "f", "m"]})
    stamps = pd.date_range("2026-03-02", periods=4, freq="min")
    with PayloadLog.create(tmp_path / "p.duckdb", X) as log:
        with pytest.raises(ValueError, match=message):
            log.append(X, predictions, timestamps=stamps)
        assert len(log) == 0
        log.append(X, np.array([1.0, 0.0, 1.0, 0.0]), timestamps=stamps)  # whole floats are labels
        assert log.to_pandas()["prediction"].tolist() == [1, 0, 1, 0]
        with pytest.raises(ValueError, match="labels must be whole-number labels"):
            log.add_feedback([0, 1], [0.5, 1.0])
        assert log.to_pandas()["label"].isna().all()


def test_a_text_log_keeps_text_decisions(tmp_path):
    X = pd.DataFrame({"SEX": ["f", "m"]})
    with PayloadLog.create(tmp_path / "p.duckdb", X, prediction_type="string") as log:
        log.append(X, ["granted", "refused"], timestamps=pd.date_range("2026-03-02", periods=2))
        assert log.values("prediction") == ["granted", "refused"]


def test_numeric_timestamps_are_refused_with_the_conversion_to_use(tmp_path):
    X, prediction, stamps, _ = make_requests()
    with PayloadLog.create(tmp_path / "p.duckdb", X, attributes=["band"]) as log:
        epoch = (stamps.astype("int64") // 10**9).to_numpy()
        with pytest.raises(ValueError, match=r"unit is ambiguous.*unit='s'"):
            log.append(X, prediction, timestamps=epoch)
        assert len(log) == 0
        with pytest.raises(ValueError, match="unit is ambiguous"):
            log.to_pandas(start=1_700_000_000)


def test_time_zone_aware_timestamps_are_logged_in_utc(tmp_path):
    X = pd.DataFrame({"SEX": ["f", "m"]})
    stamps = pd.to_datetime(["2026-03-02 09:00", "2026-03-02 10:30"]).tz_localize("Asia/Kolkata")
    with PayloadLog.create(tmp_path / "p.duckdb", X) as log:
        log.append(X, [1, 0], timestamps=stamps)
        logged = log.to_pandas()["scoring_timestamp"]
    assert logged.tolist() == [pd.Timestamp("2026-03-02 03:30"), pd.Timestamp("2026-03-02 05:00")]


# --------------------------------------------------------------------------- replacing a log


def _example():
    return pd.DataFrame({"x": [1.0], "SEX": pd.Categorical(["female"])})


def test_create_never_replaces_a_file_that_is_not_a_payload_log(tmp_path):
    notes = tmp_path / "some.txt"
    notes.write_text("precious")
    with pytest.raises(FileExistsError, match="not a payload log"):
        PayloadLog.create(notes, _example(), overwrite=True)
    assert notes.read_text() == "precious"


def test_an_invalid_schema_leaves_the_old_log_as_it_was(tmp_path):
    path = tmp_path / "p.duckdb"
    PayloadLog.create(path, _example()).close()
    with pytest.raises(ValueError, match='Column with name "A" already exists'):
        PayloadLog.create(path, pd.DataFrame({"a": [1], "A": [2]}), overwrite=True)
    with PayloadLog(path, read_only=True) as log:
        assert "x" in log.columns and "SEX" in log.columns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.duckdb"]


def test_a_log_another_process_holds_is_not_replaced(tmp_path):
    path = tmp_path / "p.duckdb"
    PayloadLog.create(path, _example()).close()
    # the holder keeps the log open until told to let go (its stdin closes), however slow
    code = (
        f"import duckdb, sys; c = duckdb.connect({str(path)!r}); "
        "print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FileExistsError, match="in use by another process"):
            PayloadLog.create(path, pd.DataFrame({"y": [1]}), overwrite=True)
    finally:
        holder.stdin.close()
        holder.wait()
    with PayloadLog(path, read_only=True) as log:
        assert "x" in log.columns

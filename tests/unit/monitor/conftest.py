"""Shared payload logs of the monitor's tests."""

from __future__ import annotations

import pytest
from monitor_data import make_requests

from fairaudit.monitor import PayloadLog


@pytest.fixture
def requests():
    return make_requests()


@pytest.fixture
def log(tmp_path, requests):
    X, prediction, stamps, ids = requests
    payload = PayloadLog.create(tmp_path / "payload.duckdb", X, attributes=["band"])
    payload.append(X, prediction, timestamps=stamps, request_ids=ids)
    yield payload
    payload.close()

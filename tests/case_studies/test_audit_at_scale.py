"""Case study 4 re-run with other engines: the same log gives the same audit everywhere."""

from __future__ import annotations

import json

import pytest
from notebook_run import execute_case_study

NOTEBOOK = "04_audit_at_scale.ipynb"


def _run(tmp_path, **parameters):
    out = tmp_path / f"run-{parameters.get('engine', 'duckdb')}"
    execute_case_study(
        NOTEBOOK,
        tmp_path / f"{out.name}.ipynb",
        {"rows": 60_000, "scaling": False, "n_boot": 200, "output_dir": str(out), **parameters},
    )
    return json.loads((out / "scale_summary.json").read_text())


def test_duckdb_and_polars_give_the_same_audit_of_the_same_log(tmp_path):
    pytest.importorskip("polars", reason="polars is a test extra (make test installs it)")
    duck = _run(tmp_path, engine="duckdb")
    lazy = _run(tmp_path, engine="polars")
    assert duck["headline"]["Counts equal a plain SQL GROUP BY"] == "yes"
    assert lazy["headline"]["Engine"] == "polars"
    assert lazy["audit"] == duck["audit"]  # counts, rates, intervals, disparate impact
    counts = sum(g["count"] for g in duck["audit"]["by_group"].values())
    assert counts == duck["headline"]["Rows audited"] == 60_000
    assert duck["growth"] == []  # scaling=False measures nothing


def test_an_unknown_engine_is_refused_before_any_work(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    with pytest.raises(PapermillExecutionError, match=r"'engine' = 'oracle' must be one of"):
        _run(tmp_path, engine="oracle")
    assert not (tmp_path / "run-oracle").exists()

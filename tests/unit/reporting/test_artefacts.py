"""Artefact writing: atomic publication, provenance and JSON conversion."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from fairaudit import _io as reports
from fairaudit._io import resolve_path, write_json_atomic
from fairaudit.reporting import RunArtefacts, run_metadata


def test_artefacts_are_invisible_until_commit_then_replace_previous(tmp_path):
    out = tmp_path / "study"
    first = RunArtefacts(out)
    first.write_json("summary.json", {"run": 1})
    first.write_text("old-only.txt", "from run 1")
    assert not out.exists()
    first.commit()
    assert json.loads((out / "summary.json").read_text()) == {"run": 1}

    second = RunArtefacts(out)
    second.write_json("summary.json", {"run": 2})
    # Until the second run commits, readers still see the first run, whole.
    assert json.loads((out / "summary.json").read_text()) == {"run": 1}
    second.commit()
    assert json.loads((out / "summary.json").read_text()) == {"run": 2}
    assert not (out / "old-only.txt").exists(), "stale files of the previous run must go"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]


def test_failed_run_leaves_previous_artefacts_and_next_run_discards_its_staging(tmp_path):
    out = tmp_path / "study"
    good = RunArtefacts(out)
    good.write_json("summary.json", {"run": "good"})
    good.commit()
    failed = RunArtefacts(out)
    failed.write_json("summary.json", {"run": "half"})
    del failed  # the notebook raised before its last cell
    assert json.loads((out / "summary.json").read_text()) == {"run": "good"}
    RunArtefacts(out).commit()  # a later run starts from a clean staging folder
    assert not (out / "summary.json").exists()


def test_writing_after_commit_is_refused(tmp_path):
    art = RunArtefacts(tmp_path / "x")
    art.commit()
    with pytest.raises(RuntimeError, match="already committed"):
        art.path("late.json")


def test_json_conversion_handles_numpy_pandas_and_nan(tmp_path):
    obj = {
        "a": np.float64("nan"),
        "b": np.int64(3),
        "c": np.array([1.5, np.inf]),
        "d": pd.Series({"x": 1.0}),
        "e": np.bool_(True),
        ("t", 1): "tuple key",
    }
    path = write_json_atomic(tmp_path / "o.json", obj)
    assert json.loads(path.read_text()) == {
        "a": None,
        "b": 3,
        "c": [1.5, None],
        "d": {"x": 1.0},
        "e": True,
        "('t', 1)": "tuple key",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["o.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask, "artefacts must not be owner-only"


def test_unserialisable_object_leaves_no_file(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(reports.os, "replace", boom)
    with pytest.raises(OSError):
        write_json_atomic(tmp_path / "o.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_relative_paths_resolve_against_root_or_override(tmp_path, monkeypatch):
    monkeypatch.delenv(reports.OUTPUT_ROOT_ENV, raising=False)
    assert resolve_path("reports/x") == reports.project_root() / "reports" / "x"
    assert (reports.project_root() / "fairaudit" / "_io.py").is_file()
    monkeypatch.setenv(reports.OUTPUT_ROOT_ENV, str(tmp_path))
    assert resolve_path("reports/x") == tmp_path / "reports" / "x"
    assert resolve_path(tmp_path / "abs") == tmp_path / "abs"


def test_run_metadata_records_parameters_checksums_and_versions():
    meta = run_metadata({"sensitive_feature": "SEX"}, "credit_card")
    assert meta["parameters"] == {"sensitive_feature": "SEX"}
    assert meta["data"]["sha256"] == {
        "credit_card_default/UCI_Credit_Card.csv": (
            "a0f0ab49d6326671d6cd83be5c88dcf18007025fe9a53ecd699119c871176ca1"
        )
    }
    import sklearn

    assert meta["versions"]["scikit-learn"] == sklearn.__version__
    assert json.loads(json.dumps(meta, allow_nan=False)) == meta  # plain JSON types only

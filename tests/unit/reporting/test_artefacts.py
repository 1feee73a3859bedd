"""Artefact writing: atomic publication, provenance and JSON conversion."""

import json
import os
from unittest import mock

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


def test_names_list_what_was_written_before_and_after_commit(tmp_path):
    art = RunArtefacts(tmp_path / "study")
    art.write_json("b.json", {})
    art.write_text("a.md", "x")
    (art.path("c.bin")).write_bytes(b"\0")  # a file a library writes itself
    assert art.names == ["a.md", "b.json", "c.bin"]
    art.commit()
    assert art.names == ["a.md", "b.json", "c.bin"]  # the marker is hidden


def test_under_the_command_artefacts_go_to_its_folder_and_it_publishes(tmp_path):
    work, run_dir = tmp_path / ".study.run-1-x", tmp_path / "study"
    work.mkdir()
    env = {reports.RUN_DIR_ENV: str(run_dir), reports.RUN_STAGING_ENV: str(work)}
    with mock.patch.dict(os.environ, env):
        art = RunArtefacts(run_dir)
        art.write_json("summary.json", {"run": 1})
        assert art.commit() == run_dir
    assert (work / "summary.json").is_file() and not run_dir.exists()
    with mock.patch.dict(os.environ, env):  # another folder than the command's: its own swap
        RunArtefacts(tmp_path / "elsewhere").commit()
    assert (tmp_path / "elsewhere" / reports.RUN_MARKER).is_file()


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


def test_relative_paths_resolve_against_root_or_override(tmp_path):
    with mock.patch.dict(os.environ):
        os.environ.pop(reports.OUTPUT_ROOT_ENV, None)
        assert resolve_path("reports/x") == reports.project_root() / "reports" / "x"
    assert (reports.project_root() / "fairaudit" / "_io.py").is_file()
    with mock.patch.dict(os.environ, {reports.OUTPUT_ROOT_ENV: str(tmp_path)}):
        assert resolve_path("reports/x") == tmp_path / "reports" / "x"
    assert resolve_path(tmp_path / "abs") == tmp_path / "abs"


def test_run_metadata_records_parameters_checksums_and_versions():
    meta = run_metadata({"sensitive_features": "SEX"}, "credit_card")
    assert meta["parameters"] == {"sensitive_features": "SEX"}
    assert meta["data"]["sha256"] == {
        "credit_card_default/UCI_Credit_Card.csv": (
            "a0f0ab49d6326671d6cd83be5c88dcf18007025fe9a53ecd699119c871176ca1"
        )
    }
    import sklearn

    assert meta["versions"]["scikit-learn"] == sklearn.__version__
    assert json.loads(json.dumps(meta, allow_nan=False)) == meta  # plain JSON types only

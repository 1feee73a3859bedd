"""Loaders against the published facts of the raw files (shared data README) and bad input."""

import csv
import os
import shutil
import urllib.error
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from fairaudit import datasets
from fairaudit.datasets import (
    DataUnavailableError,
    _loaders,
    add_interest_rate,
    age_band,
    load_adult,
    load_credit_card,
)

MIRROR = os.environ.get("FAIRAUDIT_DATA_HOME")
HAVE_MIRROR = bool(MIRROR) and Path(MIRROR, "adult", "adult.data").is_file()
needs_mirror = pytest.mark.skipif(
    not HAVE_MIRROR,
    reason="set FAIRAUDIT_DATA_HOME to the raw-data mirror to run the loader tests",
)


@pytest.fixture
def cache_dir(tmp_path):
    folder = tmp_path / "cache"
    with mock.patch.dict(os.environ, {datasets.CACHE_DIR_ENV: str(folder)}):
        yield folder


@pytest.fixture
def no_mirror():
    """No FAIRAUDIT_DATA_HOME: the loaders fall back to OpenML."""
    with mock.patch.dict(os.environ):
        os.environ.pop(datasets.DATA_HOME_ENV, None)
        yield


@pytest.fixture
def offline(monkeypatch):
    """Make every OpenML download fail as it does on a machine without internet."""
    import fairlearn.datasets

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(fairlearn.datasets, "fetch_adult", refuse)
    monkeypatch.setattr(fairlearn.datasets, "fetch_credit_card", refuse)


@pytest.fixture
def mirror_copy(tmp_path):
    """A writable copy of the mirror, pointed to by FAIRAUDIT_DATA_HOME."""
    copy = tmp_path / "mirror"
    shutil.copytree(MIRROR, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    with mock.patch.dict(os.environ, {datasets.DATA_HOME_ENV: str(copy)}):
        yield copy


# --------------------------------------------------------------------------- known counts


@needs_mirror
def test_credit_card_matches_published_counts(cache_dir):
    df = load_credit_card(cache=False)
    assert df.shape == (30_000, 25)
    assert df.index.name == "ID" and df.index.is_unique and df.index.min() == 1
    assert int(df["default"].sum()) == 6_636
    assert df["SEX"].value_counts().to_dict() == {"female": 18_112, "male": 11_888}
    assert df.attrs["source"] == "mirror"
    assert not df.isna().any().any()


@needs_mirror
def test_credit_card_codes_map_to_readable_labels():
    """Compare each label with the raw integer code read independently with the csv module."""
    with open(Path(MIRROR, "credit_card_default", "UCI_Credit_Card.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    raw_education = pd.Series([int(float(r["EDUCATION"])) for r in rows])
    raw_marriage = pd.Series([int(float(r["MARRIAGE"])) for r in rows])
    df = load_credit_card(cache=False)
    assert (df["EDUCATION"] == "unknown").sum() == raw_education.isin([0, 5, 6]).sum()
    assert (df["EDUCATION"] == "graduate school").sum() == (raw_education == 1).sum()
    assert (df["MARRIAGE"] == "unknown").sum() == (raw_marriage == 0).sum()
    assert (df["MARRIAGE"] == "single").sum() == (raw_marriage == 2).sum()
    assert df["AGE_BAND"].notna().all()
    young = df["AGE_BAND"] == "18-25"
    assert young.sum() == (df["AGE"] <= 25).sum()


@needs_mirror
def test_adult_matches_published_counts(cache_dir):
    df = load_adult(cache=False)
    assert df.shape == (48_842, 15)
    assert df["income"].value_counts().to_dict() == {"<=50K": 37_155, ">50K": 11_687}
    assert list(df["income"].cat.categories) == ["<=50K", ">50K"]
    assert df["sex"].value_counts().to_dict() == {"Male": 32_650, "Female": 16_192}
    assert df["race"].value_counts().to_dict() == {
        "White": 41_762,
        "Black": 4_685,
        "Asian-Pac-Islander": 1_519,
        "Amer-Indian-Eskimo": 470,
        "Other": 406,
    }
    missing = df.isna().sum()
    assert missing[missing > 0].to_dict() == {
        "workclass": 2_799,
        "occupation": 2_809,
        "native_country": 857,
    }
    assert "?" not in set(df["workclass"].cat.categories)
    assert df["age"].dtype == "int64" and df["hours_per_week"].dtype == "int64"


# --------------------------------------------------------------------------- cache


@needs_mirror
def test_cache_round_trip_is_identical(cache_dir):
    first = load_adult()
    files = list(cache_dir.iterdir())
    assert [f.suffix for f in files] == [".parquet"]
    second = load_adult()
    assert second.attrs["source"] == "cache"
    pd.testing.assert_frame_equal(first, second)


@needs_mirror
def test_cache_false_neither_reads_nor_writes(cache_dir):
    load_credit_card(cache=False)
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


def _flip_default(frame):
    frame = frame.copy()
    frame["default"] = 1 - frame["default"]
    return frame


@needs_mirror
@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda f, p: p.write_bytes(b"not parquet at all"), "cannot be read"),
        (lambda f, p: _flip_default(f).to_parquet(p), "does not match the digest"),
        (lambda f, p: f.drop(columns="SEX").to_parquet(p), "does not match the digest"),
        (lambda f, p: f.astype({"AGE": "float64"}).to_parquet(p), "does not match the digest"),
        (lambda f, p: f.assign(SEX=f["SEX"].cat.reorder_categories(["female", "male"]))
         .to_parquet(p), "does not match the digest"),
        (lambda f, p: f.assign(SEX=f["SEX"].cat.add_categories(["unused"])).to_parquet(p),
         "does not match the digest"),
        (lambda f, p: f.assign(AGE_BAND=f["AGE_BAND"].cat.as_unordered()).to_parquet(p),
         "does not match the digest"),
        (lambda f, p: f.head(100).to_parquet(p), "has 100 rows instead of 30,000"),
        (lambda f, p: pd.DataFrame({"x": range(30_000)}).to_parquet(p), "not written by fairaudit"),
        (lambda f, p: (p.unlink(), p.mkdir()), "is not a file"),
    ],
    ids=["garbage", "flipped-labels", "missing-column", "wrong-dtype", "reordered-categories",
         "unused-category", "unordered", "100-rows", "unrelated", "directory"],
)  # fmt: skip
def test_a_bad_cache_is_never_used_but_rebuilt_with_a_warning(cache_dir, good_cache, damage, why):
    reference, good = good_cache
    cache_dir.mkdir()
    cached = cache_dir / good.name
    cached.write_bytes(good.read_bytes())
    damage(pd.read_parquet(cached), cached)
    with pytest.warns(UserWarning) as warned:
        loaded = load_credit_card()
    assert any(why in str(w.message) for w in warned), [str(w.message) for w in warned]
    assert loaded.attrs["source"] == "mirror"
    pd.testing.assert_frame_equal(loaded, reference)
    assert loaded.attrs["content_sha256"] == reference.attrs["content_sha256"]
    if cached.is_file():  # rewritten whole, and read back on the next load
        assert load_credit_card().attrs["source"] == "cache"


@pytest.fixture(scope="module")
def good_cache(tmp_path_factory):
    """The credit data loaded from the mirror once, and the cache file it writes."""
    folder = tmp_path_factory.mktemp("good-cache")
    with mock.patch.dict(os.environ, {datasets.CACHE_DIR_ENV: str(folder)}):
        reference = load_credit_card()
    (cached,) = folder.glob("*.parquet")
    return reference, cached


@needs_mirror
def test_an_unwritable_cache_folder_costs_only_the_cache(cache_dir):
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    cache_dir.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="only the cache is skipped"):
        df = load_credit_card()
    assert len(df) == 30_000 and df.attrs["source"] == "mirror"


# --------------------------------------------------------------------------- bad raw files


@needs_mirror
def test_one_changed_byte_is_refused_and_nothing_is_cached(mirror_copy, cache_dir, offline):
    target = mirror_copy / "adult" / "adult.data"
    data = bytearray(target.read_bytes())
    data[1000] = ord("X") if data[1000] != ord("X") else ord("Y")
    target.write_bytes(bytes(data))
    with pytest.raises(DataUnavailableError) as err:
        load_adult(cache=False)
    message = str(err.value)
    assert str(target) in message and "SHA-256" in message
    assert datasets.dataset_checksums("adult")["adult/adult.data"] in message
    with pytest.raises(DataUnavailableError):
        load_adult(cache=True)
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


@needs_mirror
def test_truncated_file_is_refused(mirror_copy, cache_dir):
    target = mirror_copy / "credit_card_default" / "UCI_Credit_Card.csv"
    target.write_bytes(target.read_bytes()[:-5000])
    with pytest.raises(DataUnavailableError, match="UCI_Credit_Card.csv"):
        load_credit_card()
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


def test_missing_mirror_without_network_explains_both_fixes(
    tmp_path, monkeypatch, cache_dir, offline
):
    with mock.patch.dict(os.environ, {datasets.DATA_HOME_ENV: str(tmp_path / "nowhere")}):
        with pytest.raises(DataUnavailableError) as err:
            load_credit_card()
    message = str(err.value)
    assert "credit_card_default/UCI_Credit_Card.csv" in message
    assert "FAIRAUDIT_DATA_HOME" in message and "OpenML" in message and "no network" in message


def test_unset_mirror_without_network(no_mirror, cache_dir, offline):
    with pytest.raises(DataUnavailableError, match="FAIRAUDIT_DATA_HOME is not set"):
        load_adult(cache=False)


# --------------------------------------------------------------------------- OpenML mapping


def _fetched_adult_frame(rows):
    """A frame shaped like fairlearn.datasets.fetch_adult(as_frame=True).frame."""
    names = [
        "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
        "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
        "hours-per-week", "native-country", "class",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=names)
    for col in names:
        if col in {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss",
                   "hours-per-week"}:  # fmt: skip
            frame[col] = frame[col].astype("float64")
        else:
            frame[col] = pd.Categorical(frame[col].replace("?", np.nan))
    return frame


ADULT_ROWS = [
    [39, "State-gov", 77516, "Bachelors", 13, "Never-married", "Adm-clerical", "Not-in-family",
     "White", "Male", 2174, 0, 40, "United-States", "<=50K"],
    [50, "?", 83311, "Bachelors", 13, "Married-civ-spouse", "?", "Husband", "White", "Male",
     0, 0, 13, "?", ">50K"],
    [38, "Private", 215646, "HS-grad", 9, "Divorced", "Handlers-cleaners", "Not-in-family",
     "Black", "Female", 0, 0, 40, "Cuba", ">50K"],
]  # fmt: skip


def test_openml_adult_frame_maps_to_canonical_schema(monkeypatch, no_mirror, cache_dir):
    import fairlearn.datasets

    frame = _fetched_adult_frame(ADULT_ROWS)
    monkeypatch.setattr(fairlearn.datasets, "fetch_adult", lambda **kw: Bunch(frame=frame))
    df = load_adult(cache=False)
    assert df.attrs["source"] == "openml"
    assert list(df.columns) == _loaders._ADULT_COLUMNS
    assert df["income"].tolist() == ["<=50K", ">50K", ">50K"]
    assert df["workclass"].isna().tolist() == [False, True, False]
    assert df["native_country"].isna().sum() == 1
    assert df["age"].tolist() == [39, 50, 38] and df["age"].dtype == "int64"
    assert df["sex"].tolist() == ["Male", "Male", "Female"]


@needs_mirror
def test_openml_and_mirror_agree_on_the_same_records(tmp_path):
    """The same raw lines through both paths give the same canonical values."""
    train_lines = Path(MIRROR, "adult", "adult.data").read_text().splitlines()[:40]
    test_lines = Path(MIRROR, "adult", "adult.test").read_text().splitlines()[:11]
    rows = [[v.strip() for v in line.split(",")] for line in train_lines + test_lines[1:]]
    for row in rows:  # OpenML writes the label without the test file's trailing dot
        row[-1] = row[-1].rstrip(".")
    fetched = _loaders._adult_from_fetched(_fetched_adult_frame(rows))
    train = tmp_path / "train"
    train.write_text("\n".join(train_lines) + "\n")
    test = tmp_path / "test"
    test.write_text("\n".join(test_lines) + "\n")
    mirrored = _loaders._adult_from_mirror(train, test)
    for col in mirrored.columns:
        assert mirrored[col].astype(object).tolist() == fetched[col].astype(object).tolist(), col


def test_openml_credit_frame_maps_to_canonical_schema(monkeypatch, no_mirror, cache_dir):
    import fairlearn.datasets

    names = (
        ["LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0"]
        + [f"PAY_{i}" for i in range(2, 7)]
        + [f"BILL_AMT{i}" for i in range(1, 7)]
        + [f"PAY_AMT{i}" for i in range(1, 7)]
    )
    values = np.zeros((3, len(names)))
    values[:, 0] = [20000, 120000, 90000]
    values[:, 1] = [2, 1, 2]  # female, male, female
    values[:, 2] = [2, 0, 6]  # university, unknown, unknown
    values[:, 3] = [1, 2, 0]  # married, single, unknown
    values[:, 4] = [24, 26, 61]
    frame = pd.DataFrame(values, columns=names)
    frame["y"] = pd.Categorical(["1", "0", "1"])
    monkeypatch.setattr(
        fairlearn.datasets,
        "fetch_credit_card",
        lambda **kw: Bunch(frame=frame, target=frame["y"]),
    )
    df = load_credit_card(cache=False)
    assert df.attrs["source"] == "openml"
    assert df["SEX"].tolist() == ["female", "male", "female"]
    assert df["EDUCATION"].tolist() == ["university", "unknown", "unknown"]
    assert df["MARRIAGE"].tolist() == ["married", "single", "unknown"]
    assert df["AGE_BAND"].astype(str).tolist() == ["18-25", "26-35", "61-100"]
    assert df["default"].tolist() == [1, 0, 1] and df["default"].dtype == "int64"


# --------------------------------------------------------------------------- derived features


def test_age_band_labels_and_bad_edges():
    bands = age_band([18, 25, 26, 99], edges=(18, 26, 100))
    assert list(bands.astype(str)) == ["18-25", "18-25", "26-99", "26-99"]
    with pytest.raises(ValueError, match="increasing"):
        age_band([30], edges=(30, 20))


def test_interest_rate_signal_follows_strength_and_group():
    rng = np.random.default_rng(0)
    n = 40_000
    df = pd.DataFrame(
        {
            "SEX": pd.Categorical(rng.choice(["male", "female"], n), categories=["male", "female"]),
            "default": rng.integers(0, 2, n),
        }
    )
    strong = add_interest_rate(df, "SEX", strength=1.0, random_state=1)
    by = strong.groupby(["SEX", "default"], observed=True)["INTEREST_RATE"]
    means, stds = by.mean(), by.std()
    # mean shifts by 2 * strength for defaulters in every group
    assert means["male", 1] - means["male", 0] == pytest.approx(2.0, abs=0.05)
    assert means["female", 1] - means["female", 0] == pytest.approx(2.0, abs=0.1)
    # the first category gets the sharper (less noisy) signal
    assert stds["male", 0] == pytest.approx(1.0, abs=0.05)
    assert stds["female", 0] == pytest.approx(2.0, abs=0.1)
    off = add_interest_rate(df, "SEX", strength=0.0, random_state=1)
    gap = off.groupby("default")["INTEREST_RATE"].mean().diff().iloc[-1]
    assert abs(gap) < 0.05
    same = add_interest_rate(df, "SEX", strength=1.0, random_state=1)
    pd.testing.assert_frame_equal(strong, same)
    assert "INTEREST_RATE" not in df.columns  # input left untouched
    with pytest.raises(ValueError, match="strength"):
        add_interest_rate(df, "SEX", strength=-1)
    with pytest.raises(ValueError, match="not a column"):
        add_interest_rate(df, "GENDER")


@needs_mirror
def test_the_studies_declare_the_credit_groups_the_loader_makes(cache_dir):
    """monitored/reference values are checked before a kernel starts, against these lists."""
    from fairaudit.studies.credit_loan import CREDIT_GROUPS

    df = load_credit_card(cache=False)
    assert {c: tuple(df[c].cat.categories) for c in CREDIT_GROUPS} == CREDIT_GROUPS

"""Canonical loaders for the two data sets the case studies use.

Each loader returns one documented pandas DataFrame with typed columns and
readable category labels, whichever source it came from. Sources are tried in
this order:

1. **Processed cache** under ``data/processed/`` (derived, deletable; set
   ``cache=False`` to neither read nor write it).
2. **Offline mirror**: the folder named by the environment variable
   ``FAIRAUDIT_DATA_HOME`` holding the raw files exactly as published
   (``adult/adult.data``, ``adult/adult.test``,
   ``credit_card_default/UCI_Credit_Card.csv``). Every raw file is verified by
   SHA-256 before it is parsed, so a truncated copy never yields a silently
   smaller data set.
3. **OpenML** through :func:`fairlearn.datasets.fetch_credit_card` /
   :func:`fairlearn.datasets.fetch_adult` when the machine is online, mapped to
   the same schema.

Credit-card default (Taiwan, 2005; 30,000 clients)
    ``LIMIT_BAL`` (credit limit, NT$), ``SEX`` (``male``/``female``),
    ``EDUCATION`` (``graduate school``, ``university``, ``high school``,
    ``others``, ``unknown`` for the undocumented codes 0, 5, 6), ``MARRIAGE``
    (``married``, ``single``, ``others``, ``unknown`` for code 0), ``AGE``
    (years), ``AGE_BAND`` (derived, see :func:`age_band`), ``PAY_0``,
    ``PAY_2`` … ``PAY_6`` (repayment status, months of delay; -2, -1, 0 mean no
    delay), ``BILL_AMT1`` … ``BILL_AMT6`` and ``PAY_AMT1`` … ``PAY_AMT6``
    (NT$), and the target ``default`` (int, 1 = defaults next month). The index
    is the client ``ID`` (1 … 30,000).

Adult (UCI Census Income, 1994; 48,842 people)
    ``age``, ``workclass``, ``fnlwgt``, ``education``, ``education_num``,
    ``marital_status``, ``occupation``, ``relationship``, ``race``, ``sex``
    (``Male``/``Female``), ``capital_gain``, ``capital_loss``,
    ``hours_per_week``, ``native_country`` and the target ``income``
    (categorical ``<=50K`` / ``>50K``; the test file's ``>50K.`` is
    normalised). ``?`` becomes a missing value. Rows are the training file
    followed by the test file, as on OpenML (data id 1590).
"""

from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit._io import project_root, sha256_bytes, sha256_file, write_bytes_atomic

__all__ = [
    "DataUnavailableError",
    "DATA_HOME_ENV",
    "load_credit_card",
    "load_adult",
    "age_band",
    "add_interest_rate",
    "dataset_checksums",
    "CREDIT_TARGET",
    "ADULT_TARGET",
]

DATA_HOME_ENV = "FAIRAUDIT_DATA_HOME"
CACHE_DIR_ENV = "FAIRAUDIT_CACHE_DIR"
# Bump when the canonical schema changes, so old caches are never read.
SCHEMA_VERSION = 1

CREDIT_TARGET = "default"
ADULT_TARGET = "income"


class DataUnavailableError(RuntimeError):
    """A data set could not be read from any source, or a source was corrupt."""


@dataclass(frozen=True)
class _RawFile:
    relpath: str
    sha256: str
    rows: int


_RAW = {
    "credit_card": (
        _RawFile(
            "credit_card_default/UCI_Credit_Card.csv",
            "a0f0ab49d6326671d6cd83be5c88dcf18007025fe9a53ecd699119c871176ca1",
            30_000,
        ),
    ),
    "adult": (
        _RawFile(
            "adult/adult.data",
            "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
            32_561,
        ),
        _RawFile(
            "adult/adult.test",
            "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
            16_281,
        ),
    ),
}

_FIX = (
    "Fix it in one of two ways: set {env} to a folder holding the raw files exactly as "
    "published ({files}; see README, 'Data'), or run on a machine with internet access so "
    "that fairlearn.datasets can download the data from OpenML."
)

_CREDIT_FEATURES = (
    ["LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE"]
    + ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
    + [f"BILL_AMT{i}" for i in range(1, 7)]
    + [f"PAY_AMT{i}" for i in range(1, 7)]
)
_SEX = {1: "male", 2: "female"}
_EDUCATION = {1: "graduate school", 2: "university", 3: "high school", 4: "others"}
_MARRIAGE = {1: "married", 2: "single", 3: "others"}

_ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    ADULT_TARGET,
]
_ADULT_NUMERIC = [
    "age",
    "fnlwgt",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
]
_INCOME_LEVELS = ["<=50K", ">50K"]

AGE_BAND_EDGES = (18, 26, 36, 46, 61, 101)


def dataset_checksums(name: str) -> dict[str, str]:
    """SHA-256 of each raw file of data set ``name`` (``"credit_card"`` or ``"adult"``).

    These are the published files' checksums; loaders refuse files that differ,
    so reports can record them as the provenance of every result.

    Parameters
    ----------
    name : str

    Returns
    -------
    dict of str to str
        Relative path of each raw file to its SHA-256.

    Raises
    ------
    ValueError
        If ``name`` is not a known data set.
    """
    if name not in _RAW:
        raise ValueError(f"Unknown data set {name!r}; expected one of {sorted(_RAW)}.")
    return {raw.relpath: raw.sha256 for raw in _RAW[name]}


def age_band(ages, edges=AGE_BAND_EDGES) -> pd.Categorical:
    """Bin ages into ordered, readable bands such as ``"26-35"``.

    ``edges`` are the band starts plus one past the last age: ``(18, 26, 101)``
    gives ``"18-25"`` and ``"26-100"``, the monitored/reference split fairness
    monitors use for young applicants.

    Parameters
    ----------
    ages : array-like of int
    edges : sequence of int
        Increasing band starts, then one past the last age.

    Returns
    -------
    pandas.Categorical
        Ordered; ages outside the edges are missing.
    """
    edges = [int(e) for e in edges]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(f"edges must be at least two increasing integers, got {edges}.")
    labels = [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:], strict=False)]
    return pd.cut(np.asarray(ages), bins=edges, right=False, labels=labels)


def add_interest_rate(
    df: pd.DataFrame,
    sensitive_feature: str = "SEX",
    *,
    strength: float = 1.0,
    random_state: int | None = None,
    column: str = "INTEREST_RATE",
) -> pd.DataFrame:
    """Return a copy of ``df`` with a **synthetic** interest-rate column (percent).

    The credit white paper's data showed an outcome disparity by sex that the
    public CSV does not. Following Fairlearn's credit-loan case study we
    reproduce it with a made-up feature: ``5 + 2 * strength * default + noise``,
    where the noise has standard deviation 1 for the first category of
    ``df[sensitive_feature]`` and 2 for every other group. The feature predicts default
    sharply for the first group and poorly for the rest, so a model that uses it
    makes unequal errors across groups even though ``sensitive_feature`` is never an
    input. ``strength=0`` removes the label signal (the column is pure noise),
    switching the disparity off.

    Parameters
    ----------
    df : pandas.DataFrame
        Credit data with ``default`` and ``sensitive_feature``.
    sensitive_feature : str, default "SEX"
    strength : float, default 1.0
        Non-negative; 0 switches the link to default off.
    random_state : int, optional
    column : str, default "INTEREST_RATE"

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        If a column is missing or ``strength`` is negative.
    """
    if sensitive_feature not in df.columns:
        raise ValueError(
            f"sensitive_feature={sensitive_feature!r} is not a column; "
            f"choose from {list(df.columns)}."
        )
    if CREDIT_TARGET not in df.columns:
        raise ValueError(f"add_interest_rate needs the label column {CREDIT_TARGET!r}.")
    if not np.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a non-negative number, got {strength!r}.")
    rng = np.random.default_rng(random_state)
    first_group = pd.Categorical(df[sensitive_feature]).codes == 0
    spread = np.where(first_group, 1.0, 2.0)
    signal = 2.0 * strength * df[CREDIT_TARGET].to_numpy()
    out = df.copy()
    out[column] = np.round(5.0 + signal + rng.normal(0.0, spread), 4)
    return out


# --------------------------------------------------------------------------- loaders


def load_credit_card(*, cache: bool = True) -> pd.DataFrame:
    """Load the Taiwan credit-card default data (30,000 rows) in the canonical schema.

    Parameters
    ----------
    cache : bool, default=True
        Read the processed copy under ``data/processed`` if present, and write
        it after loading from a raw source. ``False`` neither reads nor writes it.

    Returns
    -------
    pandas.DataFrame
        Indexed by client ``ID``; see the module docstring for the columns.

    Raises
    ------
    DataUnavailableError
        No source could provide the data, a raw file's checksum differs from the
        published one, or the cache cannot be read. The message names the file
        and the ways to fix it.
    """
    return _load("credit_card", _credit_from_mirror, _credit_from_openml, cache=cache)


def load_adult(*, cache: bool = True) -> pd.DataFrame:
    """Load UCI Adult (48,842 rows: training then test file) in the canonical schema.

    Parameters and errors as for :func:`load_credit_card`.

    Parameters
    ----------
    cache : bool, default True
        Keep a processed copy under ``data/processed/`` for the next call.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataUnavailableError
        If neither the mirror nor OpenML can provide the files.
    """
    return _load("adult", _adult_from_mirror, _adult_from_openml, cache=cache)


def _load(name, from_mirror, from_openml, *, cache):
    cache_file = _cache_dir() / f"{name}-v{SCHEMA_VERSION}.parquet"
    df = None
    if cache and (cache_file.exists() or cache_file.is_symlink()):
        df, digest, problem = _read_cache(cache_file, name)
        if problem:
            warnings.warn(
                f"The processed cache {cache_file} {problem}; it is not used. The data are "
                "rebuilt from the raw files and the cache is rewritten.",
                UserWarning,
                stacklevel=3,
            )
        source = "cache"
    if df is None:
        df, source = _load_raw(name, from_mirror, from_openml)
        digest = content_digest(df)
        if cache:
            _write_cache(df, cache_file, name, digest)
    df.attrs = {
        "name": name,
        "source": source,
        "sha256": dataset_checksums(name),
        "content_sha256": digest,  # verified against the cache, or computed once from the raw
    }
    return df


def content_digest(df: pd.DataFrame) -> str:
    """SHA-256 of a frame's logical content: values, index, column names, dtypes, categories.

    A categorical column counts with its categories in their order and whether
    they are ordered, since reordering them, or adding one that no row uses,
    changes what a study computes (group order, reference groups, codes). The
    processed cache records the digest when written and is checked against it
    on every read; run records keep it as the digest of the data actually used.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    str
    """
    schema = [[str(c), str(t), _categories(t)] for c, t in df.dtypes.items()]
    schema += [[str(df.index.name), str(df.index.dtype), _categories(df.index.dtype)]]
    values = pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()
    return sha256_bytes(json.dumps(schema).encode() + values)


def _categories(dtype) -> list | None:
    if not isinstance(dtype, pd.CategoricalDtype):
        return None
    return [dtype.ordered, [str(c) for c in dtype.categories], str(dtype.categories.dtype)]


def _load_raw(name, from_mirror, from_openml):
    files = ", ".join(raw.relpath for raw in _RAW[name])
    home = os.environ.get(DATA_HOME_ENV)
    if home:
        root = Path(home).expanduser()
        paths = [root / raw.relpath for raw in _RAW[name]]
        missing = [p for p in paths if not p.is_file()]
        if not missing:
            for raw, path in zip(_RAW[name], paths, strict=True):
                _verify(path, raw, name)
            return from_mirror(*paths), "mirror"
        where = f"{DATA_HOME_ENV}={home} does not contain {', '.join(map(str, missing))}"
    else:
        where = f"{DATA_HOME_ENV} is not set"
    try:
        return from_openml(), "openml"
    except Exception as exc:  # any failure to download means: no usable source
        raise DataUnavailableError(
            f"Cannot load the {name!r} data set: {where}, and downloading it from OpenML "
            f"failed ({type(exc).__name__}: {exc}). " + _FIX.format(env=DATA_HOME_ENV, files=files)
        ) from exc


def _verify(path: Path, raw: _RawFile, name: str) -> None:
    digest = sha256_file(path)
    if digest != raw.sha256:
        raise DataUnavailableError(
            f"{path} is corrupt or not the published file: its SHA-256 is {digest}, expected "
            f"{raw.sha256} (the published file has {raw.rows:,} rows). Fix it in one of two "
            f"ways: replace it with an intact copy of the published file (see README, 'Data'), "
            f"or unset {DATA_HOME_ENV} on a machine with internet access so that "
            "fairlearn.datasets downloads the data from OpenML."
        )


# --------------------------------------------------------------------------- credit


def _credit_canonical(features: pd.DataFrame, target, index) -> pd.DataFrame:
    df = pd.DataFrame(index=pd.Index(np.asarray(index, dtype="int64"), name="ID"))
    for col in _CREDIT_FEATURES:
        df[col] = pd.to_numeric(features[col].to_numpy(), errors="raise")
    df["LIMIT_BAL"] = df["LIMIT_BAL"].astype("float64")
    for col in ["AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]:
        df[col] = df[col].astype("int64")
    for col in [f"BILL_AMT{i}" for i in range(1, 7)] + [f"PAY_AMT{i}" for i in range(1, 7)]:
        df[col] = df[col].astype("float64")
    codes_sex = df["SEX"].astype("int64")
    if not codes_sex.isin(list(_SEX)).all():
        raise DataUnavailableError("SEX has codes other than 1 (male) and 2 (female).")
    df["SEX"] = pd.Categorical(codes_sex.map(_SEX), categories=["male", "female"])
    df["EDUCATION"] = _coded(df["EDUCATION"], _EDUCATION)
    df["MARRIAGE"] = _coded(df["MARRIAGE"], _MARRIAGE)
    df.insert(df.columns.get_loc("AGE") + 1, "AGE_BAND", age_band(df["AGE"]))
    df[CREDIT_TARGET] = pd.to_numeric(np.asarray(target), errors="raise").astype("int64")
    return df


def _coded(values: pd.Series, mapping: dict[int, str]) -> pd.Categorical:
    labels = list(mapping.values()) + ["unknown"]
    return pd.Categorical(values.astype("int64").map(mapping).fillna("unknown"), categories=labels)


def _credit_from_mirror(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    return _credit_canonical(raw, raw["default.payment.next.month"], raw["ID"])


def _credit_from_openml() -> pd.DataFrame:
    from fairlearn.datasets import fetch_credit_card

    bunch = fetch_credit_card(as_frame=True)
    return _credit_from_fetched(bunch.frame, bunch.target.name)


def _credit_from_fetched(frame: pd.DataFrame, target_name: str) -> pd.DataFrame:
    """Map fairlearn's ``fetch_credit_card`` frame (features named as in the CSV) to ours."""
    target = pd.to_numeric(frame[target_name].astype(str))
    return _credit_canonical(frame, target, np.arange(1, len(frame) + 1))


# --------------------------------------------------------------------------- adult


def _adult_canonical(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.columns = _ADULT_COLUMNS
    for col in _ADULT_NUMERIC:
        df[col] = pd.to_numeric(df[col], errors="raise").astype("int64")
    income = df[ADULT_TARGET].astype("string").str.strip().str.rstrip(".")
    if not income.isin(_INCOME_LEVELS).all():
        raise DataUnavailableError(f"income has labels other than {_INCOME_LEVELS}.")
    for col in _ADULT_COLUMNS:
        if col in _ADULT_NUMERIC or col == ADULT_TARGET:
            continue
        text = df[col].astype("string").str.strip().replace("?", pd.NA)
        df[col] = pd.Categorical(text, categories=sorted(text.dropna().unique()))
    df[ADULT_TARGET] = pd.Categorical(income, categories=_INCOME_LEVELS)
    return df.reset_index(drop=True)


def _adult_from_mirror(train: Path, test: Path) -> pd.DataFrame:
    read = dict(header=None, sep=",", skipinitialspace=True, dtype=str, keep_default_na=False)
    parts = [pd.read_csv(train, **read), pd.read_csv(test, skiprows=1, **read)]
    return _adult_canonical(pd.concat(parts, ignore_index=True))


def _adult_from_openml() -> pd.DataFrame:
    from fairlearn.datasets import fetch_adult

    return _adult_from_fetched(fetch_adult(as_frame=True).frame)


def _adult_from_fetched(frame: pd.DataFrame) -> pd.DataFrame:
    """Map fairlearn's ``fetch_adult`` frame (hyphenated names, NaN for ``?``) to ours."""
    frame = frame.copy()
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            frame[col] = frame[col].astype("string").fillna("?")
    return _adult_canonical(frame)


# --------------------------------------------------------------------------- cache


def _cache_dir() -> Path:
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override).expanduser() if override else project_root() / "data" / "processed"


def _read_cache(path: Path, name: str) -> tuple[pd.DataFrame | None, str, str]:
    """``(frame, its digest, "")`` if the cache passes every check, else ``(None, "", why)``."""
    if not path.is_file():
        return None, "", "is not a file"
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # a directory, a foreign or truncated file, ...
        return None, "", f"cannot be read ({type(exc).__name__})"
    recorded = df.attrs.get("fairaudit_cache", {})
    expected_rows = sum(raw.rows for raw in _RAW[name])
    if not isinstance(recorded, dict) or recorded.get("name") != name:
        return None, "", "was not written by fairaudit for this data set"
    if len(df) != expected_rows:
        return None, "", f"has {len(df):,} rows instead of {expected_rows:,}"
    digest = content_digest(df)
    if recorded.get("content_sha256") != digest:
        return None, "", "does not match the digest recorded when it was written (it was changed)"
    df.attrs = {}
    return df, digest, ""


def _write_cache(df: pd.DataFrame, path: Path, name: str, digest: str) -> None:
    """Write the Parquet cache atomically with its digest (skipped if it cannot be written).

    The digest goes into the file's own metadata (pandas keeps ``attrs`` in
    Parquet), so the file and its digest cannot be separated.
    """
    marked = df.copy(deep=False)
    marked.attrs = {"fairaudit_cache": {"name": name, "content_sha256": digest}}
    try:
        buffer = io.BytesIO()
        marked.to_parquet(buffer, index=True)
        write_bytes_atomic(path, buffer.getvalue())
    except OSError as exc:
        warnings.warn(
            f"The processed cache {path} cannot be written ({exc.strerror or exc}); the data "
            "were loaded and are used, only the cache is skipped.",
            UserWarning,
            stacklevel=4,
        )

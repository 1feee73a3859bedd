"""Recommendations: columns that look like protected attributes, with proposed groups."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fairaudit.monitor._config import as_tuple

_KINDS = {
    "sex": {
        "names": {"sex", "gender"},
        "values": {"male", "female", "m", "f", "man", "woman", "men", "women", "non-binary"},
    },
    "race": {
        "names": {"race", "ethnicity", "ethnic"},
        "values": {
            "white", "black", "asian", "hispanic", "latino", "other", "asian-pac-islander",
            "amer-indian-eskimo", "native american", "pacific islander", "mixed",
            "african american", "caucasian",
        },
    },
    "marital_status": {
        "names": {"marriage", "marital", "married"},
        "values": {
            "married", "single", "divorced", "widowed", "separated", "never-married",
            "married-civ-spouse", "married-spouse-absent", "married-af-spouse", "others",
        },
    },
    "age": {"names": {"age", "dob", "birthdate", "birth"}, "values": set()},
    "national_origin": {
        "names": {"country", "nationality", "citizenship", "native"},
        "values": set(),
    },
    "postal_code": {"names": {"zip", "zipcode", "postal", "postcode"}, "values": set()},
}  # fmt: skip

# catch-all labels are never recommended as a group: they mix unrelated people
_PLACEHOLDERS = {"unknown", "other", "others", "missing", "?", "na", "n/a", "none", ""}

_YOUNG = 26  # the monitored age group is 18-25 by convention


def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return {t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t}


def _detect(name: str, values: pd.Series):
    """(kind, matched_by) for a column, or None."""
    tokens = _tokens(name)
    by_name = next((k for k, spec in _KINDS.items() if tokens & spec["names"]), None)
    by_values = None
    if not pd.api.types.is_numeric_dtype(values.dtype):
        distinct = {str(v).strip().lower() for v in values.dropna().unique()}
        if 2 <= len(distinct) <= 50:
            for kind, spec in _KINDS.items():
                vocab = spec["values"]
                if vocab and len(distinct & vocab) >= max(2, 0.6 * len(distinct)):
                    by_values = kind
                    break
    if by_name is None and by_values is None:
        return None
    if by_name and by_values and by_name != by_values:
        return by_values, "values"
    kind = by_name or by_values
    matched = "name and values" if by_name and by_values else ("name" if by_name else "values")
    return kind, matched


def _age_groups(values: pd.Series) -> pd.Series:
    """Young (18-25) vs older for numeric ages or age-band labels such as ``"26-35"``."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        young = values < _YOUNG
    else:
        low = values.astype("string").str.extract(r"^\s*(\d+)", expand=False).astype("Float64")
        young = low < _YOUNG
    labels = young.map({True: f"18-{_YOUNG - 1}", False: f"{_YOUNG}+"})
    return labels.where(values.notna())


def recommend_fairness_attributes(
    X: pd.DataFrame, y=None, *, favourable_label=None, min_group_size: int = 30
) -> pd.DataFrame:
    """Find columns that look like protected attributes and propose monitored/reference values.

    A column is detected by its name (``sex``, ``gender``, ``race``,
    ``marital``, ``age``, ``country``, ``zip`` ... as a word of the name, so
    ``AGE_BAND`` matches and ``average`` does not) or by its values (a column
    of ``male``/``female`` is a sex column whatever it is called).

    Parameters
    ----------
    X : pandas.DataFrame
    y : array-like, optional
        Outcomes (labels or a model's decisions) to rank the groups by.
    favourable_label : value or list of values, optional
        The favourable values of ``y``; required with ``y``.
    min_group_size : int, default=30
        Groups smaller than this are never recommended (their rates are noise).

    Returns
    -------
    pandas.DataFrame
        One row per detected column: ``column, kind, matched_by, groups``
        (``{value: [count, favourable_rate]}``), ``monitored, reference``
        (lists of values of the column, or of the derived age groups
        ``"18-25"``/``"26+"`` for numeric ages), ``basis`` and ``note``.

    Notes
    -----
    With outcomes, the reference is the group with the highest favourable rate
    and the monitored group the one with the lowest (both among groups of at
    least ``min_group_size``, catch-all labels such as ``unknown`` or
    ``others`` left out). Without, documented conventions apply: sex
    female vs male; race: every other group vs white; marital status: every
    other status vs married; age 18-25 vs 26 and over; national origin: every
    other country vs the most frequent. Postal codes get no recommendation: an
    area's demographics, not its code, decide who may be harmed. These are
    starting points; the people affected and domain experts decide.
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}.")
    if y is not None:
        if favourable_label is None:
            raise ValueError(
                "favourable_label is required with y: which outcome values benefit people?"
            )
        y = pd.Series(np.asarray(y), index=X.index)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} values but X has {len(X)} rows.")
        is_fav = y.astype("string").isin(
            [str(v) for v in as_tuple(favourable_label, "favourable_label")]
        )
    rows = []
    for name in X.columns:
        found = _detect(name, X[name])
        if found is None:
            continue
        kind, matched = found
        values = X[name]
        if kind == "age":
            values = _age_groups(values)
        counts = values.value_counts(dropna=True, sort=False)
        counts = counts[counts > 0]
        groups = {str(g): [int(c), None] for g, c in counts.items()}
        note = ""
        monitored = reference = None
        if kind == "postal_code":
            basis = "none"
            note = "join area demographics to postal codes and monitor those groups"
        elif y is not None:
            rates = is_fav.groupby(values, observed=True).mean()
            for g, r in rates.items():
                if str(g) in groups:
                    groups[str(g)][1] = float(r)
            sized = counts.reindex(rates.index).fillna(0) >= min_group_size
            named = ~rates.index.astype(str).str.strip().str.lower().isin(_PLACEHOLDERS)
            big = rates[sized & named]
            if len(big) >= 2:
                reference, monitored = [big.idxmax()], [big.idxmin()]
                basis = "highest / lowest favourable rate"
            else:
                basis = "none"
                note = f"fewer than two groups of at least {min_group_size} rows"
        else:
            basis = "convention"
            monitored, reference = _convention(kind, counts)
        if kind == "age" and not pd.api.types.is_numeric_dtype(X[name].dtype):
            # translate the young/older split back into the column's own band labels
            labels = pd.Series(X[name].dropna().unique())
            young = set(labels[_age_groups(labels) == f"18-{_YOUNG - 1}"].astype(str))
            if monitored is not None:
                monitored = sorted(
                    str(v) for v in labels if (str(v) in young) == (monitored[0].startswith("18"))
                )
                reference = sorted(str(v) for v in labels if str(v) not in monitored)
        elif kind == "age":
            note = f"derive age groups first, e.g. age_band({name}, edges=(18, {_YOUNG}, 101))"
        rows.append(
            {
                "column": name,
                "kind": kind,
                "matched_by": matched,
                "groups": groups,
                "monitored": None if monitored is None else [_plain(v) for v in monitored],
                "reference": None if reference is None else [_plain(v) for v in reference],
                "basis": basis,
                "note": note,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "column",
            "kind",
            "matched_by",
            "groups",
            "monitored",
            "reference",
            "basis",
            "note",
        ],
    )


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _convention(kind, counts: pd.Series):
    labels = [str(v) for v in counts.index]
    lower = {v.lower(): v for v in labels}
    if kind == "sex":
        male = next((lower[k] for k in ("male", "m", "man", "men") if k in lower), None)
        female = next((lower[k] for k in ("female", "f", "woman", "women") if k in lower), None)
        if male and female:
            return [female], [male]
    elif kind == "race":
        white = next((lower[k] for k in ("white", "caucasian") if k in lower), None)
        if white:
            return [v for v in labels if v != white], [white]
    elif kind == "marital_status":
        married = [v for v in labels if v.lower().startswith("married")]
        if married:
            return [v for v in labels if v not in married], married
    elif kind == "age":
        return [f"18-{_YOUNG - 1}"], [f"{_YOUNG}+"]
    elif kind == "national_origin" and len(counts):
        top = str(counts.idxmax())
        return [v for v in labels if v != top], [top]
    return None, None

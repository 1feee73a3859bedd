"""Perturbation: re-scoring requests with the sensitive feature flipped, and de-biased decisions.

As in OpenScale, each monitored record is scored again once for *every*
reference value, and each reference record once for every monitored value.
A record's counterfactual decision is the one most of its copies get (a strict
majority of the other group's values; with one value, that copy's decision).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairaudit._io import to_jsonable
from fairaudit.monitor._config import FairnessConfig, as_timestamp, series_text, value_text
from fairaudit.monitor._payload import PayloadLog
from fairaudit.monitor._windows import ORIGIN, disparate_impact_record

_MONITORED, _REFERENCE = "monitored", "reference"


def _group_of(values: pd.Series, config: FairnessConfig) -> np.ndarray:
    """``"monitored"``, ``"reference"`` or ``"other"`` per row (compared by :func:`value_text`)."""
    text = series_text(values)
    return np.select(
        [
            text.isin([value_text(v) for v in config.monitored]).fillna(False).to_numpy(bool),
            text.isin([value_text(v) for v in config.reference]).fillna(False).to_numpy(bool),
        ],
        [_MONITORED, _REFERENCE],
        default="other",
    )


def perturb_attribute(X: pd.DataFrame, config: FairnessConfig) -> pd.DataFrame:
    """Copies of ``X``'s monitored and reference rows with only the sensitive feature flipped.

    Each monitored row is copied once per reference value and each reference row
    once per monitored value, with that value; every other column is untouched
    and other rows get no copy. A copy keeps its row's index label, so
    re-scoring the copies asks the model "would the decision have been the same
    for the other group?".

    Parameters
    ----------
    X : pandas.DataFrame
        Requests holding ``config.sensitive_features``.
    config : FairnessConfig

    Returns
    -------
    pandas.DataFrame
        The copies, in the order of ``X``'s rows, then of the values.

    Raises
    ------
    ValueError
        If the sensitive feature is not a column of ``X``.
    """
    column = config.sensitive_features
    if column not in X.columns:
        raise ValueError(
            f"sensitive_features={column!r} is not a column of X; columns: {list(X.columns)}."
        )
    group = _group_of(X[column], config)
    position = np.arange(len(X))
    parts = []
    for mine, others in ((_MONITORED, config.reference), (_REFERENCE, config.monitored)):
        rows = position[group == mine]
        parts += [X.iloc[rows].assign(**{column: value, "_row": rows, "_copy": n})
                  for n, value in enumerate(others)]  # fmt: skip
    out = pd.concat(parts).sort_values(["_row", "_copy"], kind="stable")
    dtype = X[column].dtype
    if isinstance(dtype, pd.CategoricalDtype):
        new = [v for v in (*config.monitored, *config.reference) if v not in dtype.categories]
        dtype = pd.CategoricalDtype([*dtype.categories, *new], ordered=dtype.ordered)
    return out.drop(columns=["_row", "_copy"]).astype({column: dtype})


@dataclass
class PerturbationResult:
    """Payload, perturbed and de-biased decisions of the logged requests, and their summary.

    Attributes
    ----------
    records : pandas.DataFrame
        One row per request of the monitored or reference group:
        ``request_id, scoring_timestamp, model_version, group, prediction,
        copies`` (its perturbed copies), ``copies_favourable``,
        ``counterfactual_favourable`` (most copies are favourable), ``changed``
        (that differs from its own decision), ``debiased_prediction, label``.
    summary : dict
        ``records`` and ``copies`` per group, ``changed`` (records whose
        counterfactual decision differs, by group and direction), ``debiased``
        (monitored decisions turned favourable), disparate impact on
        ``payload``, ``payload_plus_perturbed`` (every record also joins the
        other group with its counterfactual decision) and ``debiased`` (each
        with its counts and interval), and
        ``accuracy`` before/after de-biasing on requests with a feedback label.
    config : FairnessConfig
    """

    records: pd.DataFrame
    summary: dict
    config: FairnessConfig

    def windowed(self, window=None, *, origin=None) -> pd.DataFrame:
        """Disparate impact per window for the payload, payload + perturbed and de-biased views.

        Computed in pandas from :attr:`records` (no ``min_records`` back-fill),
        long format: ``window_start, view, disparate_impact`` and the counts.

        Parameters
        ----------
        window : str or Timedelta, optional
            Window length (default: the configuration's).
        origin : timestamp, optional
            Windows are aligned to it (default as for the windowed monitor).

        Returns
        -------
        pandas.DataFrame
        """
        width = self.config.window if window is None else pd.Timedelta(window)
        origin = ORIGIN if origin is None else as_timestamp(origin, "origin")
        rec = self.records
        start = origin + ((rec["scoring_timestamp"] - origin) // width) * width
        rows = [
            {"window_start": bucket, "view": view, **disparate_impact_record(*counts)}
            for bucket, part in rec.groupby(start, sort=True)
            for view, counts in _view_counts(part).items()
        ]
        return pd.DataFrame(rows)

    def disparate_impact(self) -> pd.Series:
        """Disparate impact of ``payload``, ``payload_plus_perturbed`` and ``debiased``."""
        views = self.summary["disparate_impact"]
        return pd.Series({view: views[view]["disparate_impact"] for view in views}, dtype=float)

    def accuracy(self) -> pd.DataFrame:
        """Accuracy as decided and de-biased on requests with feedback: all, and the monitored."""
        acc = self.summary["accuracy"]
        return pd.DataFrame(
            {who: acc[who] for who in ("all", _MONITORED)}, index=["records", "before", "after"]
        ).T.rename(columns={"records": "labelled"})

    def effect(self, *, material: float = 0.01, alpha: float = 0.05) -> dict:
        """How far the sensitive feature itself moves the monitored group's decisions.

        ``lifted`` monitored refusals would be approvals, and ``dropped``
        approvals refusals, as members of the reference group; ``net`` is
        ``(lifted - dropped) / monitored``, the change in the group's approval
        rate. A sign test asks whether flips go one way more than chance
        (``p_value``). The ``direction`` is ``"disadvantages"`` or
        ``"favours"`` only when the test is significant at ``alpha`` *and* the
        effect is material (``|net| >= material``), ``"negligible"`` when it is
        significant but smaller, and ``"none"`` otherwise.
        """
        from scipy.stats import binomtest

        changed = self.summary["changed"]
        n = self.summary["records"][_MONITORED]
        lifted, dropped = changed["monitored_to_favourable"], changed["monitored_to_unfavourable"]
        p_value = binomtest(lifted, lifted + dropped).pvalue if lifted + dropped else 1.0
        net = (lifted - dropped) / n if n else 0.0
        if p_value >= alpha:
            direction = "none"
        elif abs(net) < material:
            direction = "negligible"
        else:
            direction = "disadvantages" if net > 0 else "favours"
        return {
            "monitored": n,
            "lifted": lifted,
            "dropped": dropped,
            "net": net,
            "p_value": float(p_value),
            "material": material,
            "direction": direction,
        }

    def to_dict(self) -> dict:
        """JSON-ready summary (the per-record table is left out; NaN becomes None)."""
        return to_jsonable({"config": self.config.to_dict(), **self.summary})


def _view_counts(rec: pd.DataFrame) -> dict:
    """(m_fav, m_tot, r_fav, r_tot) for the payload, payload + perturbed and de-biased views."""
    mon = (rec["group"] == _MONITORED).to_numpy()
    ref = ~mon
    fav = rec["favourable"].to_numpy(bool)
    flip = rec["counterfactual_favourable"].to_numpy(bool)
    deb = rec["debiased_favourable"].to_numpy(bool)
    return {
        "payload": (fav[mon].sum(), mon.sum(), fav[ref].sum(), ref.sum()),
        # every record also joins the other group with its counterfactual decision, so a model
        # that ignores the sensitive feature gives both groups the same decisions: 100%
        "payload_plus_perturbed": (
            fav[mon].sum() + flip[ref].sum(),
            len(rec),
            fav[ref].sum() + flip[mon].sum(),
            len(rec),
        ),
        "debiased": (deb[mon].sum(), mon.sum(), deb[ref].sum(), ref.sum()),
    }


def _predict(model, X: pd.DataFrame) -> np.ndarray:
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X))
    if callable(model):
        return np.asarray(model(X))
    raise TypeError(f"model must be a fitted estimator or a callable, got {type(model).__name__}.")


def _rescore(model, copies, versions, features) -> pd.Series:
    """Each copy scored by the model (or the model version) that scored its request."""
    if not isinstance(model, dict):
        return pd.Series(list(_predict(model, copies[features])), index=copies.index, dtype=object)
    versions = versions.astype("string").fillna("<missing>")
    unknown = sorted(set(versions) - set(map(str, model)))
    if unknown:
        raise ValueError(f"no model given for logged model_version(s) {unknown}.")
    out = pd.Series([None] * len(copies), index=copies.index, dtype=object)
    of_copy = versions.to_numpy()[copies.index.to_numpy()]
    for version, estimator in model.items():
        rows = of_copy == str(version)
        if rows.any():
            out[rows] = list(_predict(estimator, copies.loc[rows, features]))
    return out


def perturbation_analysis(
    log: PayloadLog,
    config: FairnessConfig,
    model,
    *,
    start=None,
    end=None,
    derive=None,
    ci: float = 0.95,
    n_boot: int = 1000,
    random_state=None,
) -> PerturbationResult:
    """Re-score logged requests with the sensitive feature flipped; de-bias decisions.

    Each monitored request is scored again as a member of the reference group,
    once for every reference value, and each reference request once for every
    monitored value. A monitored request refused as it is, but approved under
    most reference values, is *de-biased*: its decision becomes favourable.

    Parameters
    ----------
    log : PayloadLog
    config : FairnessConfig
    model : estimator, callable or dict
        The deployed model: a fitted estimator whose ``predict`` returns the
        logged decisions, a callable ``X -> decisions``, or a dict mapping each
        logged ``model_version`` to one of those (each request is re-scored by
        the model that scored it).
    start, end : datetime-like, optional
        Requests with ``start <= scoring_timestamp < end`` are re-scored (they
        are read into memory, so choose a range that fits).
    derive : callable, optional
        ``frame -> frame`` applied to the copies, to recompute model inputs
        derived from the sensitive feature. Required when it is logged but is
        not a model input: flipping it alone could never change a decision.
    ci, n_boot, random_state
        Bootstrap intervals of the three disparate impacts.

    Returns
    -------
    PerturbationResult

    Notes
    -----
    Perturbation only detects bias that flows through the sensitive feature (or
    features ``derive`` recomputes from it). A model that never sees it shows no
    changed decisions even if proxies carry the same information; the windowed
    disparate impact still sees the outcome gap.
    """
    config.validate(log)
    column = config.sensitive_features
    if column not in log.features and derive is None:
        raise ValueError(
            f"{column!r} is logged but is not a model input, so flipping it cannot change a "
            "decision. Pass derive=<function recomputing the model inputs from it>, or monitor "
            "a model that takes it as an input."
        )
    frame = log.to_pandas(start=start, end=end)
    group = _group_of(frame[column], config)
    frame = frame[group != "other"].reset_index(drop=True)
    group = group[group != "other"]
    copies = perturb_attribute(frame[log.features + log.attributes], config)
    if derive is not None:
        copies = derive(copies)
    fav = [value_text(v) for v in config.favourable_label]
    scored = _rescore(model, copies, frame["model_version"], log.features)
    copy_fav = pd.Series(series_text(scored).isin(fav).to_numpy(bool), index=scored.index)
    per_row = (
        copy_fav.groupby(level=0).agg(["size", "sum"]).reindex(range(len(frame)), fill_value=0)
    )
    prediction = frame["prediction"]
    is_fav = series_text(prediction).isin(fav).to_numpy(bool)
    counterfactual = 2 * per_row["sum"].to_numpy() > per_row["size"].to_numpy()
    mon, ref = group == _MONITORED, group == _REFERENCE
    # the de-biasing rule: a monitored request refused only because of its group gets the
    # favourable decision it would have got as a member of the reference group
    lift = mon & ~is_fav & counterfactual
    favourable_copy = scored[copy_fav].groupby(level=0).first()
    debiased = prediction.astype(object).copy()
    debiased[lift] = favourable_copy.reindex(np.flatnonzero(lift)).to_numpy()
    records = pd.DataFrame(
        {
            "request_id": frame["request_id"],
            "scoring_timestamp": frame["scoring_timestamp"],
            "model_version": frame["model_version"],
            "group": group,
            "prediction": prediction,
            "favourable": is_fav,
            "copies": per_row["size"].to_numpy(),
            "copies_favourable": per_row["sum"].to_numpy(),
            "counterfactual_favourable": counterfactual,
            "changed": counterfactual != is_fav,
            "debiased_prediction": debiased.astype(prediction.dtype),
            "debiased_favourable": is_fav | lift,
            "label": frame["label"],
        }
    )
    rng = np.random.default_rng(random_state)
    summary = {
        "records": {_MONITORED: int(mon.sum()), _REFERENCE: int(ref.sum())},
        "copies": {
            _MONITORED: int(records["copies"][mon].sum()),
            _REFERENCE: int(records["copies"][ref].sum()),
        },  # fmt: skip
        "changed": {
            "monitored_to_favourable": int(lift.sum()),
            "monitored_to_unfavourable": int((mon & is_fav & ~counterfactual).sum()),
            "reference_to_unfavourable": int((ref & is_fav & ~counterfactual).sum()),
            "reference_to_favourable": int((ref & ~is_fav & counterfactual).sum()),
        },
        "debiased": int(lift.sum()),
        "disparate_impact": {
            view: disparate_impact_record(*counts, ci=ci, n_boot=n_boot, rng=rng)
            for view, counts in _view_counts(records).items()
        },
        "accuracy": _feedback_accuracy(records),
    }
    return PerturbationResult(records=records, summary=summary, config=config)


def _feedback_accuracy(records: pd.DataFrame) -> dict:
    """Accuracy of payload and de-biased decisions on requests whose true outcome is known."""
    labelled = records[records["label"].notna()]
    out = {"labelled_records": int(len(labelled))}
    for name, part in (("all", labelled), (_MONITORED, labelled[labelled["group"] == _MONITORED])):
        truth = part["label"].astype("string")
        before = (part["prediction"].astype("string") == truth).mean() if len(part) else np.nan
        after = (
            (part["debiased_prediction"].astype("string") == truth).mean() if len(part) else np.nan
        )
        out[name] = {"records": int(len(part)), "before": float(before), "after": float(after)}
    return out

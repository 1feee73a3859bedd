"""Perturbation: re-scoring requests with the attribute flipped, and de-biased decisions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairaudit._io import to_jsonable
from fairaudit.monitor._config import FairnessConfig, series_text, value_text
from fairaudit.monitor._payload import _MONITORED, _REFERENCE, PayloadLog, _timestamp
from fairaudit.monitor._windows import _ORIGIN, _disparate_impact_record


def _group_of(values: pd.Series, config: FairnessConfig) -> np.ndarray:
    """``"monitored"``, ``"reference"`` or ``"other"`` per row (compared as text, as in SQL)."""
    text = series_text(values)
    return np.select(
        [
            text.isin([value_text(v) for v in config.monitored]).fillna(False).to_numpy(bool),
            text.isin([value_text(v) for v in config.reference]).fillna(False).to_numpy(bool),
        ],
        [_MONITORED, _REFERENCE],
        default="other",
    )


def perturb_attribute(
    X: pd.DataFrame, config: FairnessConfig, *, to_reference=None, to_monitored=None
) -> pd.DataFrame:
    """Copy of ``X`` with the fairness attribute flipped and every other column untouched.

    Rows of the monitored group get the reference value ``to_reference``
    (default: the first reference value of ``config``), rows of the reference
    group get ``to_monitored`` (default: the first monitored value); other rows
    are unchanged. Re-scoring this frame asks the model "would the decision
    have been the same for the other group?".

    Parameters
    ----------
    X : pandas.DataFrame
        Requests holding ``config.attribute``.
    config : FairnessConfig
    to_reference, to_monitored : value, optional
        The values the two groups are flipped to.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        If the attribute is not a column of ``X``.
    """
    if config.attribute not in X.columns:
        raise ValueError(
            f"attribute {config.attribute!r} is not a column of X; columns: {list(X.columns)}."
        )
    to_reference = config.reference[0] if to_reference is None else to_reference
    to_monitored = config.monitored[0] if to_monitored is None else to_monitored
    if value_text(to_reference) not in map(value_text, config.reference):
        raise ValueError(
            f"to_reference={to_reference!r} is not a reference value {config.reference}."
        )
    if value_text(to_monitored) not in map(value_text, config.monitored):
        raise ValueError(
            f"to_monitored={to_monitored!r} is not a monitored value {config.monitored}."
        )
    column = X[config.attribute]
    group = _group_of(column, config)
    flipped = column.copy()
    if isinstance(column.dtype, pd.CategoricalDtype):
        new = [v for v in (to_reference, to_monitored) if v not in column.cat.categories]
        if new:
            flipped = flipped.cat.add_categories(new)
    else:
        flipped = flipped.astype(object)
    flipped[group == _MONITORED] = to_reference
    flipped[group == _REFERENCE] = to_monitored
    if not isinstance(column.dtype, pd.CategoricalDtype):
        flipped = flipped.astype(column.dtype)
    out = X.copy()
    out[config.attribute] = flipped
    return out


@dataclass
class PerturbationResult:
    """Payload, perturbed and de-biased decisions of the logged requests, and their summary.

    Attributes
    ----------
    records : pandas.DataFrame
        One row per request of the monitored or reference group:
        ``request_id, scoring_timestamp, model_version, group, prediction,
        perturbed_prediction, changed, debiased_prediction, label``.
    summary : dict
        ``records``, ``changed`` (decisions that change when only the attribute
        changes) per group, ``debiased`` (monitored decisions turned
        favourable), disparate impact on ``payload``, ``payload_plus_perturbed``
        and ``debiased`` (each with its counts and interval), and ``accuracy``
        before/after de-biasing on requests with a feedback label.
    """

    records: pd.DataFrame
    summary: dict
    config: FairnessConfig

    def windowed(self, window=None, *, origin=None) -> pd.DataFrame:
        """Disparate impact per window for the payload, payload + perturbed and de-biased views.

        Computed in pandas from :attr:`records` (no ``min_records`` back-fill),
        long format: ``window_start, view, disparate_impact``; ``window``
        defaults to the configuration's.

        Parameters
        ----------
        window : str or Timedelta, optional
            Window length.
        origin : timestamp, optional
            Start of the first window (default: the first request's day).

        Returns
        -------
        pandas.DataFrame
        """
        width = self.config.window if window is None else pd.Timedelta(window)
        origin = _ORIGIN if origin is None else _timestamp(origin, "origin")
        rec = self.records
        start = origin + ((rec["scoring_timestamp"] - origin) // width) * width
        rows = []
        for bucket, part in rec.groupby(start, sort=True):
            for view, counts in _view_counts(part, self.config).items():
                rows.append(
                    {"window_start": bucket, "view": view, **_disparate_impact_record(*counts)}
                )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """JSON-ready summary (the per-record table is left out; NaN becomes None)."""
        return to_jsonable({"config": self.config.to_dict(), **self.summary})


def _view_counts(rec: pd.DataFrame, config: FairnessConfig) -> dict:
    """(m_fav, m_tot, r_fav, r_tot) for the payload, payload + perturbed and de-biased views."""
    fav = [value_text(v) for v in config.favourable]
    is_fav = series_text(rec["prediction"]).isin(fav).to_numpy(bool)
    pert_fav = series_text(rec["perturbed_prediction"]).isin(fav).to_numpy(bool)
    deb_fav = series_text(rec["debiased_prediction"]).isin(fav).to_numpy(bool)
    mon = (rec["group"] == _MONITORED).to_numpy()
    ref = (rec["group"] == _REFERENCE).to_numpy()
    payload = (is_fav[mon].sum(), mon.sum(), is_fav[ref].sum(), ref.sum())
    # perturbed reference records join the monitored group and vice versa
    combined = (
        is_fav[mon].sum() + pert_fav[ref].sum(),
        mon.sum() + ref.sum(),
        is_fav[ref].sum() + pert_fav[mon].sum(),
        ref.sum() + mon.sum(),
    )
    debiased = (deb_fav[mon].sum(), mon.sum(), deb_fav[ref].sum(), ref.sum())
    return {"payload": payload, "payload_plus_perturbed": combined, "debiased": debiased}


def _predict(model, X: pd.DataFrame) -> np.ndarray:
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X))
    if callable(model):
        return np.asarray(model(X))
    raise TypeError(f"model must be a fitted estimator or a callable, got {type(model).__name__}.")


def perturbation_analysis(
    log: PayloadLog,
    config: FairnessConfig,
    model,
    *,
    start=None,
    end=None,
    derive=None,
    to_reference=None,
    to_monitored=None,
    ci: float = 0.95,
    n_boot: int = 1000,
    random_state=None,
) -> PerturbationResult:
    """Re-score logged requests with the fairness attribute flipped; de-bias decisions.

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
        ``frame -> frame`` applied after flipping, to recompute model inputs
        derived from the attribute. Required when the attribute is logged but
        is not a model input: flipping it alone could never change a decision.
    to_reference, to_monitored
        Values the flipped records get; see :func:`perturb_attribute`.
    ci, n_boot, random_state
        Bootstrap intervals of the three disparate impacts.

    Returns
    -------
    PerturbationResult

    Notes
    -----
    Perturbation only detects bias that flows through the attribute (or
    features ``derive`` recomputes from it). A model that never sees the
    attribute shows no changed decisions even if proxies such as postal code
    carry the same information; the windowed disparate impact still sees the
    outcome gap.
    """
    config.validate(log)
    if config.attribute not in log.features and derive is None:
        raise ValueError(
            f"{config.attribute!r} is logged but is not a model input, so flipping it cannot "
            "change a decision. Pass derive=<function recomputing the model inputs from it>, "
            "or monitor a model that takes it as an input."
        )
    frame = log.to_pandas(start=start, end=end)
    group = _group_of(frame[config.attribute], config)
    frame = frame[group != "other"].reset_index(drop=True)
    group = group[group != "other"]
    inputs = frame[log.features + log.attributes]
    flipped = perturb_attribute(
        inputs, config, to_reference=to_reference, to_monitored=to_monitored
    )
    if derive is not None:
        flipped = derive(flipped)
    perturbed = pd.Series([None] * len(frame), dtype=object)
    if isinstance(model, dict):
        versions = frame["model_version"].astype("string").fillna("<missing>")
        unknown = sorted(set(versions) - set(map(str, model)))
        if unknown:
            raise ValueError(f"no model given for logged model_version(s) {unknown}.")
        for version, estimator in model.items():
            rows = (versions == str(version)).to_numpy()
            if rows.any():
                perturbed[rows] = list(_predict(estimator, flipped.loc[rows, log.features]))
    else:
        perturbed[:] = list(_predict(model, flipped[log.features]))
    prediction = frame["prediction"]
    perturbed = perturbed.astype(prediction.dtype)
    fav = [value_text(v) for v in config.favourable]
    is_fav = series_text(prediction).isin(fav).to_numpy(bool)
    pert_fav = series_text(perturbed).isin(fav).to_numpy(bool)
    mon = group == _MONITORED
    # the de-biasing rule: a monitored request refused only because of its group gets the
    # favourable decision it would have got as a member of the reference group
    flip_up = mon & ~is_fav & pert_fav
    debiased = prediction.where(~flip_up, perturbed)
    records = pd.DataFrame(
        {
            "request_id": frame["request_id"],
            "scoring_timestamp": frame["scoring_timestamp"],
            "model_version": frame["model_version"],
            "group": group,
            "prediction": prediction,
            "perturbed_prediction": perturbed,
            "changed": (prediction.astype("string") != perturbed.astype("string")).to_numpy(),
            "debiased_prediction": debiased,
            "label": frame["label"],
        }
    )
    rng = np.random.default_rng(random_state)
    views = _view_counts(records, config)
    ref = ~mon
    summary = {
        "records": {"monitored": int(mon.sum()), "reference": int(ref.sum())},
        "changed": {
            "monitored_to_favourable": int(flip_up.sum()),
            "monitored_to_unfavourable": int((mon & is_fav & ~pert_fav).sum()),
            "reference_to_unfavourable": int((ref & is_fav & ~pert_fav).sum()),
            "reference_to_favourable": int((ref & ~is_fav & pert_fav).sum()),
        },
        "debiased": int(flip_up.sum()),
        "disparate_impact": {
            view: _disparate_impact_record(*counts, ci=ci, n_boot=n_boot, rng=rng)
            for view, counts in views.items()
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

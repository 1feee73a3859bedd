"""Fairness monitoring of a deployed model over its logged requests.

An audit before launch says how a model treated the people in a test set. Once
the model is deployed, the people it scores change, the model may be replaced,
and upstream systems may start feeding it different inputs; a fairness
*monitor* watches the decisions actually made. This module implements the
concepts of production fairness monitors (IBM Watson OpenScale's is the
reference point):

Fairness attribute, monitored and reference values
    A column such as ``SEX`` with the *monitored* values (the group that may be
    harmed, e.g. ``female``) and the *reference* values (the comparison group,
    e.g. ``male``); see :class:`FairnessConfig`.
Favourable outcome
    The prediction values that benefit the person (loan granted, which for a
    default-risk model is the prediction "no default").
Disparate impact
    Favourable rate of the monitored group divided by that of the reference
    group, shown as a percentage (it can exceed 100%). A window whose value is
    below the threshold (default 80%, the four-fifths rule) raises an alert.
Windows and ``min_records``
    Disparate impact is computed per time window (hourly by default). When a
    window holds fewer than ``min_records`` records of the monitored and
    reference groups (the records disparate impact rests on; other requests do
    not count), the newest earlier such records are pulled in until it has
    enough; each window reports how many came from earlier windows and the
    oldest and newest timestamps used.
Perturbation and de-biased decisions
    Every logged request is re-scored with the fairness attribute flipped
    (monitored to reference value and back). A decision that changes when only
    the attribute changes is direct evidence that the attribute drives it. The
    *de-biased* decision of a monitored-group request whose decision is
    unfavourable but becomes favourable when perturbed is the favourable one;
    :func:`perturbation_analysis` reports disparate impact on the payload, on
    payload + perturbed records and with de-biased decisions, and accuracy
    before and after de-biasing on requests with feedback labels.
Recommendations
    :func:`recommend_fairness_attributes` finds columns that look like
    protected attributes (sex, race, marital status, age, national origin,
    postal code) and proposes monitored and reference values.
"""

from fairaudit.monitor._config import PAYLOAD_COLUMNS, FairnessConfig
from fairaudit.monitor._detection import alert_runs, cusum, detection_table, shares_records
from fairaudit.monitor._payload import PayloadLog
from fairaudit.monitor._perturbation import (
    PerturbationResult,
    perturb_attribute,
    perturbation_analysis,
)
from fairaudit.monitor._plots import plot_disparate_impact, plot_perturbation_views
from fairaudit.monitor._recommend import recommend_fairness_attributes
from fairaudit.monitor._tables import TableLog
from fairaudit.monitor._windows import fairness_alerts, window_records, windowed_disparate_impact

__all__ = [
    "PAYLOAD_COLUMNS",
    "PayloadLog",
    "TableLog",
    "FairnessConfig",
    "windowed_disparate_impact",
    "window_records",
    "fairness_alerts",
    "alert_runs",
    "shares_records",
    "cusum",
    "detection_table",
    "perturb_attribute",
    "PerturbationResult",
    "perturbation_analysis",
    "recommend_fairness_attributes",
    "plot_disparate_impact",
    "plot_perturbation_views",
]

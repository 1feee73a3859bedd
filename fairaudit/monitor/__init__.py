"""Fairness monitoring of a deployed model over its logged requests (OpenScale's concepts).

Sensitive feature, monitored and reference values
    A logged column such as ``SEX``, the group that may be harmed (``female``)
    and the group it is compared with (``male``); see :class:`FairnessConfig`.
Favourable label
    The decisions that benefit the person (a loan granted).
Disparate impact per window
    The monitored group's favourable rate over the reference group's, per time
    window, counted where the log lives; a window short of ``min_records``
    monitored and reference records borrows the newest earlier ones, never
    across a change of model version. Below the threshold, a window alerts.
Sequential detection
    Alerts on point estimates or intervals, runs of alerts and Page's CUSUM,
    each with its false-alarm rate and its delay after a change.
Perturbation and de-biased decisions
    Requests re-scored with the sensitive feature set to every value of the
    other group; a monitored refusal that most reference values would approve
    is de-biased to approval.
Recommendations
    Columns that look like protected attributes, with proposed groups.
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

"""Fairness monitoring of a deployed model over its logged requests."""

from fairaudit.monitor._config import FairnessConfig
from fairaudit.monitor._payload import PAYLOAD_COLUMNS, PayloadLog
from fairaudit.monitor._perturbation import (
    PerturbationResult,
    perturb_attribute,
    perturbation_analysis,
)
from fairaudit.monitor._plots import plot_disparate_impact, plot_perturbation_views
from fairaudit.monitor._recommend import recommend_fairness_attributes
from fairaudit.monitor._simulate import simulate_requests
from fairaudit.monitor._windows import fairness_alerts, window_records, windowed_disparate_impact

__all__ = [
    "PAYLOAD_COLUMNS",
    "PayloadLog",
    "FairnessConfig",
    "windowed_disparate_impact",
    "window_records",
    "fairness_alerts",
    "perturb_attribute",
    "PerturbationResult",
    "perturbation_analysis",
    "recommend_fairness_attributes",
    "simulate_requests",
    "plot_disparate_impact",
    "plot_perturbation_views",
]

"""Fairness monitoring of a deployed model over its logged requests."""

from fairaudit.monitor._monitor import (
    PAYLOAD_COLUMNS,
    FairnessConfig,
    PayloadLog,
    PerturbationResult,
    fairness_alerts,
    perturb_attribute,
    perturbation_analysis,
    plot_disparate_impact,
    plot_perturbation_views,
    recommend_fairness_attributes,
    simulate_requests,
    window_records,
    windowed_disparate_impact,
)

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

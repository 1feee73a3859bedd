"""Mitigation: fit and compare fair candidates, gate a release, save the decision rule."""

from fairaudit._validation import group_keys
from fairaudit.mitigation._decision_rule import (
    FORMAT,
    TRUSTED_TYPES,
    DecisionRule,
    DecisionRuleError,
    sidecar_path,
)
from fairaudit.mitigation._derandomise import (
    VoteMixture,
    partial_thresholds,
    thresholds_from_optimizer,
)
from fairaudit.mitigation._gate import (
    CHECKS,
    check_verdicts,
    fairness_gate,
    gate_passes,
    gate_verdict,
)
from fairaudit.mitigation._grid_search import multiplier_path, sweep_grid_search
from fairaudit.mitigation._preprocessing import DecorrelatedClassifier
from fairaudit.mitigation._protocol import check_unseen, fit_rows, split_rows
from fairaudit.mitigation._reductions import (
    CONSTRAINTS,
    DISPARITY_OF,
    check_constraint,
    fit_threshold_optimizer,
    make_moment,
    sweep_exponentiated_gradient,
)
from fairaudit.mitigation._selection import (
    assess,
    choose_model,
    choose_release,
    compare_with_baseline,
    evaluate,
    pareto_front,
    predict,
    price_of_checks,
    tradeoff_table,
)

__all__ = [
    "CONSTRAINTS",
    "DISPARITY_OF",
    "check_constraint",
    "make_moment",
    "fit_threshold_optimizer",
    "sweep_exponentiated_gradient",
    "sweep_grid_search",
    "DecorrelatedClassifier",
    "multiplier_path",
    "partial_thresholds",
    "split_rows",
    "fit_rows",
    "check_unseen",
    "predict",
    "evaluate",
    "tradeoff_table",
    "pareto_front",
    "choose_model",
    "assess",
    "compare_with_baseline",
    "choose_release",
    "price_of_checks",
    "CHECKS",
    "fairness_gate",
    "gate_passes",
    "gate_verdict",
    "check_verdicts",
    "FORMAT",
    "TRUSTED_TYPES",
    "DecisionRule",
    "DecisionRuleError",
    "VoteMixture",
    "group_keys",
    "sidecar_path",
    "thresholds_from_optimizer",
]

"""The adult-income study's parameters (notebook 02)."""

from fairaudit.studies._parameters import Parameter, Rule, between, declare, each, one_of, some_of
from fairaudit.studies.credit_loan import SEED, SHARE

MITIGATIONS = ("threshold_optimizer", "exponentiated_gradient", "grid_search")
GATE_CHECKS = ("demographic_parity_difference", "equalized_odds_difference", "disparate_impact")


def _postprocessing_supports(value, values) -> bool:
    return value != "error_rate_parity" or "threshold_optimizer" not in values["mitigation"]


PARAMETERS = declare(
    Parameter("sensitive_features", ["sex"], "attributes the mitigation and release gate "
              "target", (some_of("sex", "race"),)),
    Parameter("model", "hgb", "baseline model to mitigate and ship",
              (one_of("logistic", "hgb"),)),
    Parameter("mitigation", list(MITIGATIONS), "which to run", (some_of(*MITIGATIONS),)),
    Parameter("constraint", "equalized_odds", "fairness constraint of every mitigation, "
              "Fairlearn's name; equalized odds follows from the harm",
              (one_of("demographic_parity", "equalized_odds", "true_positive_rate_parity",
                      "false_positive_rate_parity", "error_rate_parity"),
               Rule("not error_rate_parity while mitigation holds threshold_optimizer",
                    _postprocessing_supports, ("mitigation",)))),
    Parameter("eg_bounds", [0.01, 0.02, 0.05], "ExponentiatedGradient: largest allowed rate "
              "gap, one model per bound", (each(SHARE),)),
    Parameter("gs_grid_size", 7, "GridSearch: models along ExponentiatedGradient's "
              "multipliers, from 0.25 to 4 times them", (between(2, 101),)),
    Parameter("gate_dpd_max", 0.1, "gate: largest acceptable demographic parity difference",
              (between(0, 1),)),
    Parameter("gate_eod_max", 0.1, "gate: largest acceptable equalized odds difference",
              (between(0, 1),)),
    Parameter("gate_di_min", 0.8, "gate: smallest acceptable disparate impact, the "
              "four-fifths rule", (SHARE,)),
    Parameter("gate_blocking", ["equalized_odds_difference"], "gate checks that block a "
              "release; the others are reported", (some_of(*GATE_CHECKS),)),
    Parameter("accuracy_tolerance", 0.03, "largest acceptable drop in accuracy, and in F1, "
              "against the baseline", (between(0, 1),)),
    Parameter("n_boot", 500, "bootstrap replicates behind every confidence interval, 0 for "
              "none", (between(0, 10_000),)),
    Parameter("sample_fraction", 1.0, "share of the 48,842 rows to use, smaller runs faster",
              (SHARE,)),
    Parameter("random_state", 0, "seed of the split, the models, the bootstrap and randomised "
              "decisions", (SEED,)),
    Parameter("output_dir", "reports/scratch/adult_income", "where a run in JupyterLab or "
              "papermill writes; `fairaudit run` writes reports/adult_income/"),
)  # fmt: skip

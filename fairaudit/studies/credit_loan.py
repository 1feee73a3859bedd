"""The credit-loan study's parameters (notebook 01)."""

from fairaudit.studies._parameters import Parameter, Rule, between, declare, each, one_of

#: The credit data's group attributes and their values (the loader's categories, in order).
CREDIT_GROUPS = {
    "SEX": ("male", "female"),
    "MARRIAGE": ("married", "single", "others", "unknown"),
    "EDUCATION": ("graduate school", "university", "high school", "others", "unknown"),
    "AGE_BAND": ("18-25", "26-35", "36-45", "46-60", "61-100"),
}
CONSTRAINTS = (
    "equalized_odds",
    "demographic_parity",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
)
SEED = between(0, 2**32 - 1)  # what numpy and scikit-learn accept as a seed
SHARE = between(0, 1, low_open=True)


def _room_for_training(value, values) -> bool:
    return value + values["test_size"] <= 0.7


PARAMETERS = declare(
    Parameter("sensitive_features", "SEX", "the attribute whose groups are audited",
              (one_of(*CREDIT_GROUPS),)),
    Parameter("synthetic_bias", 1.0, "strength of the synthetic interest rate's link to "
              "default, 0 for none", (between(0, 10),)),
    Parameter("model", "hgb", "fairness-unaware baseline: gradient boosting or logistic "
              "regression", (one_of("hgb", "logistic"),)),
    Parameter("constraint", "equalized_odds", "Fairlearn constraint of both mitigations",
              (one_of(*CONSTRAINTS),)),
    Parameter("epsilons", [0.01, 0.02, 0.05], "ExponentiatedGradient constraint bounds, one "
              "model each", (each(SHARE),)),
    Parameter("eg_max_iter", 20, "ExponentiatedGradient iterations per model, each re-fits "
              "the base model", (between(5, 200),)),
    Parameter("max_disparity", 0.05, "model choice: largest acceptable disparity on "
              "validation data", (between(0, 1),)),
    Parameter("di_threshold", 0.8, "disparate-impact threshold of the four-fifths rule",
              (SHARE,)),
    Parameter("test_size", 0.3, "share of rows held out for the final comparison only",
              (between(0, 0.6, low_open=True),)),
    Parameter("validation_size", 0.2, "share of rows for validation: thresholds and model "
              "choice", (between(0, 0.6, low_open=True),
                         Rule("at most 0.7 minus test_size", _room_for_training, ("test_size",)))),
    Parameter("sample_fraction", 1.0, "stratified share of the 30,000 clients to use, "
              "smaller is faster", (SHARE,)),
    Parameter("n_boot", 500, "bootstrap replicates behind every confidence interval",
              (between(100, 10_000),)),
    Parameter("random_state", 0, "seed of sampling, splits, models, bootstrap and "
              "randomised decisions", (SEED,)),
    Parameter("output_dir", "reports/scratch/credit_loan", "where a run in JupyterLab or "
              "papermill writes; `fairaudit run` writes reports/credit_loan/"),
)  # fmt: skip

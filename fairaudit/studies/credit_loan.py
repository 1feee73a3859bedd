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


# --- exercises (judges import numpy and pandas when called: the command imports this module) ---

from fairaudit.exercises import Verdict, exercise, judge_number  # noqa: E402


@exercise(
    "credit-loan/declined-repayers",
    answer="answer_fnr",
    kind="share",
    task="compute the false negative rate of the group in `worst` (its repayers who are "
    "declined) from `result.counts`",
)
def declined_repayers(value, *, result, group):
    """The group's false negative rate, as the audit computed it."""
    rates, c = result.by_group.loc[group], result.counts.loc[group]
    return judge_number(
        value,
        rates["false_negative_rate"],
        slips=[
            (rates["true_positive_rate"], "that is the share of repayers who are *approved* "
             "(the true positive rate). The question asks for its complement: the repayers who "
             "are declined."),
            (rates["false_positive_rate"], "that is the false positive rate, whose denominator "
             "is the group's defaulters. A declined repayer is a false negative: which people "
             "could suffer that error?"),
            (c["fn"] / c.sum(), "you divided by all of the group's rows. A rate's denominator is "
             "the people who could suffer that error: the group's actual repayers (label 1)."),
        ],
        otherwise="a repayer who is declined is a false negative (label 1, decision 0). Divide "
        "the group's false negatives by all of its actual repayers.",
    )  # fmt: skip


@exercise(
    "credit-loan/smallest-denominator",
    answer="answer_defaulters",
    kind="count",
    task="count the actual defaulters (label 0) of each EDUCATION group in the test set, and "
    "take the smallest count",
)
def smallest_denominator(value, *, y_true, groups):
    """The fewest defaulters in a group: the smallest false-positive-rate denominator."""
    import warnings

    from fairaudit.metrics import UndefinedMetricWarning, audit

    with warnings.catch_warnings():  # only the denominators are read: a group without
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # defaulters is a count of 0
        counts = audit(y_true, y_true, groups, n_boot=0, min_group_size=1).denominators()
    fewest = counts["false_positive_rate"].min()
    return judge_number(
        value,
        fewest,
        slips=[
            (counts["selection_rate"].min(), "that is the smallest group's number of rows. A "
             "false positive rate (defaulters approved) is estimated only from the group's "
             "actual defaulters (label 0)."),
            (counts["true_positive_rate"].min(), "that counts repayers (label 1), the true "
             "positive rate's denominator. The false positive rate's denominator is the actual "
             "defaulters (label 0)."),
        ],
        otherwise="group the test labels by EDUCATION and count the label-0 rows in each group.",
        within=(fewest, fewest),  # a count is exact
    )  # fmt: skip


@exercise(
    "credit-loan/who-bears-errors",
    answer="answer_group",
    kind="group",
    task="compare each group's false negative rate under ThresholdOptimizer with the "
    "unmitigated model's, and name the group whose rate rose most (or fell least)",
)
def who_bears_errors(chosen, *, result, before=None):
    """The group whose share of declined repayers rose most with the mitigation.

    Without ``before`` (an older notebook), the group whose repayers are declined most
    often after the mitigation.
    """
    after = result.by_group["false_negative_rate"]
    names = {str(g).strip().casefold(): g for g in after.index}
    if chosen not in names:
        return Verdict(False, f"name one of the groups: {', '.join(map(str, after.index))}.")
    if before is None:
        best = {str(g).strip().casefold() for g in after.index[after == after.max()]}
        if chosen in best:
            return Verdict(True)
        return Verdict(False, "compare the groups' false negative rates: repayers who are "
                       "declined.")  # fmt: skip
    rise = after - before.by_group["false_negative_rate"].reindex(after.index)
    best = {str(g).strip().casefold() for g in rise.index[rise == rise.max()]}
    if chosen in best:
        return Verdict(True)
    if chosen == str(after.idxmax()).strip().casefold():
        return Verdict(False, "that group's repayers are declined most often after the "
                       "mitigation, but the question asks whose share *rose* most: subtract "
                       "each group's rate under the unmitigated model.")  # fmt: skip
    return Verdict(False, "for each group, subtract its false negative rate under the "
                   "unmitigated model from its rate under ThresholdOptimizer; name the group "
                   "with the largest change.")  # fmt: skip

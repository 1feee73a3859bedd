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


# --- exercises (judges import numpy and pandas when called: the command imports this module) ---

from fairaudit.exercises import Verdict, exercise, judge_number, printed_range  # noqa: E402

#: How the notebook prints a base rate: a percentage with one decimal (10.9 %).
PERCENT_STEP = 0.001
#: Short names of the gate's checks an attendee may use.
CHECK_ALIASES = {"dpd": "demographic parity difference", "eod": "equalized odds difference",
                 "di": "disparate impact"}  # fmt: skip


def _base_rates(y, sex):
    from fairaudit.metrics import audit

    return audit(y, y, sex, n_boot=0, min_group_size=1).by_group["selection_rate"]


@exercise(
    "adult-income/base-rate-ratio",
    answer="answer_ratio",
    kind="ratio",
    task="compute the share earning >50K among women and among men, and divide women's "
    "share by men's",
)
def base_rate_ratio(value, *, y, sex):
    """Women's base rate over men's; a ratio of the printed percentages passes, noted."""
    rates = _base_rates(y, sex)
    women, men = rates["Female"], rates["Male"]
    return judge_number(
        value,
        women / men,
        within=printed_range(lambda w, m: w / m, (round(women, 3), round(men, 3)), PERCENT_STEP),
        slips=[
            (men / women, "that ratio is upside down: women's share divided by men's."),
            (women - men, "that is the difference of the shares; the question asks for their "
             "ratio."),
            (men - women, "that is the difference of the shares; the question asks for their "
             "ratio."),
        ],
        otherwise="the share of a group earning >50K is the mean of its 0/1 labels.",
    )  # fmt: skip


@exercise(
    "adult-income/perfect-classifier-dpd",
    answer="answer_dpd",
    kind="share",
    task="use the true labels as the decisions, and compute their demographic parity "
    "difference by sex",
)
def perfect_classifier(value, *, y_true, sex):
    """A perfect classifier's selection rates are the base rates: their largest gap."""
    from fairaudit.metrics import audit

    gaps = audit(y_true, y_true, sex, n_boot=0, min_group_size=1).difference()
    return judge_number(
        value,
        gaps.loc["selection_rate", "value"],
        slips=[(0.0, "a perfect classifier approves exactly the people who earn >50K. Is that "
                "share the same for women and men?")],
        otherwise="pass the true labels as both `y_true` and `y_pred` to "
        "`fairlearn.metrics.demographic_parity_difference`, with `sensitive_features` = sex.",
    )  # fmt: skip


@exercise(
    "adult-income/gate-failures",
    answer="answer_failed",
    kind="names",
    task="read the gate of the `other` baseline for `TARGET`, and list the names of the "
    "checks it fails",
)
def gate_failures(named, *, gate):
    """The checks whose ``passed`` is False, in any spelling, order or short name."""

    def spelled(c):
        return str(c).casefold().replace("_", " ")

    named = {CHECK_ALIASES.get(n, n) for n in named}
    failed = {spelled(c) for c in gate.index[~gate["passed"].astype(bool)]}
    known = {spelled(c) for c in gate.index}
    if named == failed:
        return Verdict(True)
    if named - known:
        listed = ", ".join(f'"{c}"' for c in gate.index)
        return Verdict(False, f"the gate's checks are named {listed}.")
    if named - failed:
        return Verdict(False, "at least one check you named passes: compare its value with its "
                       "threshold.")  # fmt: skip
    return Verdict(False, "the baseline fails more checks than that: read every row of its "
                   "gate table.")  # fmt: skip

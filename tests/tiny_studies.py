"""The two tiny fixture studies (``tests/fixtures/``) and their declared parameters."""

from pathlib import Path

from fairaudit.cli import Study
from fairaudit.studies._parameters import Parameter, between, declare, one_of

FIXTURES = Path(__file__).parent / "fixtures"

TINY = Study(
    "tiny",
    str(FIXTURES / "tiny_study.ipynb"),
    "A tiny parameterised study.",
    "summary.json",
    "credit_card",
    declare(
        Parameter("group", "north", "which group the headline reports"),
        Parameter("sample_fraction", 1.0, "share of the toy rows to keep",
                  (between(0, 1, low_open=True),)),
        Parameter("n_rows", 40, "rows in the toy table", (between(1, 1000),)),
        Parameter("labels", ["north", "south"], "the group labels"),
        Parameter("fail", False, "raise on purpose, to test failed runs"),
        Parameter("hold_flag", "", "a file a cell writes, then runs until it is stopped"),
        Parameter("wrap_up_flag", "", "a file the kernel creates when it shuts down"),
        Parameter("output_dir", "reports/tiny_study", "where the artefacts go"),
    ),
)  # fmt: skip
OTHER = Study(
    "tiny-other",
    str(FIXTURES / "tiny_other.ipynb"),
    "Another tiny study.",
    "report.json",
    parameters=declare(
        Parameter("sample_fraction", 1.0, "share of the toy rows to keep"),
        Parameter("threshold", 0.8, "a cut-off the headline reports", (one_of(0.5, 0.8),)),
        Parameter("output_dir", "reports/tiny_other", "where the artefacts go"),
    ),
)
REGISTRY = {TINY.name: TINY, OTHER.name: OTHER}

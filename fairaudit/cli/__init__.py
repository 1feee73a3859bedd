"""The ``fairaudit`` command and what it rests on: checked parameters, safe runs, the index.

Importing this package does not import pandas, so the command answers at once.
"""

from fairaudit.cli._execute import (
    KERNEL_ENV,
    RunFailed,
    RunResult,
    default_run_dir,
    refresh_notebook,
    run_study,
)
from fairaudit.cli._index import write_index
from fairaudit.cli._main import build_parser, main
from fairaudit.cli._parameters import (
    Parameter,
    ParameterError,
    notebook_parameters,
    parse_value,
    prepare_parameters,
    read_params_file,
)
from fairaudit.cli._rules import check_parameters, check_rules
from fairaudit.cli._studies import STUDIES, Study, get_study

__all__ = [
    "KERNEL_ENV",
    "STUDIES",
    "Parameter",
    "ParameterError",
    "RunFailed",
    "RunResult",
    "Study",
    "build_parser",
    "check_parameters",
    "check_rules",
    "default_run_dir",
    "get_study",
    "main",
    "notebook_parameters",
    "parse_value",
    "prepare_parameters",
    "read_params_file",
    "refresh_notebook",
    "run_study",
    "write_index",
]

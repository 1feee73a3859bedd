"""The ``fairaudit`` command and what it rests on: checked parameters, safe runs, the index.

Importing this package does not import pandas, so the command answers at once.
"""

from fairaudit.cli._execute import RunFailed, RunResult, run_study
from fairaudit.cli._index import write_index
from fairaudit.cli._main import build_parser, main
from fairaudit.cli._notebook import KERNEL_ENV, refresh_notebook, render_html
from fairaudit.cli._parameters import (
    ParameterError,
    check_parameters,
    parse_text,
    prepare_parameters,
    read_params_file,
)
from fairaudit.cli._studies import STUDIES, Study, get_study

__all__ = ["KERNEL_ENV", "STUDIES", "ParameterError", "RunFailed", "RunResult", "Study",
           "build_parser", "check_parameters", "get_study", "main", "parse_text",
           "prepare_parameters", "read_params_file", "refresh_notebook", "render_html",
           "run_study", "write_index"]  # fmt: skip

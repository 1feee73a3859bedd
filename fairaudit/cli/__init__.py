"""The ``fairaudit`` command: list, inspect and re-run the case studies safely."""

from fairaudit.cli._main import build_parser, main

__all__ = ["build_parser", "main"]

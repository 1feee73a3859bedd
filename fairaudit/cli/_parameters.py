"""A notebook's parameters: declared once in its ``parameters`` cell, checked before anything runs.

Each line of the cell declares one parameter with its type, default and a
one-line comment; the comment may end with a rule in braces, a Python
comparison over parameter names and literals::

    sample_fraction: float = 1.0  # share of rows to use {0 < sample_fraction <= 1}
    drift_day: int = 7  # day the new model goes live {0 < drift_day < days}

That line is the only place the parameter is described. :func:`notebook_parameters`
reads it (with :func:`papermill.inspect_notebook` and Python's parser) and
:func:`prepare_parameters` parses command-line and YAML values with the
default's type; the rules are checked by :mod:`fairaudit.cli._rules`.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import tokenize
from dataclasses import dataclass
from pathlib import Path

import yaml

from fairaudit.cli._studies import closest

__all__ = [
    "OUTPUT_PARAMETER",
    "Parameter",
    "ParameterError",
    "notebook_parameters",
    "parse_value",
    "prepare_parameters",
    "read_params_file",
    "unknown_name_error",
]

#: The parameter through which the runner tells a notebook where to write.
OUTPUT_PARAMETER = "output_dir"

#: Parameters files larger than this are refused before YAML parses them.
MAX_PARAMS_FILE_BYTES = 64 * 1024

_NO_LITERAL = object()


class ParameterError(ValueError):
    """A parameter name or value the notebook cannot take (a usage error: nothing ran)."""


@dataclass(frozen=True)
class Parameter:
    """One entry of a notebook's ``parameters`` cell.

    ``default`` is the Python value of the default when it is a literal (the
    usual case), which also fixes the type a new value must have; ``source``
    is the default exactly as written in the cell; ``rule`` is the condition
    in braces at the end of its comment (empty if none).
    """

    name: str
    source: str
    default: object
    type_name: str
    help: str
    rule: str = ""

    @property
    def has_literal_default(self) -> bool:
        return self.default is not _NO_LITERAL


@contextlib.contextmanager
def _quiet_papermill_logging():
    """Keep papermill's (and its event loop's) logging off the console; the command reports.

    An interrupted run leaves nbclient's pending kernel task to fail with "Kernel
    died" as the loop closes; asyncio would print that as a stray traceback.
    """
    import logging

    levels = {"papermill": logging.ERROR, "nbclient": logging.CRITICAL, "asyncio": logging.CRITICAL}
    loggers = {name: logging.getLogger(name) for name in levels}
    previous = {name: logger.level for name, logger in loggers.items()}
    for name, logger in loggers.items():
        logger.setLevel(levels[name])
    try:
        yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(previous[name])


def notebook_parameters(
    notebook: str | os.PathLike, *, use_papermill: bool = True
) -> dict[str, Parameter]:
    """The parameters a notebook declares, in the order of its ``parameters`` cell.

    Read from the cell itself, so the comment after each parameter becomes its
    help text and nothing is kept by hand: with
    :func:`papermill.inspect_notebook`, and with Python's own parser. Papermill
    skips any line holding more than one ``=`` (a comment such as
    ``# 0.8 = 80%`` is enough), which would make a valid name look unknown, so
    the assignments it skipped are added from the parsed cell.

    Parameters
    ----------
    notebook : path
    use_papermill : bool
        ``False`` reads the cell with Python's parser only. It gives the same
        names, defaults, annotations and comments without importing papermill
        (seconds), so a mistyped command is refused at once.

    Raises
    ------
    ParameterError
        If the notebook has no cell tagged ``parameters``.
    """
    inspected = {}
    if use_papermill:
        import papermill

        with _quiet_papermill_logging():
            inspected = papermill.inspect_notebook(str(notebook))
    parsed = _parse_parameters_cell(notebook)
    if not inspected and not parsed:
        raise ParameterError(
            f"{notebook} has no code cell tagged 'parameters', so it cannot be re-run with "
            "new values; tag the cell that sets its parameters."
        )
    merged = {name: inspected.get(name, info) for name, info in parsed.items()}
    merged.update({name: info for name, info in inspected.items() if name not in merged})
    params = {}
    for name, info in merged.items():
        source = str(info.get("default", ""))
        try:
            default = ast.literal_eval(source)
        except (ValueError, SyntaxError):
            default = _NO_LITERAL
        type_name = info.get("inferred_type_name") or "None"
        if type_name == "None":
            type_name = type(default).__name__ if default is not _NO_LITERAL else "any"
        help_text = info.get("help") or ""
        params[name] = Parameter(name, source, default, type_name, help_text, _rule_of(help_text))
    return params


def _rule_of(comment: str) -> str:
    """The rule in braces that ends a comment (braces inside it balanced), or ``""``."""
    text = comment.rstrip()
    if not text.endswith("}"):
        return ""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {"}": 1, "{": -1}.get(text[i], 0)
        if depth == 0:
            return text[i + 1 : -1].strip()
    return ""


def _parse_parameters_cell(notebook) -> dict[str, dict]:
    """Top-level assignments of the ``parameters`` cell, read with :mod:`ast` and :mod:`tokenize`.

    Returns papermill-style entries (``default`` source text, annotation,
    ``help`` from the comment ending the statement's last line); empty if the
    cell is not plain Python. The notebook is read as plain JSON (nbformat 4).
    """
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParameterError(f"Cannot read notebook {notebook}: {exc}") from None
    cell = next(
        (
            c
            for c in nb.get("cells", [])
            if c.get("cell_type") == "code"
            and "parameters" in c.get("metadata", {}).get("tags", [])
        ),
        None,
    )
    if cell is None:
        return {}
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError):
        return {}
    comments = {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokens
        if tok.type == tokenize.COMMENT
    }
    found = {}
    for node in tree.body:
        annotation = "None"
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
            annotation = ast.unparse(node.annotation)
        else:
            continue
        if isinstance(target, ast.Name):
            found[target.id] = {
                "name": target.id,
                "inferred_type_name": annotation,
                "default": ast.get_source_segment(source, value),
                "help": comments.get(node.end_lineno, ""),
            }
    return found


def _kind(param: Parameter) -> str:
    if not param.has_literal_default or param.default is None:
        return param.type_name if param.type_name in {"str", "int", "float", "bool"} else "any"
    return type(param.default).__name__


def _element_kind(param: Parameter) -> str | None:
    """The common element type of a list default (``float`` for ``[0.01, 0.05]``)."""
    default = param.default
    if not isinstance(default, list | tuple) or not default:
        return None
    kinds = {type(v).__name__ for v in default}
    if kinds <= {"int", "float"} and "float" in kinds:
        return "float"
    return kinds.pop() if len(kinds) == 1 else None


def _describe(param: Parameter) -> str:
    kind = _kind(param)
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{article} {kind} like {param.source}" if kind != "any" else "any value"


def _wrong(param: Parameter, value, origin: str) -> ParameterError:
    return ParameterError(
        f"Parameter {param.name!r} takes {_describe(param)} (its default); got {value!r}{origin}."
    )


def _scalar_from_text(kind: str, text: str):
    """Parse one command-line string as ``kind`` with YAML; ``ValueError`` if it is not."""
    if kind == "str":
        return text
    value = yaml.safe_load(text) if text.strip() else None
    if kind == "float" and isinstance(value, str):
        value = float(text)  # YAML 1.1 reads "1e-3" as text; Python reads it as a number
    return _check_scalar(kind, value)


def _check_scalar(kind: str, value):
    """Check an already-typed value (from YAML) against ``kind``; return it converted."""
    if kind == "any" or kind == "NoneType":
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind == "str":
        if isinstance(value, str):
            return value
    raise ValueError(value)


def parse_value(param: Parameter, value, *, from_text: bool = True, origin: str | None = None):
    """Turn ``value`` into what ``param`` takes, judged by the type of its default.

    Command-line values are strings: ``"0.2"`` becomes ``0.2`` for a float
    parameter, ``"true"``/``"false"`` a bool, and a list is written as YAML
    (``"[0.01, 0.05]"``) or comma-separated (``"sex,race"``). Values from a
    YAML file arrive typed and are only checked (an int is accepted where a
    float is expected). A parameter whose default is ``None`` or not a literal
    takes any YAML value.

    Parameters
    ----------
    param : Parameter
    value : str or typed value
    from_text : bool, default True
        Whether ``value`` is command-line text (parsed) or already typed (checked).
    origin : str, optional
        Where the value came from, for the message.

    Returns
    -------
    object
        The value, of the parameter's type.




    Raises
    ------
    ParameterError
        When the value is not of the parameter's type, with an example of one that is.
    """
    if origin is None:
        origin = "" if from_text else " (from the parameters file)"
    kind = _kind(param)
    try:
        if kind in {"list", "tuple"}:
            if from_text:
                stripped = value.strip()
                if stripped.startswith(("[", "(")):
                    items = yaml.safe_load(stripped.replace("(", "[").replace(")", "]"))
                else:
                    items = [part.strip() for part in stripped.split(",") if part.strip()]
            else:
                items = value
            if not isinstance(items, list | tuple):
                raise ValueError(value)
            element = _element_kind(param)
            if element:
                items = [
                    _scalar_from_text(element, item)
                    if from_text and isinstance(item, str)
                    else _check_scalar(element, item)
                    for item in items
                ]
            return list(items)
        if kind == "dict":
            parsed = yaml.safe_load(value) if from_text else value
            if not isinstance(parsed, dict):
                raise ValueError(value)
            return parsed
        if from_text:
            return _scalar_from_text(kind, value)
        return _check_scalar(kind, value)
    except (ValueError, TypeError, yaml.YAMLError):
        raise _wrong(param, value, origin) from None


def unknown_name_error(name: str, valid, where: str | None = None) -> ParameterError:
    """The refusal for a parameter name ``where`` does not declare, with the closest match.

    ``where=None`` means no case study declares it (``run --all``).
    """
    valid = [v for v in valid if v != OUTPUT_PARAMETER]
    hint = closest(name, valid)
    if where is None:
        message = f"No case study has a parameter {name!r}."
    else:
        message = f"{where} has no parameter {name!r}."
    if hint:
        message += f" Did you mean {hint!r}?"
    message += f" Valid parameters: {', '.join(valid)}."
    return ParameterError(message)


def prepare_parameters(
    declared: dict[str, Parameter],
    text_values: dict[str, str] | None = None,
    typed_values: dict | None = None,
    *,
    where: str = "The notebook",
    ignore_unknown: bool = False,
) -> dict:
    """Check and convert the values a user gave, before anything runs.

    Parameters
    ----------
    declared : dict
        From :func:`notebook_parameters`.
    text_values : dict of str
        ``-p NAME VALUE`` pairs (strings, parsed with the type of each default).
        They win over ``typed_values``.
    typed_values : dict
        Values read from a YAML parameters file (checked, not parsed).
    where : str
        How messages name the notebook (``"credit-loan"``).
    ignore_unknown : bool
        Skip names the notebook does not declare instead of refusing them
        (``run --all`` applies a value only to the studies that have it).

    Returns
    -------
    dict
        Only the given parameters, converted; the notebook's defaults fill the rest.

    Raises
    ------
    ParameterError
        For an unknown name (with the closest valid one), ``output_dir`` (the
        run folder is chosen with ``--output-dir``) or a value of the wrong type.
    """
    given = [(k, v, False) for k, v in (typed_values or {}).items()]
    given += [(k, v, True) for k, v in (text_values or {}).items()]
    result, problems = {}, []
    for name, value, from_text in given:
        if name == OUTPUT_PARAMETER:
            problems.append(
                f"{OUTPUT_PARAMETER!r} is chosen by the runner (it writes into a temporary folder "
                "first); pass --output-dir DIR instead."
            )
        elif name not in declared:
            if not ignore_unknown:
                problems.append(str(unknown_name_error(name, declared, where)))
        else:
            try:
                result[name] = parse_value(declared[name], value, from_text=from_text)
            except ParameterError as exc:
                problems.append(str(exc))
    if problems:  # every problem at once, so one correction fixes the command
        raise ParameterError("\n".join(problems))
    return result


class _NoAliasLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases (a parameters file never needs them)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"aliases (*{event.anchor}) are not accepted in a parameters file")
        return super().compose_node(parent, index)


def read_params_file(path: str | os.PathLike) -> dict:
    """Read a YAML (or JSON) file holding a mapping of parameter names to values.

    Parameters
    ----------
    path : path

    Returns
    -------
    dict




    Raises
    ------
    ParameterError
        If the file cannot be read, is larger than 64 KiB, is not UTF-8, is not
        YAML, uses aliases, or does not hold a mapping of names to values.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_PARAMS_FILE_BYTES:
            raise ParameterError(
                f"{path} is larger than {MAX_PARAMS_FILE_BYTES // 1024} KiB; a parameters file "
                "holds a few name: value lines."
            )
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a safe loader
    except OSError as exc:
        raise ParameterError(f"Cannot read parameters file {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{path} is not UTF-8 text; save it as UTF-8.") from None
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())[:200]
        raise ParameterError(f"{path} is not a valid parameters file: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ParameterError(
            f"{path} must hold a mapping of parameter names to values, e.g. "
            "'sample_fraction: 0.2'; got a " + type(data).__name__ + "."
        )
    return data

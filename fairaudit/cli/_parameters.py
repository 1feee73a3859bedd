"""A study's parameter values: read, typed and checked before anything runs.

The parameters are declared in :mod:`fairaudit.studies`. Values come as text
(``-p NAME VALUE``), from a YAML or JSON file (``-f FILE``) or from the
notebook's namespace (:func:`check_parameters`, which the notebook calls right
after its ``parameters`` cell, so JupyterLab, papermill and the command refuse
a bad value with the same words). Text and files follow YAML 1.2: ``010`` is
ten, and ``1:30``, ``0b101`` or ``2026-03-02`` are text, never numbers or dates.
"""

from __future__ import annotations

import ast
import os
import re
import stat
from pathlib import Path

import yaml

from fairaudit._io import UnsafeTargetError, check_run_target
from fairaudit.cli._studies import Study, UnknownStudyError, closest, get_study
from fairaudit.studies._parameters import check_rules, check_types, shown

__all__ = ["OUTPUT_PARAMETER", "ParameterError", "check_parameters", "parse_text",
           "prepare_parameters", "read_params_file", "unknown_name_error"]  # fmt: skip

#: The parameter through which the runner tells a notebook where to write.
OUTPUT_PARAMETER = "output_dir"
#: Parameters files larger than this are refused unread; deeper nesting is refused too.
MAX_PARAMS_FILE_BYTES, MAX_DEPTH, MAX_DIGITS = 64 * 1024, 20, 100
_BOOL_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


class ParameterError(ValueError):
    """A parameter name or value the notebook cannot take (a usage error: nothing ran)."""


class _Loader(yaml.SafeLoader):
    """YAML 1.2's core schema, without aliases, nested at most :data:`MAX_DEPTH` levels."""

    yaml_implicit_resolvers: dict = {}
    depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError(f"aliases (*{self.peek_event().anchor}) are not accepted")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise yaml.YAMLError(f"values are nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_yaml_int(self, node):
        text = self.construct_scalar(node)
        if len(text) > MAX_DIGITS:
            raise yaml.YAMLError(f"a number of {len(text):,} digits is too long")
        base = {"0o": 8, "0x": 16}.get(text[:2], 10)
        return int(text[2:] if base != 10 else text, base)


for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    ("float", r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)"
     r"|\.(nan|NaN|NAN)", "-+.0123456789"),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
):  # fmt: skip
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"),
                                  list(_first))  # fmt: skip
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _load(text: str):
    """Parse YAML text with :class:`_Loader`; ``ValueError`` with a short reason if it is not."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ValueError(" ".join(str(exc).split())[:200]) from None


def parse_text(param, text: str):
    """A command-line value as ``param`` takes it, judged by the type of its default.

    A string stays as written; ``true``/``false`` (or yes/no, on/off) is a
    bool; a list is YAML (``[0.01, 0.05]``) or comma-separated (``sex,race``).

    Raises
    ------
    ValueError
        If the text is not a value of that type.
    """
    kind = type(param.default)
    if kind is str:
        return text
    if kind is bool:
        return _BOOL_WORDS[text.strip().lower()] if text.strip().lower() in _BOOL_WORDS else text
    if kind is list and not text.strip().startswith("["):
        words = all(isinstance(v, str) for v in param.default)
        items = [part.strip() for part in text.split(",") if part.strip()]
        return items if words else [_load(item) for item in items]
    return _load(text)


def unknown_name_error(name: str, valid, where: str | None = None) -> ParameterError:
    """The refusal of a parameter name that ``where`` (``None``: no study) does not declare."""
    valid = [v for v in valid if v != OUTPUT_PARAMETER]
    hint = closest(name, valid)
    message = f"No case study has a parameter {name!r}." if where is None else (
        f"{where} has no parameter {name!r}."
    )  # fmt: skip
    return ParameterError(
        message + (f" Did you mean {hint!r}?" if hint else "") + f" Valid parameters: "
        f"{', '.join(valid)}."
    )


def prepare_parameters(
    declared, text_values=None, typed_values=None, *, where="The notebook", ignore_unknown=False
) -> dict:
    """The given values typed and checked against ``declared`` (types, then rules).

    ``text_values`` (``-p``) win over ``typed_values`` (``-f``); ``where`` names
    the study in messages; ``ignore_unknown`` skips undeclared names (``--all``).
    Returns only the given values; the defaults fill the rest.

    Raises
    ------
    ParameterError
        Every problem at once, one line each: an unknown name (with the closest
        valid one), ``output_dir``, a value of the wrong type, a broken rule.
    """
    given, problems = {}, []
    for values, from_text in ((typed_values or {}, False), (text_values or {}, True)):
        for name, value in values.items():
            if name == OUTPUT_PARAMETER:
                problems.append(f"{OUTPUT_PARAMETER!r} is chosen with --output-dir DIR, not -p.")
            elif name not in declared:
                if not ignore_unknown:
                    problems.append(str(unknown_name_error(name, declared, where)))
            elif from_text:
                try:
                    given[name] = parse_text(declared[name], value)
                except ValueError as exc:
                    problems.append(f"Parameter {name!r} = {shown(value)} cannot be read: {exc}.")
            else:
                given[name] = value
    typed, wrong = check_types(declared, given)
    problems += wrong
    if not problems:
        problems = check_rules(declared, {n: p.default for n, p in declared.items()} | typed)
    if problems:
        raise ParameterError("\n".join(problems))
    return typed


def read_params_file(path: str | os.PathLike) -> dict:
    """Read a YAML (or JSON) file mapping parameter names to values (YAML 1.2).

    Raises
    ------
    ParameterError
        If it is not a regular file (a FIFO, a device, a folder), cannot be
        read, is larger than 64 KiB, is not UTF-8 or not YAML, uses aliases, is
        nested too deeply, or does not hold a mapping of names to values.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ParameterError(f"{path} is not a regular file; name a YAML file.")
            data = handle.read(MAX_PARAMS_FILE_BYTES + 1)
    except OSError as exc:
        raise ParameterError(f"Cannot read parameters file {path}: {exc.strerror}.") from None
    if len(data) > MAX_PARAMS_FILE_BYTES:
        raise ParameterError(
            f"{path} is larger than {MAX_PARAMS_FILE_BYTES // 1024} KiB; a parameters file "
            "holds a few name: value lines."
        )
    try:
        values = _load(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ParameterError(f"{path} is not UTF-8 text; save it as UTF-8.") from None
    except ValueError as exc:
        raise ParameterError(f"{path} is not a valid parameters file: {exc}") from None
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise ParameterError(
            f"{path} must hold a mapping of parameter names to values, e.g. "
            f"'sample_fraction: 0.2'; got a {type(values).__name__}."
        )
    return values


def _literal_assignments(source: str) -> list[str] | None:
    """The names a cell assigns if it only assigns literals (a parameters cell), else ``None``."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return None
    names = []
    for node in body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        )  # fmt: skip
        if not isinstance(target, ast.Name) or node.value is None:
            return None
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            return None
        names.append(target.id)
    return names


def _cell_names(namespace: dict, declared) -> list[str]:
    """Names set by the parameters cells run just before this cell (IPython's ``In``).

    Walking back from the cell before the current one, each cell that only
    assigns literals and sets at least one declared parameter counts: the
    ``parameters`` cell of this very notebook (a working copy included) and
    papermill's injected one.
    """
    history = namespace.get("In")
    names = []
    for source in reversed(history[:-1] if isinstance(history, list) else []):
        assigned = _literal_assignments(source) if isinstance(source, str) else None
        if not assigned or not set(assigned) & set(declared):
            break
        names += assigned
    return names


def check_parameters(study: str | Study, namespace: dict) -> dict:
    """Check a notebook's parameters from inside it: ``check_parameters("credit-loan", globals())``.

    The names the running notebook's parameters cell sets (IPython's input
    history) must be declared, so a misspelt name in a working copy is refused;
    the values in ``namespace`` must have the declared types and keep the
    rules, as ``fairaudit run`` checks before a kernel starts; ``output_dir``
    must be a folder a run may replace. ``study`` is a registered name or a
    :class:`Study`. Returns every declared parameter, typed, in declaration order.

    Raises
    ------
    ParameterError
        One line per problem, naming the value and what to pass instead.
    """
    try:
        study = study if isinstance(study, Study) else get_study(study)
    except UnknownStudyError as exc:
        raise ParameterError(str(exc)) from None
    declared = study.declared
    problems = [
        f"{name!r} is not a parameter of {study.name}."
        + (f" Did you mean {hint!r}?" if hint else "")
        + f" Correct the parameters cell; its parameters are {', '.join(declared)}."
        for name in dict.fromkeys(_cell_names(namespace, declared))
        if name not in declared
        for hint in [closest(name, declared)]
    ]  # fmt: skip
    problems += [f"Parameter {n!r} is not set; run the parameters cell first."
                 for n in declared if n not in namespace]  # fmt: skip
    typed, wrong = check_types(declared, {n: namespace[n] for n in declared if n in namespace})
    problems += wrong
    if not problems:
        problems = check_rules(declared, typed)
    if not problems:
        try:  # the folder the run will replace, refused now rather than after the work
            check_run_target(typed[OUTPUT_PARAMETER])
        except UnsafeTargetError as exc:
            problems.append(f"Parameter {OUTPUT_PARAMETER!r}: {exc}")
    if problems:
        raise ParameterError("\n".join(problems))
    return {name: typed[name] for name in declared}

"""A Markdown model card built from a case study's computed results.

A *model card* (Mitchell et al., 2019, "Model Cards for Model Reporting") is a
short document that travels with a model: what it is for and not for, what
data it learned from, how well it works overall and *for each group of
people*, and what it cannot do. Written by hand, such a card goes stale the
moment the model is retrained; here it is rendered from the same numbers the
notebook computed, so every figure in it is the one the run produced.

:func:`model_card` takes plain Python and pandas objects (the metrics table of
:func:`fairaudit.mitigation.tradeoff_table`, the audits of
:func:`fairaudit.metrics.audit`) and returns Markdown text, rendered with the
Jinja2 template ``templates/model_card.md.j2``; the notebook shows it with
``IPython.display.Markdown`` and saves it with ``RunArtefacts.write_text``.
:func:`markdown_table` is the small table writer it uses (pandas'
``to_markdown`` would need the ``tabulate`` package).

Examples
--------
>>> import pandas as pd
>>> card = model_card(
...     "Credit default model",
...     overview="Predicts default next month.",
...     intended_use=["Decision support for credit-limit reviews."],
...     out_of_scope=["Fully automated rejection."],
...     data={"Source": "UCI credit-card default data", "Rows": "30,000"},
...     metrics=pd.DataFrame({"accuracy": [0.8]}, index=["model"]),
...     limitations=["Trained on 2005 data."],
... )
>>> card.splitlines()[0]
'# Model card: Credit default model'
"""

from __future__ import annotations

import functools
import math
import numbers
from pathlib import Path

import pandas as pd

__all__ = ["model_card", "markdown_table", "group_table"]

_GROUP_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy")


def _fmt(value, digits: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return "n/a" if math.isnan(value) else f"{float(value):.{digits}f}"
    if value is None or value is pd.NA:
        return "n/a"
    return str(value).replace("|", "\\|")


def markdown_table(frame: pd.DataFrame, *, digits: int = 3, index_label: str | None = None) -> str:
    """Render a DataFrame as a GitHub-flavoured Markdown table (floats rounded to ``digits``).

    The index becomes the first column, headed ``index_label`` (default: the
    index name, or empty).

    Parameters
    ----------
    frame : pandas.DataFrame
    digits : int, default 3
    index_label : str, optional

    Returns
    -------
    str
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    head = index_label if index_label is not None else (frame.index.name or "")
    columns = [str(head)] + [str(c) for c in frame.columns]
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join([":---"] + ["---:"] * len(frame.columns)) + "|",
    ]
    for idx, row in frame.iterrows():
        cells = [_fmt(idx, digits)] + [_fmt(v, digits) for v in row.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def group_table(by_group, metrics=_GROUP_METRICS, *, digits: int = 3) -> pd.DataFrame:
    """Per-group metrics as text ``"0.123 [0.101, 0.145]"`` (estimate and CI), plus the row count.

    ``by_group`` is ``AuditResult.by_group`` (or an AuditResult); metrics
    without ``_ci_low``/``_ci_high`` columns are shown without an interval.

    Parameters
    ----------
    by_group : pandas.DataFrame or AuditResult
    metrics : sequence of str
    digits : int, default 3

    Returns
    -------
    pandas.DataFrame
    """
    frame = getattr(by_group, "by_group", by_group)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("by_group must be AuditResult.by_group (a DataFrame) or an AuditResult.")
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise ValueError(f"metrics {missing} are not columns; available: {list(frame.columns)}.")
    out = pd.DataFrame(index=frame.index)
    if "count" in frame.columns:
        out["rows"] = [f"{int(n):,}" for n in frame["count"]]
    for m in metrics:
        lo, hi = f"{m}_ci_low", f"{m}_ci_high"
        texts = []
        for g in frame.index:
            est = _fmt(frame.at[g, m], digits)
            if lo in frame.columns and hi in frame.columns:
                est += f" [{_fmt(frame.at[g, lo], digits)}, {_fmt(frame.at[g, hi], digits)}]"
            texts.append(est)
        out[m.replace("_", " ")] = texts
    return out


def model_card(
    title: str,
    *,
    overview: str,
    intended_use,
    out_of_scope=(),
    data: dict | None = None,
    metrics: pd.DataFrame | None = None,
    metrics_note: str | None = None,
    by_group: dict | None = None,
    by_group_note: str | None = None,
    fairness: dict | None = None,
    limitations=(),
    provenance: dict | None = None,
    digits: int = 3,
) -> str:
    """Return a model card as Markdown.

    Parameters
    ----------
    title : str
        Model name; the card's heading is ``"# Model card: <title>"``.
    overview : str
        One paragraph: what the model predicts and how it is used.
    intended_use, out_of_scope : str or sequence of str
        Bullet points: the uses it was built and evaluated for, and the uses
        it must not be put to.
    data : dict, optional
        Label -> text about the training and evaluation data (source, rows,
        split, sensitive feature, synthetic columns).
    metrics : DataFrame, optional
        One row per model, columns of metrics (e.g. the test-set trade-off table).
    metrics_note : str, optional
        A sentence under the metrics table (which split, which decision rule).
    by_group : dict of str to AuditResult or DataFrame, optional
        Model name -> per-group audit; each becomes a table of rates with
        confidence intervals (:func:`group_table`).
    by_group_note : str, optional
        A sentence under the per-group heading (what "positive" means, CI level).
    fairness : dict, optional
        Label -> text of fairness findings (disparities, four-fifths verdict).
    limitations : str or sequence of str
        Bullet points: what the model and the assessment cannot do.
    provenance : dict, optional
        Label -> text (parameters, data checksum, library versions).
    digits : int, default=3
        Decimal places of every number in the tables.

    Returns
    -------
    str
        Markdown text.
    """
    if not isinstance(title, str) or not title.strip():
        raise ValueError("title must be a non-empty string naming the model.")
    if not isinstance(overview, str) or not overview.strip():
        raise ValueError("overview must be a non-empty paragraph saying what the model does.")

    def pairs(mapping):
        return [f"**{k}:** {v}" for k, v in (mapping or {}).items()]

    def as_list(items):
        return [items] if isinstance(items, str) else list(items or [])

    text = _TEMPLATE().render(
        title=title,
        overview=overview.strip(),
        intended_use=as_list(intended_use),
        out_of_scope=as_list(out_of_scope),
        data=pairs(data),
        metrics=None
        if metrics is None
        else markdown_table(metrics, digits=digits, index_label="model"),
        metrics_note=metrics_note,
        by_group=[
            (
                name,
                markdown_table(group_table(r, digits=digits), digits=digits, index_label="group"),
            )
            for name, r in (by_group or {}).items()
        ],
        by_group_note=by_group_note,
        fairness=pairs(fairness),
        limitations=as_list(limitations),
        provenance=pairs(provenance),
    )
    return text.rstrip() + "\n"


@functools.cache
def _TEMPLATE():  # noqa: N802 - a constant, loaded on first use
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML; table cells are escaped by markdown_table
    )
    return env.get_template("model_card.md.j2")

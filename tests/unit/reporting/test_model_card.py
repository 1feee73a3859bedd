"""fairaudit.model_card: the card shows the numbers it is given, in the sections it promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairaudit.metrics import audit
from fairaudit.reporting import group_table, markdown_table, model_card


def test_markdown_table_rounds_and_formats():
    frame = pd.DataFrame(
        {"acc": [0.81234, np.nan], "n": [1200, 7], "ok": [True, False]},
        index=pd.Index(["a|b", "c"], name="model"),
    )
    text = markdown_table(frame, digits=2)
    assert text.splitlines() == [
        "| model | acc | n | ok |",
        "|:---|---:|---:|---:|",
        "| a\\|b | 0.81 | 1,200 | yes |",
        "| c | n/a | 7 | no |",
    ]


def test_group_table_shows_estimate_and_interval_from_the_audit():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    pred = rng.integers(0, 2, 300)
    group = rng.choice(["f", "m"], 300)
    result = audit(y, pred, group, n_boot=200, random_state=0)
    table = group_table(result, metrics=["selection_rate"])
    row = result.by_group.loc["f"]
    expected = (
        f"{row['selection_rate']:.3f} [{row['selection_rate_ci_low']:.3f}, "
        f"{row['selection_rate_ci_high']:.3f}]"
    )
    assert table.loc["f", "selection rate"] == expected
    assert table.loc["f", "rows"] == f"{int(row['count']):,}"


def test_model_card_has_every_section_and_the_numbers():
    metrics = pd.DataFrame({"balanced_accuracy": [0.7921]}, index=["unmitigated"])
    card = model_card(
        "demo",
        overview="Predicts default.",
        intended_use=["Teaching."],
        out_of_scope="Real decisions.",
        data={"Rows": "30,000"},
        metrics=metrics,
        fairness={"Four-fifths rule": "passes"},
        limitations=["Synthetic feature."],
        provenance={"fairlearn": "0.15.0"},
    )
    for heading in ["# Model card: demo", "## Intended use", "## Data", "## Metrics"]:
        assert heading in card
    for heading in ["## Fairness assessment", "## Limitations", "## Provenance"]:
        assert heading in card
    assert "| unmitigated | 0.792 |" in card
    assert "- Real decisions." in card
    assert card.endswith("\n")


def test_model_card_requires_a_title_and_an_overview():
    with pytest.raises(ValueError, match="title"):
        model_card(" ", overview="x", intended_use=["y"])
    with pytest.raises(ValueError, match="overview"):
        model_card("m", overview="", intended_use=["y"])

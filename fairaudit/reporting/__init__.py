"""Artefacts with provenance, model cards and figures."""

from fairaudit._io import resolve_path
from fairaudit.reporting._artefacts import (
    RunArtefacts,
    library_versions,
    run_metadata,
)
from fairaudit.reporting._explorer import (
    plot_threshold_rates,
    threshold_explorer,
    threshold_rates,
)
from fairaudit.reporting._model_card import (
    group_table,
    markdown_table,
    model_card,
)
from fairaudit.reporting._plots import (
    RATE_LABELS,
    plot_data_balance,
    plot_group_rates,
    plot_group_roc,
    plot_tradeoff,
)

__all__ = [
    "resolve_path",
    "run_metadata",
    "library_versions",
    "RunArtefacts",
    "model_card",
    "markdown_table",
    "group_table",
    "RATE_LABELS",
    "plot_group_rates",
    "plot_tradeoff",
    "plot_group_roc",
    "plot_data_balance",
    "threshold_rates",
    "plot_threshold_rates",
    "threshold_explorer",
]

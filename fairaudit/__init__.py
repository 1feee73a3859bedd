"""fairaudit: helpers shared by the fairness case-study notebooks.

Fairlearn, scikit-learn, pandas and seaborn do the heavy lifting; this package
adds what the case studies need on top, one subpackage per concept:

- :mod:`fairaudit.datasets`: canonical, checksummed data loaders;
- :mod:`fairaudit.metrics`: the fast exact group audit with intervals;
- :mod:`fairaudit.mitigation`: fair candidates, selection, the release gate, the decision rule;
- :mod:`fairaudit.models`: baseline classifiers;
- :mod:`fairaudit.monitor`: fairness monitoring of a deployed model;
- :mod:`fairaudit.reporting`: artefacts with provenance, model cards, figures;
- :mod:`fairaudit.cli`: the ``fairaudit`` command.

The audit's names are re-exported here, loaded on first use so that the
command starts without pandas.
"""

__version__ = "0.1.0"

_METRICS = (
    "AuditResult",
    "UndefinedMetricWarning",
    "audit",
    "audit_from_counts",
    "confusion_counts",
    "disparate_impact_from_counts",
)

__all__ = ["__version__", *_METRICS]


def __getattr__(name):
    if name in _METRICS:
        from fairaudit import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module 'fairaudit' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_METRICS})

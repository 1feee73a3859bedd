"""fairaudit: helpers shared by the fairness case-study notebooks.

Fairlearn, scikit-learn, pandas and seaborn do the heavy lifting; this package
adds what the case studies need on top: canonical data loaders with checksums
(:mod:`fairaudit.datasets`), a fast exact group audit with confidence
intervals (:mod:`fairaudit.audit`), artefact writing with provenance
(:mod:`fairaudit.reports`) and baseline models (:mod:`fairaudit.models`).
"""

__version__ = "0.1.0"

from fairaudit.audit import (  # noqa: E402  (the function shadows the module name)
    AuditResult,
    UndefinedMetricWarning,
    audit,
    audit_from_counts,
    confusion_counts,
    disparate_impact_from_counts,
)

__all__ = [
    "__version__",
    "AuditResult",
    "UndefinedMetricWarning",
    "audit",
    "audit_from_counts",
    "confusion_counts",
    "disparate_impact_from_counts",
]

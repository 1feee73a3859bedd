"""The group-fairness audit: exact per-group counts, metrics and bootstrap intervals."""

from fairaudit.metrics._audit import (
    COUNT_COLUMNS,
    METRICS,
    AuditResult,
    UndefinedMetricWarning,
    audit,
    audit_from_counts,
    confusion_counts,
    disparate_impact_from_counts,
)
from fairaudit.metrics._result import interval_verdict

__all__ = [
    "METRICS",
    "AuditResult",
    "UndefinedMetricWarning",
    "audit",
    "audit_from_counts",
    "confusion_counts",
    "disparate_impact_from_counts",
    "COUNT_COLUMNS",
    "interval_verdict",
]

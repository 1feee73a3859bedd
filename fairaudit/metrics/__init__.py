"""The group-fairness audit: exact per-group counts, metrics and intervals."""

from fairaudit._validation import group_key
from fairaudit.metrics._audit import (
    audit,
    audit_from_counts,
    confusion_counts,
    disparate_impact_from_counts,
)
from fairaudit.metrics._counts import (
    COUNT_COLUMNS,
    METRICS,
    UndefinedMetricWarning,
    wilson_interval,
)
from fairaudit.metrics._result import AuditResult
from fairaudit.metrics._verdicts import combine_verdicts, interval_verdict

__all__ = [
    "METRICS",
    "AuditResult",
    "UndefinedMetricWarning",
    "audit",
    "audit_from_counts",
    "confusion_counts",
    "disparate_impact_from_counts",
    "COUNT_COLUMNS",
    "combine_verdicts",
    "group_key",
    "interval_verdict",
    "wilson_interval",
]

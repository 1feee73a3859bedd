"""Canonical, checksummed loaders for the case studies' data sets."""

from fairaudit.datasets._loaders import (
    ADULT_TARGET,
    AGE_BAND_EDGES,
    CACHE_DIR_ENV,
    CREDIT_TARGET,
    DATA_HOME_ENV,
    SCHEMA_VERSION,
    DataUnavailableError,
    add_interest_rate,
    age_band,
    dataset_checksums,
    load_adult,
    load_credit_card,
)

__all__ = [
    "DataUnavailableError",
    "DATA_HOME_ENV",
    "load_credit_card",
    "load_adult",
    "age_band",
    "add_interest_rate",
    "dataset_checksums",
    "CREDIT_TARGET",
    "ADULT_TARGET",
    "CACHE_DIR_ENV",
    "SCHEMA_VERSION",
    "AGE_BAND_EDGES",
]

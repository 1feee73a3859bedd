"""Fixtures the case-study tests share."""

import pytest

from fairaudit.datasets import DataUnavailableError, load_credit_card


@pytest.fixture(scope="module")
def credit():
    """The credit-card data set, or a skip when the offline mirror is absent."""
    try:
        return load_credit_card()
    except DataUnavailableError as exc:
        pytest.skip(f"credit-card data unavailable: {exc}")

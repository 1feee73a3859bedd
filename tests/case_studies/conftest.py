"""Fixtures the case-study tests share."""

import pytest

from fairaudit.datasets import DataUnavailableError, load_adult, load_credit_card


def _loaded(loader, name):
    """The data set ``loader`` returns, or a skip when the offline mirror is absent."""
    try:
        return loader()
    except DataUnavailableError as exc:
        pytest.skip(f"{name} data unavailable: {exc}")


@pytest.fixture(scope="module")
def credit():
    """The credit-card data set."""
    return _loaded(load_credit_card, "credit-card")


@pytest.fixture(scope="module")
def adult():
    """The Adult data set."""
    return _loaded(load_adult, "Adult")

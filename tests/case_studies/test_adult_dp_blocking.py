"""The adult-income case study with the selection-rate check blocking the release."""

import pytest
from adult_variants import check_prose, run_variant


@pytest.fixture(scope="module")
def dp_blocking_run(adult, tmp_path_factory):
    # the selection-rate check blocks: the price of demographic parity decides the release
    return run_variant(
        tmp_path_factory,
        gate_blocking=["demographic_parity_difference"],
        eg_bounds=[0.02],
        gs_grid_size=3,
    )


def test_dp_blocking_variant_prose_agrees_with_its_report(dp_blocking_run):
    check_prose(dp_blocking_run)

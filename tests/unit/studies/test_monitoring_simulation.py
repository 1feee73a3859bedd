"""The fairness-monitoring study's simulated traffic."""

import numpy as np
import pandas as pd

from fairaudit.studies.fairness_monitoring import simulate_requests


def test_simulated_traffic_is_reproducible_and_busier_by_day():
    pool = pd.DataFrame({"v": np.arange(50)})
    a = simulate_requests(pool, start="2026-01-05", days=3, requests_per_hour=40, random_state=7)
    b = simulate_requests(pool, start="2026-01-05", days=3, requests_per_hour=40, random_state=7)
    pd.testing.assert_frame_equal(a, b)
    hour = a["scoring_timestamp"].dt.hour
    assert a["scoring_timestamp"].is_monotonic_increasing
    assert (hour.between(10, 14)).sum() > 2 * (hour.isin([22, 23, 0, 1, 2])).sum()
    assert a["scoring_timestamp"].min() >= pd.Timestamp("2026-01-05")
    assert a["scoring_timestamp"].max() < pd.Timestamp("2026-01-08")

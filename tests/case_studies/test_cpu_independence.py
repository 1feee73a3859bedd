"""The fits behind the committed outputs end where their data put them, not where rounding led.

Processors round differently in the last bits (SIMD widths, BLAS kernels), so the
inputs of a fit differ between two CPUs by about 1e-16 relative. A fit that ends at
its optimum moves by about as much as its inputs do; a solver that stops early moves
by many orders of magnitude more, and the printed digits with it. A nudge of 1e-12
relative stands in for another CPU (``make test-cpu`` runs the notebooks on other
kernels).
"""

import numpy as np
import pytest
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from fairaudit.datasets import ADULT_TARGET
from fairaudit.models import make_classifier

NUDGE = 1e-12


@pytest.mark.parametrize("target", ["sex", "race"])
def test_logistic_fit_moves_no_more_than_its_inputs(adult, target):
    # the adult study's proxy models: two and five classes, on one-hot and scaled features
    rows = adult.iloc[:10_000]
    X = rows.drop(columns=[ADULT_TARGET, "sex", "race"])
    model = make_classifier("logistic", X)
    Z = model[0].fit_transform(X)
    nudged = Z.copy()
    noise = np.random.default_rng(0).standard_normal(nudged.data.shape)
    nudged.data = nudged.data * (1 + NUDGE * noise)
    with threadpool_limits(limits=1):  # as the notebooks fit; threads only add waiting here
        fitted = clone(model[-1]).fit(Z, rows[target].astype(str))
        refitted = clone(model[-1]).fit(nudged, rows[target].astype(str))
    moved = np.abs(fitted.coef_ - refitted.coef_).max()
    # Newton steps: about 1e-11 here; lbfgs stopping at its tolerance: 1e-8 to 1e-6
    assert moved < 1e3 * NUDGE, f"coefficients moved by {moved:.1e} for a {NUDGE:g} nudge"

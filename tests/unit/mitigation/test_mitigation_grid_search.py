"""``mitigation.sweep_grid_search`` against Fairlearn's ``GridSearch`` run directly."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.reductions import DemographicParity, GridSearch
from sklearn.linear_model import LogisticRegression

from fairaudit.mitigation import sweep_grid_search


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    n = 800
    group = rng.choice(["a", "b"], size=n, p=[0.6, 0.4])
    X = pd.DataFrame({"x1": rng.normal(size=n) + (group == "a"), "x2": rng.normal(size=n)})
    y = rng.binomial(1, 1 / (1 + np.exp(-(X["x1"] - 0.5))))
    return X, y, pd.Series(group, name="group")


# Fairlearn's moment code trips a pandas deprecation on plain string groups; not ours to fix.
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_one_model_per_grid_point_as_fairlearn_fits_them(data):
    X, y, group = data
    models = sweep_grid_search(
        LogisticRegression(), X, y, group, constraint="demographic_parity", grid_size=5
    )
    assert list(models) == [f"GS #{i}" for i in range(5)]
    reference = GridSearch(LogisticRegression(), constraints=DemographicParity(), grid_size=5)
    reference.fit(X, y, sensitive_features=group)
    for ours, theirs in zip(models.values(), reference.predictors_, strict=True):
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    # The grid spans a real trade-off: the models do not all make the same decisions.
    assert len({tuple(m.predict(X)) for m in models.values()}) > 1


def test_bad_arguments_are_refused(data):
    X, y, group = data
    with pytest.raises(ValueError, match="grid_size must be an integer of at least 2"):
        sweep_grid_search(LogisticRegression(), X, y, group, grid_size=1)
    with pytest.raises(ValueError, match="constraint='parity' is not supported"):
        sweep_grid_search(LogisticRegression(), X, y, group, constraint="parity")
    with pytest.raises(ValueError, match="X_train has 10 rows"):
        sweep_grid_search(LogisticRegression(), X.iloc[:10], y, group)


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_a_path_along_the_reductions_multipliers_narrows_the_gap_step_by_step(data):
    from fairlearn.metrics import demographic_parity_difference

    from fairaudit.mitigation import multiplier_path, sweep_exponentiated_gradient

    X, y, group = data
    eg = next(
        iter(
            sweep_exponentiated_gradient(
                LogisticRegression(), X, y, group, constraint="demographic_parity", epsilons=[0.01]
            ).values()
        )
    )
    grid = multiplier_path(eg, [0, 0.5, 1])
    best = eg.lambda_vecs_[eg.best_iter_]
    net = best["+"] - best["-"]
    # column 1 is the reduction's own net price; column 0 prices nothing
    np.testing.assert_allclose((grid[1.0]["+"] - grid[1.0]["-"]).to_numpy(), net.to_numpy())
    assert (grid[0.0] == 0).all() and (grid >= 0).all().all()
    models = sweep_grid_search(
        LogisticRegression(), X, y, group, constraint="demographic_parity", grid=grid
    )
    gaps = [
        demographic_parity_difference(y, m.predict(X), sensitive_features=group)
        for m in models.values()
    ]
    unconstrained = LogisticRegression().fit(X, y).predict(X)
    assert gaps[0] == pytest.approx(
        demographic_parity_difference(y, unconstrained, sensitive_features=group)
    )
    assert gaps[0] > gaps[1] > gaps[2]  # every point of the path helps, in order
    with pytest.raises(ValueError, match="scales must be non-negative"):
        multiplier_path(eg, [-1])

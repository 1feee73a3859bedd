"""Baseline pipelines: they fit mixed-dtype frames with missing values and predict sensibly."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from fairaudit.models import make_classifier


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 2_000
    x = rng.normal(size=n)
    colour = rng.choice(["red", "blue", "green"], n)
    y = (x + (colour == "red") + rng.normal(scale=0.5, size=n) > 0.5).astype(int)
    X = pd.DataFrame({"x": x, "colour": pd.Categorical(colour), "count": rng.integers(0, 5, n)})
    X.loc[::17, "x"] = np.nan
    X.loc[::23, "colour"] = np.nan
    return X, y


@pytest.mark.parametrize("kind", ["logistic", "hgb"])
def test_pipeline_learns_from_numeric_and_categorical_columns(frame, kind):
    X, y = frame
    model = make_classifier(kind, X, random_state=0).fit(X, y)
    auc = roc_auc_score(y, model.predict_proba(X)[:, 1])
    assert auc > 0.85
    unseen = X.head(3).copy()
    unseen["colour"] = pd.Categorical(["purple"] * 3)
    assert model.predict(unseen).shape == (3,)


def test_bad_kind_and_bad_input_are_explained(frame):
    X, _ = frame
    with pytest.raises(ValueError, match="choose one of"):
        make_classifier("forest", X)
    with pytest.raises(TypeError, match="DataFrame"):
        make_classifier("hgb", X.to_numpy())

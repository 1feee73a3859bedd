"""The online decision rule: decisions, thresholds from ThresholdOptimizer, safe storage."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from fairaudit.mitigation import (
    FORMAT,
    DecisionRule,
    DecisionRuleError,
    VoteMixture,
    group_keys,
    sidecar_path,
    thresholds_from_optimizer,
)
from fairaudit.models import make_classifier

FEATURES = ["x1", "x2", "job"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Gradient boosting's OpenMP threads stall on a busy shared machine; one thread is fast.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    n = 1500
    sex = rng.choice(["Female", "Male"], size=n, p=[0.4, 0.6])
    race = rng.choice(["Black", "White"], size=n, p=[0.3, 0.7])
    x1 = rng.normal(size=n) + (sex == "Male") * 0.8
    x2 = rng.normal(size=n)
    job = rng.choice(["a", "b", "c"], size=n)
    logit = 1.2 * x1 - 0.5 * x2 + (job == "a") - 1.0
    y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    frame = pd.DataFrame({"x1": x1, "x2": x2, "job": pd.Categorical(job), "sex": sex, "race": race})
    return frame, pd.Series(y, name="y")


@pytest.fixture(scope="module", params=["logistic", "hgb"])
def fitted(request, data):
    frame, y = data
    return make_classifier(request.param, frame[FEATURES], random_state=0).fit(frame[FEATURES], y)


def test_group_keys_join_columns_in_order():
    frame = pd.DataFrame({"sex": ["Female", "Male"], "race": ["Black", "White"]})
    assert group_keys(frame).tolist() == ["Female, Black", "Male, White"]
    assert group_keys(frame["sex"]).tolist() == ["Female", "Male"]
    with pytest.raises(ValueError, match="missing values"):
        group_keys(pd.DataFrame({"sex": ["Female", None]}))


def test_group_keys_never_collide_and_each_group_keeps_its_threshold(tmp_path, data, fitted):
    """("A, B", "C") and ("A", "B, C") were both "A, B, C": one group got the other's threshold."""
    frame, _ = data
    requests = frame.iloc[:4].assign(a=["A, B", "A", "A, B", "A"], b=["C", "B, C", "C", "B, C"])
    keys = group_keys(requests[["a", "b"]]).tolist()
    assert keys == ["A\\, B, C", "A, B\\, C"] * 2 and len(set(keys)) == 2
    thresholds = {("A, B", "C"): 0.0, ("A", "B, C"): 1.0}  # approve all, decline all
    rule = DecisionRule(fitted, thresholds, feature_names=FEATURES, sensitive_features=["a", "b"])
    assert rule.predict(requests).tolist() == [1, 0, 1, 0]
    path, _ = rule.save(tmp_path / "rule.skops")
    loaded = DecisionRule.load(path)
    assert loaded.thresholds == rule.thresholds
    assert loaded.predict(requests).tolist() == [1, 0, 1, 0]
    with pytest.raises(ValueError, match="name some group twice"):
        DecisionRule(fitted, {("A", "B"): 0.1, "A, B": 0.2}, feature_names=FEATURES,
                     sensitive_features=["a", "b"])  # fmt: skip


def test_per_group_thresholds_decide_by_hand(data, fitted):
    frame, _ = data
    rule = DecisionRule(
        fitted, {"Female": 0.3, "Male": 0.6}, feature_names=FEATURES, sensitive_features=["sex"]
    )
    out = rule.apply(frame)
    scores = fitted.predict_proba(frame[FEATURES])[:, 1]
    expected_threshold = np.where(frame["sex"] == "Female", 0.3, 0.6)
    np.testing.assert_allclose(out["score"], scores)
    np.testing.assert_array_equal(out["threshold"], expected_threshold)
    np.testing.assert_array_equal(out["decision"], (scores >= expected_threshold).astype(int))
    np.testing.assert_array_equal(rule.predict(frame), out["decision"])
    assert out["group"].tolist() == frame["sex"].tolist()


def test_single_threshold_half_is_the_model_predict(data):
    frame, y = data
    model = make_classifier("logistic", frame[FEATURES]).fit(frame[FEATURES], y)
    rule = DecisionRule(model, 0.5, feature_names=FEATURES)
    np.testing.assert_array_equal(rule.predict(frame[FEATURES]), model.predict(frame[FEATURES]))


def test_bad_rules_and_requests_are_refused(data, fitted):
    frame, _ = data
    with pytest.raises(ValueError, match="both model features and sensitive"):
        DecisionRule(fitted, 0.5, feature_names=[*FEATURES, "sex"], sensitive_features=["sex"])
    with pytest.raises(ValueError, match="need sensitive_features"):
        DecisionRule(fitted, {"Female": 0.5}, feature_names=FEATURES)
    with pytest.raises(ValueError, match="not a finite number"):
        DecisionRule(fitted, float("nan"), feature_names=FEATURES)
    rule = DecisionRule(fitted, {"Female": 0.5}, feature_names=FEATURES, sensitive_features=["sex"])
    with pytest.raises(ValueError, match=r"groups \['Male'\] that have no threshold"):
        rule.predict(frame)
    with pytest.raises(ValueError, match=r"lack the columns \['sex'\]"):
        rule.predict(frame[FEATURES])


def test_vote_mixture_is_the_weighted_share_of_positive_votes(data):
    frame, y = data
    X = frame[["x1", "x2"]]
    a = LogisticRegression().fit(X, y)
    b = LogisticRegression().fit(X[["x1"]].assign(x2=0.0), y)  # a different classifier
    mix = VoteMixture([a, b], [3.0, 1.0]).fit()
    expected = 0.75 * a.predict(X) + 0.25 * b.predict(X)
    np.testing.assert_allclose(mix.predict_proba(X)[:, 1], expected)
    np.testing.assert_array_equal(mix.predict(X), (expected >= 0.5).astype(int))
    with pytest.raises(ValueError, match="one weight per estimator"):
        VoteMixture([a], [0.5, 0.5]).fit()


def test_thresholds_from_optimizer_needs_probabilities(data):
    frame, y = data
    model = make_classifier("logistic", frame[FEATURES]).fit(frame[FEATURES], y)
    to = ThresholdOptimizer(estimator=model, prefit=True, predict_method="decision_function")
    to.fit(frame[FEATURES], y, sensitive_features=frame["sex"])
    with pytest.raises(ValueError, match="predict_method='predict_proba'"):
        thresholds_from_optimizer(to, frame[FEATURES], y, frame["sex"])


# --------------------------------------------------------------------------- storage


@pytest.fixture
def saved(tmp_path, data, fitted):
    rule = DecisionRule(
        fitted,
        {"Female, Black": 0.3, "Female, White": 0.35, "Male, Black": 0.5, "Male, White": 0.55},
        feature_names=FEATURES,
        sensitive_features=["sex", "race"],
        metadata={"note": "test", "release_gate_passed_on_test": False},
    )
    path, side = rule.save(tmp_path / "rule.skops")
    return rule, path, side


def test_round_trip_gives_identical_decisions_and_records_checksum(data, saved):
    frame, _ = data
    rule, path, side = saved
    meta = json.loads(side.read_text())
    assert meta["format"] == FORMAT and meta["model_file"] == "rule.skops"
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["rule"]["thresholds"] == rule.thresholds and meta["metadata"] == {
        "note": "test",
        "release_gate_passed_on_test": False,
    }
    loaded = DecisionRule.load(path)
    assert loaded.thresholds == rule.thresholds
    assert loaded.sensitive_features == ["sex", "race"]
    pd.testing.assert_frame_equal(loaded.apply(frame), rule.apply(frame))


def test_a_changed_byte_is_refused(saved):
    _, path, _ = saved
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(DecisionRuleError, match="Checksum mismatch"):
        DecisionRule.load(path)


def test_an_edited_sidecar_is_refused(saved):
    _, path, side = saved
    meta = json.loads(side.read_text())
    meta["rule"]["thresholds"]["Female, Black"] = 0.0
    side.write_text(json.dumps(meta))
    with pytest.raises(DecisionRuleError, match="Inconsistent pair"):
        DecisionRule.load(path)


def test_edited_metadata_in_the_sidecar_is_refused(saved):
    _, path, side = saved
    meta = json.loads(side.read_text())
    meta["metadata"]["release_gate_passed_on_test"] = True  # a blocked rule made to look shippable
    side.write_text(json.dumps(meta))
    with pytest.raises(DecisionRuleError, match="Edited metadata"):
        DecisionRule.load(path)


@pytest.mark.parametrize("key", ["rule", "metadata"])
def test_a_crafted_sidecar_without_a_field_is_refused_clearly(saved, key):
    _, path, side = saved
    meta = json.loads(side.read_text())
    del meta[key]
    side.write_text(json.dumps(meta))
    with pytest.raises(DecisionRuleError, match=rf"Incomplete pair: .*'sidecar {key}'"):
        DecisionRule.load(path)


def test_missing_or_foreign_sidecar_is_refused(saved):
    _, path, side = saved
    side.write_text(json.dumps({"format": "something else", "sha256": "0"}))
    with pytest.raises(DecisionRuleError, match="Foreign sidecar"):
        DecisionRule.load(path)
    side.write_text("not json")
    with pytest.raises(DecisionRuleError, match="Foreign sidecar"):
        DecisionRule.load(path)
    side.unlink()
    with pytest.raises(DecisionRuleError, match="Missing sidecar"):
        DecisionRule.load(path)
    with pytest.raises(DecisionRuleError, match="Missing file"):
        DecisionRule.load(path.with_name("nothing.skops"))


def test_saving_again_under_the_same_name_replaces_the_pair(saved):
    rule, path, side = saved
    rule.metadata = {"note": "second save"}
    rule.save(path)
    assert DecisionRule.load(path).metadata == {"note": "second save"}


def test_save_never_replaces_a_file_that_is_not_this_rules(saved):
    rule, path, side = saved
    folder = path.parent
    report = folder / "report.json"
    report.write_text('{"an": "unrelated report"}')
    with pytest.raises(DecisionRuleError, match=r"Not replacing .*report\.json.*another name"):
        rule.save(folder / "report.skops")
    assert report.read_text() == '{"an": "unrelated report"}'
    assert not (folder / "report.skops").exists()
    # a sidecar of another rule is not this rule's either
    other = folder / "other.json"
    other.write_text(side.read_text())  # names rule.skops as its model file
    with pytest.raises(DecisionRuleError, match=r"Not replacing .*other\.json"):
        rule.save(folder / "other.skops")
    assert other.read_text() == side.read_text()
    # nor is a .skops file without a sidecar
    lone = folder / "lone.skops"
    lone.write_bytes(b"someone's model")
    with pytest.raises(DecisionRuleError, match=r"Not replacing .*lone\.skops.*no decision-rule"):
        rule.save(lone)
    assert lone.read_bytes() == b"someone's model"


def test_save_where_a_folder_or_a_file_is_in_the_way_gives_one_line(saved):
    rule, path, _ = saved
    folder = path.parent
    (folder / "d.json").mkdir()  # the sidecar's place is a folder
    (folder / "m.skops").mkdir()  # the model's place is a folder
    (folder / "afile").write_text("mine")
    for target, match in [
        (folder / "d.skops", r"d\.json is a folder\. Save the rule under another name"),
        (folder / "m.skops", r"m\.skops is a folder"),
        (folder / "afile" / "r.skops", r"afile is a file, not a folder\. Save it in a folder"),
        (folder / "afile" / "sub" / "r.skops", r"afile is a file, not a folder"),
    ]:
        with pytest.raises(DecisionRuleError, match=match) as refused:
            rule.save(target)
        assert "\n" not in str(refused.value)
    assert (folder / "afile").read_text() == "mine" and not list((folder / "d.json").iterdir())
    assert not (folder / "d.skops").exists()


def test_a_sidecar_naming_another_model_file_is_refused(saved, tmp_path):
    _, path, side = saved
    meta = json.loads(side.read_text())
    meta["model_file"] = "another_rule.skops"
    side.write_text(json.dumps(meta))
    with pytest.raises(DecisionRuleError, match="Mismatched pair: .*another_rule.skops"):
        DecisionRule.load(path)


def test_a_deeply_nested_sidecar_is_refused_with_one_message(saved):
    _, path, side = saved
    side.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DecisionRuleError, match="nested too deeply"):
        DecisionRule.load(path)


class Intruder(ClassifierMixin, BaseEstimator):
    """A classifier type the trusted list does not name (stands for any foreign code)."""

    def predict_proba(self, X):
        return np.tile([0.5, 0.5], (len(X), 1))


def _write_pair(path, payload):
    sio.dump(payload, path)
    sidecar = {
        "format": FORMAT,
        "model_file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rule": {"thresholds": 0.5, "feature_names": FEATURES, "sensitive_features": []},
        "metadata": {},
    }
    sidecar_path(path).write_text(json.dumps(sidecar))


def test_a_file_needing_an_untrusted_type_is_refused_even_with_a_valid_checksum(tmp_path):
    path = tmp_path / "foreign.skops"
    payload = {
        "format": FORMAT,
        "estimator": Intruder(),
        "thresholds": 0.5,
        "feature_names": FEATURES,
        "sensitive_features": [],
    }
    _write_pair(path, payload)
    assert "test_decision_rule.Intruder" in sio.get_untrusted_types(file=path)
    with pytest.raises(DecisionRuleError, match="Untrusted types: .*Intruder"):
        DecisionRule.load(path)
    with pytest.raises(DecisionRuleError, match="load\\(\\) would refuse"):
        DecisionRule(Intruder(), 0.5, feature_names=FEATURES).save(tmp_path / "x.skops")


def test_a_skops_file_that_is_not_a_rule_is_refused(tmp_path):
    path = tmp_path / "other.skops"
    _write_pair(path, {"something": [1, 2, 3]})
    with pytest.raises(DecisionRuleError, match="Foreign file"):
        DecisionRule.load(path)


def test_vote_mixture_pipeline_round_trips(tmp_path, data):
    frame, y = data
    pipe = make_classifier("logistic", frame[FEATURES]).fit(frame[FEATURES], y)
    pre = pipe.named_steps["preprocess"]
    Z = pre.transform(frame[FEATURES])
    members = [LogisticRegression(C=c).fit(Z, y) for c in (0.01, 1.0)]
    from sklearn.pipeline import Pipeline

    mixed = Pipeline([("preprocess", pre), ("classifier", VoteMixture(members, [0.4, 0.6]).fit())])
    rule = DecisionRule(mixed, 0.5, feature_names=FEATURES)
    path, _ = rule.save(tmp_path / "mix.skops")
    np.testing.assert_array_equal(DecisionRule.load(path).predict(frame), rule.predict(frame))

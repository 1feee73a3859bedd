"""The online decision rule: a trained model plus fairness-aware group thresholds.

A fairness audit happens *offline*: models are trained, compared and mitigated
on historical data. What ships is much smaller: a function that takes one
request (a row of features) and returns a decision. This module holds that
function and the safe way to store it.

A :class:`DecisionRule` scores a request with the chosen model (the
probability of the favourable outcome) and compares the score with the
threshold of the request's group. With one threshold for everyone it is an
ordinary classifier; with per-group thresholds it is the deterministic form of
a post-processing mitigation such as Fairlearn's
:class:`~fairlearn.postprocessing.ThresholdOptimizer`.

Why deterministic thresholds? ``ThresholdOptimizer`` reaches its fairness
target by *randomising* between two thresholds per group. Online, the same
request would then get different answers on different days, and no reviewer
could explain a single decision. :func:`thresholds_from_optimizer` replaces
each group's randomised rule by the one threshold whose operating point on the
validation data is closest to it (same selection rate for demographic parity,
same true- and false-positive rates for equalized odds). The price is that the
constraint then holds only approximately; the case study measures how closely
on the test set.

Storage never uses pickle, which runs arbitrary code on load. A rule is saved
as a `skops <https://skops.readthedocs.io>`_ file that is loaded with an
explicit list of trusted types (:data:`TRUSTED_TYPES`), next to a JSON sidecar
that a person can read (thresholds, sensitive features, provenance) and that
records the file's SHA-256. :meth:`DecisionRule.load` verifies the checksum,
refuses any type outside the trusted list, and checks that the sidecar and the
model file describe the same rule. The checksum detects corruption, a swapped
or edited file and a foreign artefact; it is not a signature: someone who can
rewrite both files can also rewrite the checksum, which is why the trusted-type
check still guards against code execution.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit._io import sha256_bytes, to_jsonable, write_bytes_atomic, write_json_atomic
from fairaudit._validation import group_key, group_keys

__all__ = [
    "FORMAT",
    "TRUSTED_TYPES",
    "DecisionRule",
    "DecisionRuleError",
    "decide",
    "sidecar_path",
]

#: Format marker written into both files; a file without it is foreign.
FORMAT = "fairaudit.decision_rule/1"  # the on-disk format name, kept stable

#: Types outside skops' own safe defaults that a saved rule may contain: the
#: scikit-learn pipelines of :func:`fairaudit.models.make_classifier` (logistic
#: regression and histogram gradient boosting) and :class:`VoteMixture`. Found
#: with :func:`skops.io.get_untrusted_types` on saved rules of every kind; a file
#: that needs anything else is refused.
TRUSTED_TYPES = (
    "fairaudit.mitigation.VoteMixture",
    "functools.partial",
    "numpy.dtype",
    "sklearn.compose._column_transformer.make_column_selector",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)


class DecisionRuleError(ValueError):
    """A saved decision rule is missing, tampered with, foreign or unsafe to load."""


# --------------------------------------------------------------------------- the rule


def decide(scores, thresholds) -> np.ndarray:
    """The package's threshold convention: 1 where ``score >= threshold``, else 0.

    Parameters
    ----------
    scores, thresholds : array-like of float
        Broadcast against each other (one threshold, or one per score).

    Returns
    -------
    numpy.ndarray of int
    """
    return (np.asarray(scores, dtype=float) >= np.asarray(thresholds, dtype=float)).astype(int)


_PAYLOAD_KEYS = (
    "estimator",
    "thresholds",
    "feature_names",
    "sensitive_features",
    "metadata_sha256",
)


def _metadata_digest(metadata) -> str:
    """SHA-256 of the metadata as JSON with sorted keys (what the sidecar stores)."""
    text = json.dumps(to_jsonable(metadata or {}), sort_keys=True, allow_nan=False)
    return sha256_bytes(text.encode("utf-8"))


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar beside a saved rule: ``rule.skops`` → ``rule.json``.

    Parameters
    ----------
    path : path
        The skops file.

    Returns
    -------
    pathlib.Path
    """
    return Path(path).with_suffix(".json")


class DecisionRule:
    """A fitted model and the thresholds that turn its scores into decisions, per group.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba``
        Scores requests; column 1 is the probability of the favourable outcome.
        It never sees the sensitive features.
    thresholds : float or mapping to float
        One threshold for everyone, or one per group: keyed by the group's label
        (a tuple for several sensitive features) or by its key
        (:func:`~fairaudit.metrics.group_key`, ``"Female, Black"``). A request is
        positive when its score is at least its threshold
        (``score >= t``, the package's one convention).
    feature_names : sequence of str
        Columns the model reads, in order. Requests may carry more columns.
    sensitive_features : sequence of str, default=()
        Columns naming a request's group. Required when ``thresholds`` is a
        mapping; recorded for auditing when it is a single number.
    metadata : dict, optional
        JSON-serialisable provenance (parameters, data checksums, what was
        chosen and why) written to the sidecar.
    """

    def __init__(
        self,
        estimator,
        thresholds: float | Mapping[str, float],
        *,
        feature_names: Sequence[str],
        sensitive_features: Sequence[str] = (),
        metadata: dict | None = None,
    ):
        if not hasattr(estimator, "predict_proba"):
            raise TypeError(
                f"estimator must be a fitted classifier with predict_proba, got {type(estimator)}."
            )
        self.estimator = estimator
        self.feature_names = [str(c) for c in feature_names]
        self.sensitive_features = [str(c) for c in sensitive_features]
        if not self.feature_names:
            raise ValueError("feature_names is empty; pass the columns the model was trained on.")
        leaked = sorted(set(self.feature_names) & set(self.sensitive_features))
        if leaked:
            raise ValueError(
                f"{leaked} are both model features and sensitive features; sensitive features "
                "are for choosing thresholds and auditing only, so drop them from feature_names."
            )
        if isinstance(thresholds, Mapping):
            if not thresholds:
                raise ValueError("thresholds is an empty mapping; pass at least one group.")
            if not self.sensitive_features:
                raise ValueError(
                    "Per-group thresholds need sensitive_features naming the group columns."
                )
            self.thresholds = {
                k if isinstance(k, str) else group_key(k): _threshold(v)
                for k, v in thresholds.items()
            }
            if len(self.thresholds) < len(thresholds):
                raise ValueError(
                    f"thresholds name some group twice ({list(thresholds)}); give one threshold "
                    "per group."
                )
        else:
            self.thresholds = _threshold(thresholds)
        self.metadata = dict(metadata or {})

    # ------------------------------------------------------------------ applying

    @property
    def per_group(self) -> bool:
        """Whether thresholds differ by group (the rule then needs the sensitive columns)."""
        return isinstance(self.thresholds, dict)

    def _check_columns(self, requests):
        if not isinstance(requests, pd.DataFrame):
            raise TypeError(f"requests must be a pandas DataFrame, got {type(requests)}.")
        needed = self.feature_names + (self.sensitive_features if self.per_group else [])
        missing = [c for c in needed if c not in requests.columns]
        if missing:
            raise ValueError(
                f"requests lack the columns {missing}; the rule reads {self.feature_names}"
                + (f" and the group columns {self.sensitive_features}." if self.per_group else ".")
            )

    def score(self, requests: pd.DataFrame) -> np.ndarray:
        """Model score (probability of the favourable outcome) for each request.

        Parameters
        ----------
        requests : pandas.DataFrame
            The model's features and, for per-group thresholds, the sensitive columns.

        Returns
        -------
        numpy.ndarray of float
        """
        self._check_columns(requests)
        return self.estimator.predict_proba(requests[self.feature_names])[:, 1]

    def threshold_for(self, requests: pd.DataFrame) -> np.ndarray:
        """The threshold that applies to each request (its group's, or the single one).

        Parameters
        ----------
        requests : pandas.DataFrame
            The model's features and, for per-group thresholds, the sensitive columns.

        Returns
        -------
        numpy.ndarray of float
        """
        self._check_columns(requests)
        if not self.per_group:
            return np.full(len(requests), self.thresholds, dtype=float)
        keys = group_keys(requests[self.sensitive_features])
        unknown = sorted(set(keys.tolist()) - set(self.thresholds))
        if unknown:
            raise ValueError(
                f"requests belong to groups {unknown} that have no threshold; known groups are "
                f"{sorted(self.thresholds)}. Refit the rule on data that includes them."
            )
        return np.array([self.thresholds[k] for k in keys], dtype=float)

    def predict(self, requests: pd.DataFrame) -> np.ndarray:
        """Decisions as 0/1 (1 = favourable), one per request.

        Parameters
        ----------
        requests : pandas.DataFrame
            The model's features and, for per-group thresholds, the sensitive columns.

        Returns
        -------
        numpy.ndarray of int
        """
        return decide(self.score(requests), self.threshold_for(requests))

    def apply(self, requests: pd.DataFrame) -> pd.DataFrame:
        """Decide a batch of requests and show the working.

        Parameters
        ----------
        requests : pandas.DataFrame
            The model's features and, for per-group thresholds, the sensitive columns.


        Returns
        -------
        pandas.DataFrame
            Indexed like ``requests``: ``group`` (when thresholds are per group),
            ``score``, ``threshold`` and ``decision`` (1 = favourable).
        """
        scores = self.score(requests)
        thresholds = self.threshold_for(requests)
        out = pd.DataFrame(index=requests.index)
        if self.per_group:
            out["group"] = group_keys(requests[self.sensitive_features])
        out["score"] = scores
        out["threshold"] = thresholds
        out["decision"] = decide(scores, thresholds)
        return out

    # ------------------------------------------------------------------ storage

    def _payload(self) -> dict:
        return {
            "format": FORMAT,
            "estimator": self.estimator,
            "thresholds": self.thresholds,
            "feature_names": list(self.feature_names),
            "sensitive_features": list(self.sensitive_features),
            # the sidecar's metadata is covered by the model file's checksum through this
            "metadata_sha256": _metadata_digest(self.metadata),
        }

    def _description(self) -> dict:
        return {
            "thresholds": self.thresholds,
            "feature_names": list(self.feature_names),
            "sensitive_features": list(self.sensitive_features),
        }

    def save(self, path: str | os.PathLike) -> tuple[Path, Path]:
        """Save as a skops file at ``path`` plus a JSON sidecar (``.json``) with its SHA-256.

        Both files are written atomically (temporary file, then rename), the
        model first: if writing stops in between, the old sidecar's checksum no
        longer matches and loading refuses the pair instead of mixing them.

        Parameters
        ----------
        path : path
            Where the skops file goes (the sidecar is :func:`sidecar_path` of it).


        Returns
        -------
        (Path, Path)
            The model file and the sidecar.
        """
        path = Path(path)
        if path.suffix != ".skops":
            raise ValueError(f"Save decision rules with a '.skops' suffix, got {path.name!r}.")
        import skops.io as sio  # here, not at import: it loads every estimator (3 s)

        _refuse_to_replace_foreign_files(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        sio.dump(self._payload(), buffer)
        data = buffer.getvalue()
        untrusted = set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES)
        if untrusted:
            raise DecisionRuleError(
                f"This rule contains types {sorted(untrusted)} that load() would refuse; use a "
                "model from fairaudit.models.make_classifier or extend TRUSTED_TYPES after "
                "reviewing them."
            )
        write_bytes_atomic(path, data)
        sidecar = {
            "format": FORMAT,
            "model_file": path.name,
            "sha256": sha256_bytes(data),
            "rule": self._description(),
            "metadata": self.metadata,
        }
        write_json_atomic(sidecar_path(path), sidecar)
        return path, sidecar_path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, *, trusted: Sequence[str] = TRUSTED_TYPES):
        """Load a rule saved by :meth:`save`, refusing anything tampered, foreign or unsafe.

        Checks, in order: the sidecar exists and carries :data:`FORMAT`; the
        model file's SHA-256 equals the sidecar's; the file needs no type outside
        ``trusted``; both hold every field; the sidecar's metadata is the one
        saved (its digest is inside the model file); the loaded rule matches the
        sidecar's thresholds and columns.

        Raises
        ------
        DecisionRuleError
            With the failed check and what to do about it.
        """
        path = Path(path)
        side = sidecar_path(path)
        if not path.is_file():
            raise DecisionRuleError(f"Missing file: no decision rule at {path}.")
        if not side.is_file():
            raise DecisionRuleError(
                f"Missing sidecar: {path} has no {side.name}; a rule is saved as a pair by "
                "DecisionRule.save, and the sidecar holds the checksum that makes it safe to load."
            )
        meta = _read_sidecar(side)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
            raise DecisionRuleError(
                f"Foreign sidecar: {side} is not a fairaudit decision-rule sidecar (format "
                f"{found!r}, expected {FORMAT!r}); load only rules written by DecisionRule.save."
            )
        if meta.get("model_file") != path.name:
            raise DecisionRuleError(
                f"Mismatched pair: {side.name} is the sidecar of {meta.get('model_file')!r}, not "
                f"of {path.name}; the files were renamed or mixed up. Load the rule under the "
                "name it was saved with, or re-create it."
            )
        import skops.io as sio  # here, not at import: it loads every estimator (3 s)

        data = path.read_bytes()
        digest = sha256_bytes(data)
        if digest != meta.get("sha256"):
            raise DecisionRuleError(
                f"Checksum mismatch: the SHA-256 of {path} is {digest}, the sidecar records "
                f"{meta.get('sha256')}. The file was modified, corrupted or swapped; do not use "
                "it. Re-create the rule by running the case study again."
            )
        try:
            needed = set(sio.get_untrusted_types(data=data))
        except Exception as exc:
            raise DecisionRuleError(
                f"Unreadable file: {path} is not a skops file ({exc})."
            ) from exc
        unexpected = sorted(needed - set(trusted))
        if unexpected:
            raise DecisionRuleError(
                f"Untrusted types: {path} needs {unexpected}, which are not trusted. A decision "
                f"rule only contains {sorted(trusted)}; refusing to load it."
            )
        payload = sio.load(io.BytesIO(data), trusted=sorted(needed))
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise DecisionRuleError(
                f"Foreign file: {path} is a skops file but not a fairaudit decision rule."
            )
        missing = [k for k in _PAYLOAD_KEYS if k not in payload]
        missing += [f"sidecar {k}" for k in ("rule", "metadata") if k not in meta]
        if missing:
            raise DecisionRuleError(
                f"Incomplete pair: {path.name} and {side.name} lack {missing}; they were not "
                "written by DecisionRule.save. Re-create the rule."
            )
        if _metadata_digest(meta["metadata"]) != payload["metadata_sha256"]:
            raise DecisionRuleError(
                f"Edited metadata: the metadata in {side.name} (provenance, gate verdict) is not "
                f"what was saved with {path.name}; do not trust it. Re-create the rule."
            )
        rule = cls(
            payload["estimator"],
            payload["thresholds"],
            feature_names=payload["feature_names"],
            sensitive_features=payload["sensitive_features"],
            metadata=meta.get("metadata"),
        )
        if to_jsonable(rule._description()) != meta.get("rule"):
            raise DecisionRuleError(
                f"Inconsistent pair: the sidecar {side.name} describes a different rule than "
                f"{path.name} holds "
                "(thresholds or columns differ); the pair was edited. Re-create the rule."
            )
        return rule

    def __repr__(self) -> str:
        if self.per_group:
            shown = ", ".join(f"{k}: {v:.3f}" for k, v in self.thresholds.items())
            return f"DecisionRule(thresholds={{{shown}}}, by={self.sensitive_features})"
        return f"DecisionRule(threshold={self.thresholds:.3f})"


def _read_sidecar(side: Path):
    """The sidecar's JSON, or a :class:`DecisionRuleError` saying why it cannot be read."""
    try:
        return json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DecisionRuleError(f"Foreign sidecar: {side} is not valid JSON ({exc}).") from exc
    except RecursionError:
        raise DecisionRuleError(
            f"Foreign sidecar: {side} is nested too deeply to be one DecisionRule.save wrote; "
            "do not use it. Re-create the rule."
        ) from None


def _refuse_to_replace_foreign_files(path: Path) -> None:
    """Refuse to save over files that are not an earlier save of a rule under this name."""
    side = sidecar_path(path)
    folder = next(p for p in path.absolute().parents if p.exists())
    if not folder.is_dir():
        raise DecisionRuleError(
            f"Cannot save the rule as {path}: {folder} is a file, not a folder. Save it in a "
            "folder (or move that file away first)."
        )
    for each in (path, side):
        if each.is_dir():
            raise DecisionRuleError(
                f"Cannot save the rule as {path}: {each} is a folder. Save the rule under "
                "another name, or move that folder away first."
            )
    if side.exists():
        try:
            meta = _read_sidecar(side)
        except DecisionRuleError:
            meta = None
        ours = isinstance(meta, dict) and meta.get("format") == FORMAT
        if not ours or meta.get("model_file") != path.name:
            raise DecisionRuleError(
                f"Not replacing {side}: the rule's sidecar would go there, but that file is not "
                f"the sidecar of a rule saved as {path.name}. Save the rule under another name, "
                "or move that file away first."
            )
    elif path.exists():
        raise DecisionRuleError(
            f"Not replacing {path}: it has no decision-rule sidecar ({side.name}), so it is not "
            "a rule saved by DecisionRule.save. Save the rule under another name, or move that "
            "file away first."
        )


def _threshold(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"thresholds must be numbers, got {value!r}.") from None
    if not math.isfinite(out):
        raise ValueError(
            f"threshold {value!r} is not a finite number; to accept everyone use the lowest "
            "possible score (0 for probabilities: a score at or above it is accepted)."
        )
    return out

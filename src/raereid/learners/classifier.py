"""The paper's learner: identity classifiers. Source ids through the model's source classifier, target
pseudo-labels through target classifiers this learner owns, rebuilt at every clustering (one class per
cluster, initialised from the L2-normalised cluster centroids), each with a batch-hard triplet loss
(Eq. 3-7, and Eq. 22-23 on the fused descriptor)."""

from __future__ import annotations

import torch

from raereid import losses
from raereid.learners.base import (
    BRANCH_FEATURES,
    Branch,
    ClusterRound,
    Labels,
    Learner,
    Term,
    centroids,
    source_weighted,
    triplet_term,
)
from raereid.learners.registry import register_learner
from raereid.models.heads import Classifier
from raereid.models.rae import SALTS

# Branch -> (module name in `modules()`, dropout salt).
TARGET_HEADS = {"encoder": ("target_head", "target"), "fused": ("fused_target_head", "fused_target")}


def source_classifier_terms(learner: Learner, branch: Branch, labels: Labels) -> list[Term]:
    """Cross-entropy of the source classifier and the source triplet (Eq. 3-4 / 22): the paper's source loss,
    weighted by `loss.lambda_source`."""
    head = learner.model.source_head if branch.name == "encoder" else learner.model.fused_source_head
    ns, p, cfg = branch.ns, branch.prefix, learner.cfg
    ce = losses.cross_entropy(head(branch.embedded[:ns], labels.seeds_s), labels.ys, cfg.loss.label_smoothing)
    terms = [(f"ce_{p}source", ce, 1.0),
             triplet_term(f"tri_{p}source", branch.feat[:ns], labels.ys, cfg, labels.gather)]
    return source_weighted(terms, cfg)


@register_learner("classifier")
class ClassifierLearner(Learner):
    """Cross-entropy on source and target classifiers plus triplets; the target classifiers are `modules()`."""

    paper_rows = {"full": "RAE (Ours)"}

    def on_clustering(self, round_: ClusterRound) -> bool:
        n = int(round_.labels.max()) + 1
        features = {b: round_.features[BRANCH_FEATURES[b]] for b in self.branches}
        self.set_target_classes({b: centroids(f, round_.labels, n) for b, f in features.items()})
        return True

    def set_target_classes(self, centroids_by_branch: dict[str, torch.Tensor]) -> None:
        """New target classifiers, one per branch, whose class weights are the given centroids (classes x dim)."""
        for branch in self.branches:  # the encoder's first: the order their initialisations draw random numbers in
            name, salt = TARGET_HEADS[branch]
            head = Classifier.from_centroids(centroids_by_branch[branch], self.cfg.model.dropout, SALTS[salt])
            self.trainable[name] = head.to(self.device)

    def load_modules(self, state: dict[str, torch.Tensor]) -> None:
        """Rebuild classifiers of the saved shapes, then load their weights."""
        weights = {b: state.get(f"{name}.fc.weight") for b, (name, _) in TARGET_HEADS.items()}
        shapes = {b: w.shape for b, w in weights.items() if w is not None}
        if shapes and shapes.keys() == set(self.branches):
            self.set_target_classes({b: torch.zeros(shape) for b, shape in shapes.items()})
        super().load_modules(state)

    def branch_terms(self, branch: Branch, labels: Labels) -> list[Term]:
        terms = source_classifier_terms(self, branch, labels)
        if labels.yt is None:
            return terms
        head = self.trainable[TARGET_HEADS[branch.name][0]]
        ns, p, cfg = branch.ns, branch.prefix, self.cfg
        ce = losses.cross_entropy(head(branch.embedded[ns:], labels.seeds_t), labels.yt, cfg.loss.label_smoothing)
        return terms + [(f"ce_{p}target", ce, 1.0),
                        triplet_term(f"tri_{p}target", branch.feat[ns:], labels.yt, cfg, labels.gather)]

"""The paper's learner: identity classifiers. Source ids through the source classifier, target
pseudo-labels through a target classifier rebuilt at every clustering (one class per cluster,
initialised from the L2-normalised cluster centroids), each with a batch-hard triplet loss
(Eq. 3-7, and Eq. 22-23 on the fused descriptor)."""

from __future__ import annotations

from raereid import losses
from raereid.learners.base import BRANCH_FEATURES, Branch, ClusterRound, Labels, Learner, Term, centroids, source_weighted, triplet_term
from raereid.learners.registry import register_learner


def source_classifier_terms(learner: Learner, branch: Branch, labels: Labels) -> list[Term]:
    """Cross-entropy of the source classifier and the source triplet (Eq. 3-4 / 22): the paper's source loss,
    weighted by `loss.lambda_source`."""
    head = learner.model.source_head if branch.name == "encoder" else learner.model.fused_source_head
    ns, p, cfg = branch.ns, branch.prefix, learner.cfg
    ce = losses.cross_entropy(head(branch.embedded[:ns], labels.seeds_s), labels.ys, cfg.loss.label_smoothing)
    terms = [(f"ce_{p}source", ce, 1.0), triplet_term(f"tri_{p}source", branch.feat[:ns], labels.ys, cfg, labels.gather)]
    return source_weighted(terms, cfg)


@register_learner("classifier")
class ClassifierLearner(Learner):
    """Cross-entropy on source and target classifiers plus triplets; the target classifiers live in the RAE."""

    def on_clustering(self, round_: ClusterRound) -> None:
        n = int(round_.labels.max()) + 1
        fused = centroids(round_.features[BRANCH_FEATURES["fused"]], round_.labels, n) if "fused" in self.branches else None
        self.model.set_target_classes(centroids(round_.features[BRANCH_FEATURES["encoder"]], round_.labels, n), fused)

    def branch_terms(self, branch: Branch, labels: Labels) -> list[Term]:
        terms = source_classifier_terms(self, branch, labels)
        if labels.yt is None:
            return terms
        head = self.model.target_head if branch.name == "encoder" else self.model.fused_target_head
        ns, p, cfg = branch.ns, branch.prefix, self.cfg
        ce = losses.cross_entropy(head(branch.embedded[ns:], labels.seeds_t), labels.yt, cfg.loss.label_smoothing)
        return terms + [(f"ce_{p}target", ce, 1.0), triplet_term(f"tri_{p}target", branch.feat[ns:], labels.yt, cfg, labels.gather)]

"""Pseudo-label learners: how source ids and target pseudo-labels become identity losses.

`classifier` is the paper's (classifiers rebuilt at each clustering), `memory` is Cluster Contrast's
centroid memory, `hybrid` is SpCL's hybrid memory, `mmcl` is MMCL's per-image memory with multi-label
prediction, `jvtc` is JVTC's local and global classifications (the learners of the paper's Tables II/III
rows "MMCL + RAE" and "JVTC + RAE"). Each is one module; `learner.name` picks one
by name; `@register_learner("name")` on a `Learner` subclass adds your own (see learners/base.py).
"""

from raereid.config.schema import Config
from raereid.learners import classifier, hybrid, jvtc, memory, mmcl  # noqa: F401 - registers the built-in learners
from raereid.learners.base import Branch, ClusterRound, Labels, Learner
from raereid.learners.registry import available_learners, learner_class, register_learner
from raereid.models.rae import RAE


def build_learner(name: str, model: RAE, cfg: Config, num_source_ids: int) -> Learner:
    """The learner registered as `name`, for this model and config."""
    return learner_class(name)(model, cfg, num_source_ids)


def paper_row(learner: str, variant: str) -> str | None:
    """The row of the paper's Tables II / III that a run of `learner` under `variant` stands for ("MMCL + RAE" for
    mmcl / full), or None (a variant or learner those tables do not report, or a learner not registered here)."""
    if learner not in available_learners():
        return None
    return learner_class(learner).paper_rows.get(variant.lower())


__all__ = ["Learner", "Branch", "Labels", "ClusterRound", "build_learner", "register_learner", "available_learners",
           "learner_class", "paper_row"]

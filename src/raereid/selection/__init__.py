"""Label-free run health and model selection on an unlabelled target (issue 32).

Signals computed only from what an unlabelled target gives -- descriptors, pseudo-labels, camera ids and the
previous round's pseudo-labels -- a fixed score built from them, and the ranking behind `raereid select`.
Nothing here takes identities: every function takes NumPy arrays, and the one that reads dataset records
(`camera_ids`) reads their camera field only. Pure NumPy / scikit-learn (no torch), so a command can import it
without the training stack. The design, its literature and the measurement plan: issue 32's design note.
"""

from raereid.selection.cameras import camera_ids
from raereid.selection.clusters import camera_coverage, cluster_statistics
from raereid.selection.neighbourhoods import knn_agreement, soft_neighbourhood_density, top_k_neighbours
from raereid.selection.ranking import Candidate, Ranked, Ranking, rank_candidates
from raereid.selection.reference import reference_labels
from raereid.selection.score import SPECS, ScoreSpec, score_signals, score_terms
from raereid.selection.signals import SIGNAL_KEYS, clustering_signals
from raereid.selection.stability import label_stability
from raereid.selection.validity import cosine_silhouette

__all__ = [
    "SIGNAL_KEYS",
    "SPECS",
    "Candidate",
    "Ranked",
    "Ranking",
    "ScoreSpec",
    "camera_coverage",
    "camera_ids",
    "cluster_statistics",
    "clustering_signals",
    "cosine_silhouette",
    "knn_agreement",
    "label_stability",
    "rank_candidates",
    "reference_labels",
    "score_signals",
    "score_terms",
    "soft_neighbourhood_density",
    "top_k_neighbours",
]

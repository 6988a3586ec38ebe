"""The label-free signals (raereid.selection), each on a hand-made case whose expected value is worked out by hand
in the comments, and the proof that a dataset's identities cannot reach them."""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import raereid.selection as selection
from raereid.data.records import ImageRecord
from raereid.errors import InputError
from raereid.selection import (
    SIGNAL_KEYS,
    camera_coverage,
    camera_ids,
    cluster_statistics,
    clustering_signals,
    cosine_silhouette,
    knn_agreement,
    label_stability,
    reference_labels,
    soft_neighbourhood_density,
    top_k_neighbours,
)


def unit(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


# ------------------------------------------------------------------------------------------- cluster statistics
def test_cluster_statistics_by_hand() -> None:
    labels = np.array([0, 0, 0, 1, 1, -1, 2, -1, 0, 7])
    # clusters 0 (4 images: 0 1 2 8), 1 (2), 2 (1), 7 (1): 4 clusters; 2 outliers of 10 -> 0.2;
    # sizes 4 2 1 1 -> median 1.5; largest 4 of the 8 clustered -> 0.5; clusters of <= 2 images: 3 of 4 -> 0.75
    assert cluster_statistics(labels) == {"images": 10, "clusters": 4, "outlier_fraction": 0.2,
                                          "median_cluster_size": 1.5, "largest_cluster_share": 0.5,
                                          "tiny_cluster_share": 0.75}


def test_cluster_statistics_of_all_outliers() -> None:
    assert cluster_statistics(np.full(5, -1)) == {"images": 5, "clusters": 0, "outlier_fraction": 1.0,
                                                  "median_cluster_size": None, "largest_cluster_share": None,
                                                  "tiny_cluster_share": None}


def test_camera_coverage_by_hand() -> None:
    labels = np.array([0, 0, 1, 1, 1, 2, -1, 2])
    cameras = np.array([0, 1, 2, 2, 2, 0, 1, -1])
    # cluster 0: cameras {0, 1} (2); cluster 1: {2} (1); cluster 2: {0} and an unknown camera (1).
    # 7 clustered images, the 2 of cluster 0 in a multi-camera cluster -> 2/7; cameras per cluster (2+1+1)/3;
    # known cameras among all images: 0 1 2 -> 3
    out = camera_coverage(labels, cameras)
    assert out["cameras"] == 3
    assert out["cross_camera_share"] == pytest.approx(2 / 7)
    assert out["cameras_per_cluster"] == pytest.approx(4 / 3)


def test_camera_coverage_needs_two_cameras_and_a_cluster() -> None:
    labels = np.array([0, 0, 1, 1])
    assert camera_coverage(labels, np.array([3, 3, 3, -1])) == {"cameras": 1, "cross_camera_share": None,
                                                                "cameras_per_cluster": None}
    assert camera_coverage(labels, np.full(4, -1))["cameras"] == 0
    assert camera_coverage(np.full(4, -1), np.array([0, 1, 0, 1]))["cross_camera_share"] is None


# ------------------------------------------------------------------------------------------------- stability
def test_stability_is_blind_to_renumbering_and_outliers() -> None:
    previous = np.array([0, 0, 1, 1, -1, 2])
    current = np.array([5, 5, 7, 7, 7, -1])
    # clustered both times: images 0-3, grouped {0,1} {2,3} both times -> ARI 1, NMI 1; 4 of 6 images -> 2/3
    out = label_stability(previous, current)
    assert out["stability_ari"] == pytest.approx(1.0)
    assert out["stability_nmi"] == pytest.approx(1.0)
    assert out["both_clustered"] == pytest.approx(4 / 6)


def test_stability_of_crossed_partitions_by_hand() -> None:
    # {0,1}{2,3} against {0,2}{1,3}: every contingency cell holds 1 image, so sum C(n_ij, 2) = 0; rows and columns
    # give sum C(2, 2) = 2 each; expected index 2 * 2 / C(4, 2) = 2/3, maximum (2 + 2) / 2 = 2;
    # ARI = (0 - 2/3) / (2 - 2/3) = -1/2. The two partitions are independent: mutual information 0 -> NMI 0.
    out = label_stability(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
    assert out["stability_ari"] == pytest.approx(-0.5)
    assert out["stability_nmi"] == pytest.approx(0.0, abs=1e-12)


def test_stability_needs_two_images_clustered_twice() -> None:
    out = label_stability(np.array([0, -1, -1]), np.array([0, 1, -1]))
    assert out == {"stability_ari": None, "stability_nmi": None, "both_clustered": pytest.approx(1 / 3)}
    with pytest.raises(InputError, match="same target images"):
        label_stability(np.array([0, 1]), np.array([0, 1, 1]))


# ----------------------------------------------------------------------------------------- neighbourhoods
def test_top_k_leaves_the_image_out_even_behind_a_duplicate() -> None:
    x = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
    # rows 0 and 1 are the same vector: each one's nearest other image is the other one
    assert top_k_neighbours(x, 1).ravel().tolist() == [1, 0, 3, 2]
    with pytest.raises(InputError, match="below the number of images"):
        top_k_neighbours(x, 4)


def test_knn_agreement_by_hand() -> None:
    # descriptor A: images 0 1 2 at 0, 10, 20 degrees, images 3 4 5 at 180, 190, 200. With k = 2 each image's
    # neighbours are the two others of its group: 0:{1,2} 1:{0,2} 2:{0,1} 3:{4,5} 4:{3,5} 5:{3,4}
    a = np.array([unit(0), unit(10), unit(20), unit(180), unit(190), unit(200)], dtype=np.float32)
    assert knn_agreement(a, a, k=2) == pytest.approx(1.0)
    # descriptor B groups 0 1 3 (at 0, 10, 20) and 2 4 5 (at 180, 190, 200):
    # 0:{1,3} 1:{0,3} 3:{0,1} 2:{4,5} 4:{2,5} 5:{2,4}. Jaccard per image: 0: {1,2}/{1,3} 1/3; 1: {0,2}/{0,3} 1/3;
    # 2: {0,1}/{4,5} 0; 3: {4,5}/{0,1} 0; 4: {3,5}/{2,5} 1/3; 5: {3,4}/{2,4} 1/3 -> mean (4/3)/6 = 2/9
    b = np.array([unit(0), unit(10), unit(180), unit(20), unit(190), unit(200)], dtype=np.float32)
    assert knn_agreement(a, b, k=2) == pytest.approx(2 / 9)
    with pytest.raises(InputError, match="same images"):
        knn_agreement(a, b[:5], k=2)


def test_snd_by_hand() -> None:
    # two pairs of identical unit vectors, the pairs orthogonal. At temperature 1 each image's logits over the 3
    # others are cos = 1, 0, 0: d = s - max = 0, -1, -1; z = 1 + 2/e; H = log z - sum p d = log z + 2 e^-1 / z;
    # divided by log(N - 1) = log 3. Every image is alike, so the mean is that value (0.97532 / 1.09861 = 0.88778).
    x = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
    z = 1 + 2 / math.e
    expected = (math.log(z) + 2 * math.exp(-1) / z) / math.log(3)
    assert expected == pytest.approx(0.88778, abs=1e-5)
    assert soft_neighbourhood_density(x, temperature=1.0) == pytest.approx(expected, rel=1e-6)


def test_snd_is_maximal_for_a_collapsed_descriptor() -> None:
    # all images alike: each softmax is uniform over the N - 1 others, entropy log(N - 1), normalised 1. This is the
    # caveat the note gives for re-ID: SND alone would prefer a collapsed model.
    assert soft_neighbourhood_density(np.ones((6, 4), dtype=np.float32)) == pytest.approx(1.0)


def test_snd_sample_is_evenly_spread_and_fixed() -> None:
    x = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    assert soft_neighbourhood_density(x, max_samples=20) == soft_neighbourhood_density(x, max_samples=20)
    assert soft_neighbourhood_density(x, max_samples=None) == soft_neighbourhood_density(x, max_samples=50)


# ------------------------------------------------------------------------------------------------ silhouette
def test_cosine_silhouette_by_hand() -> None:
    # cluster A = {e1, (1,1)}, cluster B = {e2, (-1,1)}; cosine distances: c = 1 - 1/sqrt2 between neighbours
    # 45 degrees apart, 1 at 90, 1 + 1/sqrt2 at 135.
    # e1: a = c, b = mean(1, 1 + 1/sqrt2);  (1,1): a = c, b = mean(c, 1);  e2 and (-1,1) are the mirror images.
    # s = (b - a) / max(a, b): 0.78361 and 0.54692, mean 0.66527. An outlier (-1) changes nothing.
    c = 1 - 1 / math.sqrt(2)
    far, near = (1 + 1 + 1 / math.sqrt(2)) / 2, (c + 1) / 2
    expected = ((far - c) / far + (near - c) / near) / 2
    assert expected == pytest.approx(0.66527, abs=1e-5)
    x = np.array([[1, 0], [1, 1], [0, 1], [-1, 1], [0.3, -1]], dtype=np.float32)
    assert cosine_silhouette(x, np.array([0, 0, 1, 1, -1])) == pytest.approx(expected, rel=1e-5)


def test_cosine_silhouette_degenerate_cases() -> None:
    x = np.eye(3, dtype=np.float32)
    assert cosine_silhouette(x, np.array([0, 0, -1])) is None  # one cluster
    assert cosine_silhouette(x, np.array([0, 1, 2])) == 0.0  # every image alone: scikit-learn's 0


# ------------------------------------------------------------------------------------------ the flat record
def test_clustering_signals_have_every_key_and_none_where_an_input_is_missing() -> None:
    labels = np.array([0, 0, 1, 1, -1, 1])
    out = clustering_signals(labels)
    assert tuple(out) == SIGNAL_KEYS
    assert out["clusters"] == 2 and out["outlier_fraction"] == pytest.approx(1 / 6)
    assert all(out[k] is None for k in ("cameras", "cross_camera_share", "stability_ari", "silhouette",
                                         "knn_agreement", "snd"))
    with pytest.raises(InputError, match="cameras describes 5 images"):
        clustering_signals(labels, cameras=np.zeros(5, dtype=np.int64))
    with pytest.raises(InputError, match="without features"):
        clustering_signals(labels, second_features=np.ones((6, 2)))


def test_reference_labels_find_separated_groups_with_their_own_eps() -> None:
    rng = np.random.default_rng(1)
    centres = np.eye(8, dtype=np.float32)[:3] * 10
    x = np.concatenate([c + rng.normal(scale=0.3, size=(12, 8)) for c in centres]).astype(np.float32)
    # 36 images: 630 pairs, 198 inside a blob; rho 0.1 averages the 63 smallest distances (the default 1.6e-3 is
    # for thousands of images: it would average a single pair here)
    labels = reference_labels(x, rho=0.1, min_samples=3, k1=6, k2=2)
    groups = np.repeat(np.arange(3), 12)
    assert cluster_statistics(labels)["clusters"] == 3
    assert label_stability(groups, labels)["stability_ari"] == pytest.approx(1.0)  # the blobs, exactly


# ---------------------------------------------------------------------- identities cannot reach the signals
@dataclasses.dataclass(frozen=True)
class CameraOnly:
    """A record with a camera and no identity field at all."""

    path: str
    camid: int


class IdentityTrap:
    """A record whose identity raises when read."""

    def __init__(self, camid: int):
        self.camid = camid

    @property
    def pid(self) -> int:
        raise AssertionError("a signal read an identity")


def _target(seed: int, n: int) -> tuple[list[ImageRecord], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    records = [ImageRecord(f"/t/{i}.jpg", int(rng.integers(0, 6)), int(rng.integers(-1, 3))) for i in range(n)]
    labels = rng.integers(-1, 4, n)
    previous = rng.integers(-1, 4, n)
    feats = rng.normal(size=(n, 6)).astype(np.float32)
    return records, labels, previous, feats, feats + rng.normal(scale=0.5, size=feats.shape).astype(np.float32)


def _signals(records: list, labels, previous, feats, second) -> dict:
    return clustering_signals(labels, cameras=camera_ids(records), previous=previous, features=feats,
                              second_features=second)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(12, 40), st.randoms(use_true_random=False))
def test_signals_are_unchanged_when_the_identities_are_scrambled(seed, n, rnd) -> None:
    records, labels, previous, feats, second = _target(seed, n)
    pids = [r.pid for r in records]
    rnd.shuffle(pids)
    scrambled = [dataclasses.replace(r, pid=p + rnd.randint(0, 3) * 100) for r, p in zip(records, pids)]
    assert _signals(scrambled, labels, previous, feats, second) == _signals(records, labels, previous, feats, second)


def test_records_without_any_identity_give_the_same_signals() -> None:
    records, labels, previous, feats, second = _target(7, 30)
    expected = _signals(records, labels, previous, feats, second)
    assert _signals([CameraOnly(r.path, r.camid) for r in records], labels, previous, feats, second) == expected
    assert _signals([IdentityTrap(r.camid) for r in records], labels, previous, feats, second) == expected


def test_no_selection_module_names_an_identity_or_imports_the_data_or_training_layers() -> None:
    # The package's own source, read as code: no name, attribute or argument called pid / pids / label_quality,
    # and no import of raereid.data, raereid.engine or raereid.learners (where identities and records live).
    banned_names = {"pid", "pids", "true_pids", "label_quality"}
    found = []
    for path in sorted(Path(selection.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = (node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute)
                    else node.arg if isinstance(node, ast.arg) else None)
            if name in banned_names:
                found.append(f"{path.name}: {name}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{path.name}: imports {m}" for m in modules
                          if m.startswith(("raereid.data", "raereid.engine", "raereid.learners"))]
    assert len(list(Path(selection.__file__).parent.glob("*.py"))) >= 8  # the scan read the package
    assert found == []

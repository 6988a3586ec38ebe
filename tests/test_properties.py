"""Property-based tests (hypothesis) of the file-name parsers, the metrics, and the readers of checkpoints and images
(any bytes: a clear error naming the file, never a crash)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from raereid.data.filenames import parse_dukemtmc, parse_market1501, parse_msmt17
from raereid.evaluation import evaluate_rank

pids = st.integers(min_value=-1, max_value=9999)
cams = st.integers(min_value=1, max_value=9)


@given(pids, cams, st.integers(1, 9), st.integers(0, 999999), st.integers(0, 99))
def test_market_names_round_trip(pid: int, cam: int, seq: int, frame: int, box: int) -> None:
    person = f"{pid:04d}" if pid >= 0 else "-1"
    name = f"{person}_c{cam}s{seq}_{frame:06d}_{box:02d}.jpg"
    assert parse_market1501(name) == (pid, cam - 1)
    assert parse_dukemtmc(name) is None


@given(st.integers(0, 9999), cams, st.integers(0, 9999999))
def test_duke_names_round_trip(pid: int, cam: int, frame: int) -> None:
    name = f"{pid:04d}_c{cam}_f{frame:07d}.jpg"
    assert parse_dukemtmc(name) == (pid, cam - 1)
    assert parse_market1501(name) is None


@given(st.integers(0, 4100), st.integers(0, 999), st.integers(1, 15),
       st.sampled_from(["0303morning", "0113noon", "0302afternoon"]))
def test_msmt_names_round_trip(pid: int, idx: int, cam: int, when: str) -> None:
    assert parse_msmt17(f"{pid:04d}_{idx:03d}_{cam:02d}_{when}_0015_0.jpg") == (pid, cam - 1)


@given(st.text(max_size=30))
def test_parsers_never_crash(name: str) -> None:
    for parse in (parse_market1501, parse_dukemtmc, parse_msmt17):
        result = parse(name)
        assert result is None or (isinstance(result[0], int) and result[1] >= 0)


@st.composite
def ranking_problems(draw):
    nq, ng = draw(st.integers(1, 6)), draw(st.integers(2, 25))
    q_pids = draw(arrays(np.int64, nq, elements=st.integers(0, 4)))
    g_pids = draw(arrays(np.int64, ng, elements=st.integers(0, 4)))
    q_cams = draw(arrays(np.int64, nq, elements=st.integers(0, 2)))
    g_cams = draw(arrays(np.int64, ng, elements=st.integers(0, 2)))
    dist = draw(arrays(np.float32, (nq, ng), elements=st.floats(0, 10, width=32), unique=True))
    return dist, q_pids, g_pids, q_cams, g_cams


@settings(max_examples=60, deadline=None)
@given(ranking_problems(), st.randoms(use_true_random=False))
def test_metrics_bounded_monotone_and_gallery_order_invariant(problem, rnd) -> None:
    dist, q_pids, g_pids, q_cams, g_cams = problem
    valid = [((g_pids == p) & (g_cams != c)).any() for p, c in zip(q_pids, q_cams)]
    if not any(valid):
        return
    result = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, max_rank=10)
    cmc = result["cmc"]
    assert 0.0 <= result["mAP"] <= 1.0 and 0.0 <= result["mINP"] <= 1.0
    assert np.all(np.diff(cmc) >= 0) and 0.0 <= cmc[0] and cmc[-1] <= 1.0
    perm = np.array(rnd.sample(range(dist.shape[1]), dist.shape[1]))
    shuffled = evaluate_rank(dist[:, perm], q_pids, g_pids[perm], q_cams, g_cams[perm], max_rank=10)
    assert abs(shuffled["mAP"] - result["mAP"]) < 1e-9  # distinct distances: no ties, order must not matter
    np.testing.assert_allclose(shuffled["cmc"], cmc)


# ------------------------------------------------------------------ unreadable files: always a clear error
def _rae_checkpoint() -> bytes:
    """The bytes of a small, valid RAE model.pt (convnet_small, `full`), built once."""
    import io

    import torch

    from raereid.config import config_to_dict, load_config
    from raereid.config.variants import run_variant
    from raereid.engine.checkpoint import FORMAT, VERSION, ModelRecord
    from raereid.models.rae import RAE

    cfg = load_config("synthetic", ["data.height=32", "data.width=16", "model.decoder_channels=8,8",
                                    "model.fusion_dim=8", "model.fusion_out=8", "model.pretrained=none"])
    torch.manual_seed(0)
    model = RAE(cfg.model, run_variant("full"), 3, (32, 16))
    record = ModelRecord(config_to_dict(cfg), "full", 3, (32, 16), model.state_dict(), 5)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **record.to_state()}, buffer)
    return buffer.getvalue()


GOOD_CHECKPOINT = _rae_checkpoint()


@st.composite
def damaged(draw, good: bytes):
    """Random bytes (any length, sometimes behind a zip or pickle header), a truncation of `good`, or `good` with a
    few bytes overwritten."""
    kind = draw(st.sampled_from(["random", "truncated", "flipped"]))
    if kind == "random":
        head = draw(st.sampled_from([b"", b"PK\x03\x04", b"\x80\x02", b"\x80\x04\x95", good[:64]]))
        return head + draw(st.binary(max_size=400))
    if kind == "truncated":
        return good[:draw(st.integers(0, len(good) - 1))]
    data = bytearray(good)
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def _as_file(data: bytes, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


@settings(max_examples=300, deadline=None)
@given(damaged(GOOD_CHECKPOINT))
def test_any_bytes_as_a_checkpoint_load_or_fail_clearly(data: bytes) -> None:
    """Whatever the bytes, `load_model` (what every tool's --checkpoint goes through) returns a network or raises
    CheckpointError naming the file: never IndexError ('pop from empty list'), KeyError, TypeError..."""
    from raereid.errors import RaeReidError
    from raereid.inference.model_io import load_model

    path = _as_file(data, ".pt")
    try:
        load_model(path)
    except RaeReidError as exc:
        assert exc.where is not None and str(path) in exc.where and exc.fix, exc.message()
    finally:
        path.unlink()


def _good_images() -> dict[str, bytes]:
    """A small picture in every format Pillow writes here, for the image property test."""
    import io

    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 255, (24, 12, 3), dtype=np.uint8)
    out = {}
    for fmt, mode in [("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "P"), ("GIF", "P"), ("BMP", "RGB"), ("TIFF", "RGB"),
                      ("WEBP", "RGB"), ("PPM", "RGB"), ("ICO", "RGBA"), ("TGA", "RGB"), ("PCX", "RGB"),
                      ("SGI", "RGB"), ("DDS", "RGB"), ("JPEG2000", "RGB")]:
        buffer = io.BytesIO()
        try:
            Image.fromarray(pixels).convert(mode).save(buffer, fmt)
        except (OSError, KeyError, ValueError):  # a codec this Pillow was built without
            continue
        out[f"{fmt}-{mode}"] = buffer.getvalue()
    return out


GOOD_IMAGES = _good_images()


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(GOOD_IMAGES)).flatmap(lambda name: damaged(GOOD_IMAGES[name])))
def test_any_bytes_as_an_image_decode_or_fail_clearly(data: bytes) -> None:
    """Whatever Pillow refuses (corrupt, truncated, not an image, a decompression bomb, an unimplemented pixel
    format...), `load_rgb` raises DatasetError naming the file once; what it accepts comes back as RGB."""
    from raereid.data.images import load_rgb
    from raereid.errors import DatasetError

    path = _as_file(data, ".jpg")
    try:
        assert load_rgb(path).mode == "RGB"
    except DatasetError as exc:
        assert exc.where == str(path) and str(path) not in exc.what and exc.fix, exc.message()
    finally:
        path.unlink()

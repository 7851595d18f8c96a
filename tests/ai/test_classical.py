"""Model-free fill: only the hole changes, and a hole in a flat area gets that colour."""
from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.backends import classical
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.errors import RequestError
from aiart_desktop.ai.setup import default_engine


def _image_with_hole() -> tuple[np.ndarray, np.ndarray]:
    img = np.zeros((64, 64, 3), np.uint8)
    img[...] = (40, 120, 200)
    img[26:38, 26:38] = (230, 20, 20)  # the object to remove
    mask = np.zeros((64, 64), np.uint8)
    mask[24:40, 24:40] = 255
    return img, mask


@pytest.mark.parametrize("method", ["telea", "ns", "patchmatch"])
def test_fill_changes_only_the_hole_and_fills_with_the_surroundings(method: str) -> None:
    if method == "patchmatch" and not classical.patchmatch_available():
        pytest.skip("pypatchmatch's native library is not available here")
    img, mask = _image_with_hole()
    out = classical.fill(img, mask, method, seed=1)
    assert np.array_equal(out[mask == 0], img[mask == 0])
    hole = out[mask > 0].astype(int)
    assert np.abs(hole - (40, 120, 200)).max() <= 3  # the red square is gone


def test_auto_prefers_patchmatch_when_available() -> None:
    expected = "patchmatch" if classical.patchmatch_available() else "telea"
    assert classical.resolve_method("auto", 100) == expected
    assert classical.resolve_method("auto", classical.PATCHMATCH_MAX_HOLE + 1) == "telea"
    with pytest.raises(RequestError, match="unknown fill method"):
        classical.resolve_method("magic", 1)


def test_whole_region_selected_is_a_clear_error() -> None:
    img, _ = _image_with_hole()
    with pytest.raises(RequestError, match="nothing to fill it from"):
        classical.fill(img, np.full((64, 64), 255, np.uint8))


def test_engine_uses_classical_when_no_model_installed(doc_factory, empty_registry) -> None:
    doc = doc_factory()
    before = doc.flatten()
    req = make_request(doc, "inpaint", prompt="", batch_size=2)  # model "auto"
    result = default_engine(empty_registry, device="cpu").run(req)
    assert result.backend == "classical" and len(result.images) == 2
    assert result.seeds == [result.request.seed, result.request.seed + 1]
    layer = apply_result(doc, result, 1)
    after = doc.flatten()
    outside = doc.selection == 0
    assert np.array_equal(before[outside], after[outside])
    assert np.abs(after[50, 50, :3].astype(int) - (40, 120, 200)).max() <= 3
    assert layer.provenance is not None and layer.provenance["backend"] == "classical"
    doc.history.undo()
    assert layer not in doc.layers and np.array_equal(doc.flatten(), before)


def test_txt2img_without_model_says_how_to_add_one(doc_factory, empty_registry) -> None:
    req = make_request(doc_factory(), "txt2img", prompt="a cat")
    with pytest.raises(RequestError, match="model manager"):
        default_engine(empty_registry, device="cpu").run(req)


def test_classical_outpaint_extends_the_edge(doc_factory, empty_registry) -> None:
    doc = doc_factory(sel_rect=None)
    before = doc.flatten()
    req = make_request(doc, "outpaint", model="classical", direction="bottom", pixels=24)
    result = default_engine(empty_registry, device="cpu").run(req)
    layer = apply_result(doc, result)
    assert (doc.width, doc.height) == (128, 152)
    after = doc.flatten()
    assert np.array_equal(after[:128], before)
    assert np.abs(after[140, 5, :3].astype(int) - (40, 120, 200)).max() <= 3
    assert after[128:, :, 3].min() == 255 and layer.provenance["op"] == "outpaint"
    doc.history.undo()
    assert (doc.width, doc.height) == (128, 128) and layer not in doc.layers


# ---- variations, seeds, progress, cancel (PatchMatch on threads) -----------------------------
needs_patchmatch = pytest.mark.skipif(not classical.patchmatch_available(),
                                      reason="pypatchmatch's native library is not available")

STRIPES = ((200, 40, 40), (40, 60, 190))


def _stripes(h: int = 96, w: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Grainy vertical red / blue stripes 6 px wide, a tall dark bar across them, a hole over
    it."""
    grain = np.random.default_rng(5).integers(-12, 13, (h, w, 3))
    img = np.zeros((h, w, 3), int)
    img[...] = STRIPES[0]
    img[:, (np.arange(w) // 6) % 2 == 1] = STRIPES[1]
    img = np.clip(img + grain, 0, 255).astype(np.uint8)
    img[h // 4: 3 * h // 4, w // 2 - 5: w // 2 + 5] = (10, 10, 10)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 - 4: 3 * h // 4 + 4, w // 2 - 12: w // 2 + 12] = 255
    return img, mask


def _near_stripe_colours(pixels: np.ndarray) -> np.ndarray:
    d = [np.abs(pixels.astype(int) - c).max(axis=-1) for c in STRIPES]
    return np.minimum(*d) <= 40


def test_opencv_fills_once_for_every_variation() -> None:
    img, mask = _image_with_hole()
    a, b = classical.fill_many(img, mask, "telea", [5, 6])
    assert np.array_equal(a, b) and a is not b
    assert np.abs(a[mask > 0].astype(int) - (40, 120, 200)).max() <= 3


def test_orient_round_trips_every_orientation() -> None:
    a = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    seen = set()
    for k in range(classical.ORIENTATIONS):
        o = classical.orient(a, k)
        assert o.flags.c_contiguous and o.shape == ((7, 5, 3) if k & 4 else (5, 7, 3))
        assert np.array_equal(classical.unorient(o, k), a)
        assert np.array_equal(classical.unorient(classical.orient(a[..., 0], k), k), a[..., 0])
        seen.add(o.tobytes())
    assert len(seen) == classical.ORIENTATIONS  # eight different pictures


def test_consecutive_seeds_share_patchmatch_seed_in_waves() -> None:
    assert classical.split_seed(17) == (2, 1)
    keys = [classical.split_seed(s) for s in (7, 8, 9, 9, 10)]
    assert classical._waves(keys, 2) == [[(0, 7)], [(1, 0), (1, 1)], [(1, 2)]]
    assert classical._waves(keys, 4) == [[(0, 7)], [(1, 0), (1, 1), (1, 2)]]


@needs_patchmatch
def test_variations_are_what_their_seeds_give_alone_and_copy_the_surroundings() -> None:
    img, mask = _stripes()
    seeds = [14, 15, 16, 17]  # two PatchMatch seeds, four orientations, filled on threads
    outs = classical.fill_many(img, mask, "patchmatch", seeds)
    assert len(outs) == 4
    for seed, out in zip(seeds, outs, strict=True):
        assert np.array_equal(out, classical.fill(img, mask, "patchmatch", seed))
        assert np.array_equal(out[mask == 0], img[mask == 0])  # nothing outside changes
        hole = out[mask > 0]
        # The dark bar is gone; the hole is made of the stripes' colours, both of them.
        assert _near_stripe_colours(hole).mean() > 0.95
        for c in STRIPES:
            assert (np.abs(hole.astype(int) - c).max(axis=-1) <= 40).mean() > 0.2
    assert len({o.tobytes() for o in outs}) == 4  # four different variations


@needs_patchmatch
def test_engine_variation_is_reproduced_by_its_seed_alone(doc_factory, empty_registry) -> None:
    doc = doc_factory(colour=(90, 160, 60, 255))
    yy, xx = np.mgrid[0:128, 0:128]
    grain = np.zeros((128, 128, 4), np.uint8)
    grain[..., 0] = 80 + (xx * 7 + yy * 3) % 40
    grain[..., 1] = 150 + (xx * 5) % 30
    grain[..., 2] = 50 + (yy * 11) % 25
    grain[..., 3] = 255
    grain[44:60, 44:60] = (230, 20, 20, 255)
    doc.add_layer("paint", pixels=grain)
    engine = default_engine(empty_registry, device="cpu")
    two = engine.run(make_request(doc, "inpaint", prompt="", model="classical", seed=41,
                                  batch_size=2))
    assert two.seeds == [41, 42] and not np.array_equal(two.images[0], two.images[1])
    alone = engine.run(make_request(doc, "inpaint", prompt="", model="classical", seed=42))
    assert np.array_equal(alone.images[0], two.images[1])
    sel = two.request.selection()
    assert np.array_equal(two.images[1][sel == 0], two.request.image[..., :3][sel == 0])
    assert np.abs(two.images[1][sel > 0].astype(int) - (230, 20, 20)).max(axis=-1).min() > 60


@needs_patchmatch
def test_fill_reports_progress_while_it_runs(monkeypatch, doc_factory, empty_registry) -> None:
    monkeypatch.setattr(classical, "POLL_S", 0.002)  # report often, so the run shows steps
    monkeypatch.setattr(classical, "_speed", classical._Speed())  # the default estimate
    img, mask = _stripes(240, 320)
    reports: list[tuple[int, int, str]] = []
    outs = classical.fill_many(img, mask, "patchmatch", [3, 4],
                               on_progress=lambda *r: reports.append(r))
    assert len(outs) == 2
    steps = [r[0] for r in reports]
    assert {r[1] for r in reports} == {2 * classical.STEPS}  # an honest total, all along
    assert steps == sorted(steps) and steps[-1] == 2 * classical.STEPS
    assert any(0 < s < 2 * classical.STEPS for s in steps)  # the bar moved during the fill
    assert all(r[2].startswith("filling 2 variations") for r in reports)
    # Through the engine: ProgressInfo with the same honest total, ending full.
    doc = doc_factory()
    infos = []
    default_engine(empty_registry, device="cpu").run(
        make_request(doc, "inpaint", prompt="", model="classical", batch_size=3), infos.append)
    assert infos and {p.total for p in infos} == {3 * classical.STEPS}
    assert infos[-1].step == infos[-1].total and infos[-1].phase.startswith("filling")


def test_estimated_fraction_moves_but_never_claims_the_end() -> None:
    f = [classical._estimated_fraction(t, 2.0) for t in np.linspace(0, 20, 200)]
    assert f == sorted(f) and f[0] == 0.0 and max(f) < 0.99
    assert abs(classical._estimated_fraction(1.8, 2.0) - 0.9) < 1e-9


@needs_patchmatch
def test_cancel_during_a_fill_stops_the_job(doc_factory, empty_registry) -> None:
    from aiart_desktop.ai.errors import Cancelled

    doc = doc_factory()
    engine = default_engine(empty_registry, device="cpu")
    seen: list[int] = []
    with pytest.raises(Cancelled):
        engine.run(make_request(doc, "inpaint", prompt="", model="classical", batch_size=2),
                   lambda p: seen.append(p.step), lambda: bool(seen))
    assert seen and max(seen) < 2 * classical.STEPS  # it stopped before the end
    result = engine.run(make_request(doc, "inpaint", prompt="", model="classical"))
    assert np.abs(result.images[0][20, 20].astype(int) - (40, 120, 200)).max() <= 3

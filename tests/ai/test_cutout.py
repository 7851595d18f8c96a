"""Select Subject / Remove Background (ai/cutout.py, ai/backends/matte.py, the engine's
"subject" op) with a tiny ONNX graph of BiRefNet's interface (tests/support/tiny_matte.py:
dark paint is the subject), loaded through the app's own loader and engine."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from aiart_desktop.ai import cutout
from aiart_desktop.ai.backends import matte
from aiart_desktop.ai.errors import AiError, Cancelled, ModelLoadError, RequestError
from aiart_desktop.ai.models.catalogue import MATTING, catalogue_entry, matting_entry
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.requests import SubjectRequest
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from tests.support.tiny_lama import tiny_lama
from tests.support.tiny_matte import install_tiny_matte, tiny_matte

INK = (20, 20, 30, 255)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    install_tiny_matte(reg)
    return reg


def _disc_doc(w: int = 300, h: int = 200, centre: tuple[int, int] = (150, 100),
              r: int = 50) -> Document:
    """White paper with a dark disc painted on a layer of its own."""
    doc = Document.new(w, h, (255, 255, 255, 255))
    ink = np.zeros((h, w, 4), np.uint8)
    cv2.circle(ink, centre, r, INK, -1)
    doc.add_layer("Ink", pixels=ink)
    return doc


def _disc(w: int, h: int, centre: tuple[int, int], r: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.circle(m, centre, r, 255, -1)
    return m


def test_matte_finds_the_dark_subject_with_a_soft_edge(tmp_path: Path) -> None:
    rgb = np.full((240, 320, 3), 255, np.uint8)
    cv2.circle(rgb, (160, 120), 60, INK[:3], -1, lineType=cv2.LINE_AA)
    soft = matte.matte(rgb, tiny_matte(tmp_path / "m.onnx"))
    assert soft.shape == (240, 320) and soft.dtype == np.uint8
    inside = cv2.erode(_disc(320, 240, (160, 120), 60), np.ones((7, 7), np.uint8)) > 0
    outside = cv2.dilate(_disc(320, 240, (160, 120), 60), np.ones((7, 7), np.uint8)) == 0
    assert soft[inside].min() >= 250 and soft[outside].max() <= 5
    edge = ~inside & ~outside
    assert ((soft[edge] > 10) & (soft[edge] < 245)).any()  # soft, not a hard cut
    assert matte.load(tmp_path / "m.onnx").size == (1024, 1024)


def test_the_interface_is_read_from_the_session(tmp_path: Path) -> None:
    rgb = np.full((100, 100, 3), 255, np.uint8)
    rgb[30:70, 30:70] = 0
    for path in (tiny_matte(tmp_path / "named.onnx", ("img", "alpha")),
                 tiny_matte(tmp_path / "open.onnx", size=None),
                 tiny_matte(tmp_path / "probs.onnx", probabilities=True)):
        soft = matte.matte(rgb, path)
        assert soft[40:60, 40:60].min() >= 250 and soft[:20].max() <= 5, path.name
    assert matte.load(tmp_path / "open.onnx").size == (matte.SIZE, matte.SIZE)


def test_bad_files_get_two_plain_lines_naming_them(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a network at all")
    for path, words in ((bad, "damaged"), (tmp_path / "gone.onnx", "missing"),
                        (tiny_lama(tmp_path / "lama.onnx"), "not a background-removal")):
        with pytest.raises(ModelLoadError) as err:
            matte.load(path)
        text = str(err.value)
        assert path.name in text and words in text and len(text.splitlines()) <= 2


def test_select_subject_through_the_engine(registry: ModelRegistry) -> None:
    doc = _disc_doc()
    req = cutout.subject_request(doc)
    assert isinstance(req, SubjectRequest) and req.rect == doc.rect and req.scale == 1.0
    seen: list[str] = []
    result = default_engine(registry, device="cpu").run(req, lambda p: seen.append(p.phase))
    assert result.backend == "matte" and result.model_name == "BiRefNet"
    assert seen and all(s == matte.PHASE for s in seen)
    assert result.images == [] and result.alpha.shape == (200, 300)
    sel = cutout.subject_selection(doc, result)
    assert sel is not None
    inside = cv2.erode(_disc(300, 200, (150, 100), 50), np.ones((7, 7), np.uint8)) > 0
    outside = cv2.dilate(_disc(300, 200, (150, 100), 50), np.ones((7, 7), np.uint8)) == 0
    assert sel[inside].min() >= 250 and sel[outside].max() <= 5
    back = cutout.background_selection(doc, result)
    assert np.array_equal(back.astype(int), 255 - sel.astype(int))
    rec = result.record()
    assert rec["op"] == "subject" and rec["backend"] == "matte"


def test_a_huge_canvas_is_sent_small_and_the_mask_comes_back_full_size(
        registry: ModelRegistry) -> None:
    doc = _disc_doc(4000, 3000, (2000, 1500), 800)
    req = cutout.subject_request(doc)
    assert req.image is not None and max(req.image.shape[:2]) == cutout.MAX_SIDE
    assert req.image.shape[:2] == (768, 1024)
    result = default_engine(registry, device="cpu").run(req)
    assert result.alpha.shape == (3000, 4000)
    mask = cutout.subject_mask(doc, result)
    assert mask[1500, 2000] >= 250 and mask[100, 100] <= 5 and mask[1500, 3300] <= 5


def test_remove_background_keeps_the_subject_on_a_new_layer_and_destroys_nothing(
        registry: ModelRegistry) -> None:
    # the subject is found on the active layer's own pixels: a dark disc on a light card
    doc = Document.new(300, 200, (90, 160, 90, 255))
    card = np.zeros((200, 300, 4), np.uint8)
    card[20:180, 40:260] = (250, 250, 245, 255)
    cv2.circle(card, (150, 100), 50, INK, -1)
    layer = doc.add_layer("Card", pixels=card)
    layer.opacity = 0.8
    before_layer = layer.read(doc.rect).copy()
    before = doc.flatten().copy()
    result = default_engine(registry, device="cpu").run(cutout.subject_request(doc, layer))
    assert result.rect == Rect(40, 20, 220, 160)   # the layer's bounds
    n, steps = len(doc.layers), doc.history.undo_count
    cut = cutout.remove_background(doc, layer, result)
    assert doc.history.undo_count == steps + 1 and doc.history.undo_text == "Remove background"
    assert len(doc.layers) == n + 1 and cut.name == "Card (subject)"
    assert doc.active is cut and cut.visible and not layer.visible
    assert cut.opacity == pytest.approx(0.8)
    assert cut.parent is layer.parent
    assert cut.parent.children.index(cut) == cut.parent.children.index(layer) + 1
    px = cut.read(doc.rect)
    inside = cv2.erode(_disc(300, 200, (150, 100), 50), np.ones((7, 7), np.uint8)) > 0
    assert (px[inside] == INK).all()                 # the subject, untouched
    card_only = (card[..., 3] > 0) & (cv2.dilate(_disc(300, 200, (150, 100), 50),
                                                 np.ones((9, 9), np.uint8)) == 0)
    assert px[card_only][:, 3].max() <= 2            # the card is gone from the new layer
    assert np.array_equal(layer.read(doc.rect), before_layer)   # the original is kept whole
    doc.history.undo()                               # one undo step brings it all back
    assert len(doc.layers) == n and layer.visible
    assert np.array_equal(doc.flatten(), before)
    doc.history.redo()
    assert len(doc.layers) == n + 1 and not layer.visible


def test_without_a_model_the_message_says_what_to_install(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "empty", allow_pickle=False)
    with pytest.raises(RequestError) as err:
        default_engine(reg, device="cpu").run(cutout.subject_request(_disc_doc()))
    assert str(err.value) == cutout.SUBJECT_HINT and "BiRefNet" in str(err.value)
    assert reg.matting() is None and not reg.is_downloaded(matting_entry().id)


def test_cancel_and_bad_requests(registry: ModelRegistry) -> None:
    engine = default_engine(registry, device="cpu")
    with pytest.raises(Cancelled):
        engine.run(cutout.subject_request(_disc_doc()), None, lambda: True)
    doc = _disc_doc()
    empty = doc.add_layer("Empty")
    with pytest.raises(RequestError, match="“Empty” is empty"):
        cutout.subject_request(doc, empty)
    with pytest.raises(RequestError):
        SubjectRequest(rect=doc.rect, image=np.zeros((10, 10, 4), np.uint8))  # wrong size
    with pytest.raises(RequestError):
        SubjectRequest(rect=doc.rect, image=np.zeros((200, 300, 4), np.uint8), scale=1.5)
    result = engine.run(cutout.subject_request(doc))
    doc.resize_canvas(400, 200)
    with pytest.raises(AiError, match="canvas changed size"):
        cutout.subject_selection(doc, result)


def test_catalogue_and_registry(registry: ModelRegistry) -> None:
    entry = catalogue_entry("birefnet-lite")
    assert entry is not None and entry.arch == MATTING and entry.kind == "matting"
    assert entry.licence.startswith("MIT") and entry.size_mb == 224
    assert registry.matting() == registry.catalogue_folder(entry.id) / "onnx" / "model.onnx"
    assert registry.is_downloaded(entry.id)

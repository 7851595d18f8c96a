"""Select Object's headless half (issue 18): a tiny random-weight Segment Anything model
(tests/support/tiny_sam.py: transformers' `SamModel`, saved with its processor settings) found
by the model registry and loaded through the app's own loader (ai/backends/local_segment.py).
Random weights make arbitrary masks: the tests check sizes, values, determinism, the cached
embedding, the mapping between document and picture coordinates, agreement with the bare
transformers call, and the messages for missing and bad models — not what the masks mean."""
from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiart_desktop.ai.backends.local_segment import Segmenter
from aiart_desktop.ai.errors import AiError, Cancelled, RequestError, UnsafeCheckpointError
from aiart_desktop.ai.models.catalogue import SEGMENTER, catalogue_entry, segmenter_entries
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.models.source import ModelSource
from aiart_desktop.ai.segment import SEGMENT_HINT, View, document_mask
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from tests.support.tiny_sam import build_sam


@pytest.fixture(scope="module")
def sam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sam(tmp_path_factory.mktemp("sam") / "tiny-sam")


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter()


def _picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pic = np.zeros((h, w, 3), np.uint8)
    pic[:] = (40, 90, 160)
    pic[h // 4: 3 * h // 4, w // 5: w // 2] = (230, 60, 30)          # a "thing" on a ground
    return np.clip(pic + rng.integers(0, 30, pic.shape), 0, 255).astype(np.uint8)


def _short(exc: BaseException, name: str) -> None:
    text = str(exc)
    assert len(text.splitlines()) <= 2, text
    assert f"\u201c{name}\u201d" in text, text


def test_a_click_gives_a_picture_sized_0_255_mask_deterministically(sam: Path,
                                                                    seg: Segmenter) -> None:
    pic = _picture(50, 90)
    emb = seg.embed(pic, sam)
    mask = seg.segment(emb, [(30.0, 25.0, +1)])
    assert mask.shape == (50, 90) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255} and 0 < mask.mean() < 255
    assert np.array_equal(seg.segment(emb, [(30.0, 25.0, +1)]), mask)
    assert not np.array_equal(seg.segment(emb, [(80.0, 5.0, +1)]), mask)   # the point matters
    with pytest.raises(RequestError, match="click on an object"):
        seg.segment(emb, [])


def test_the_embedding_is_computed_once_per_picture(sam: Path) -> None:
    seg = Segmenter()
    pic = _picture(40, 40)
    emb = seg.embed(pic, sam)
    for x in (5.0, 20.0, 35.0):
        assert seg.embed(pic.copy(), sam) is emb                 # same pixels: same embedding
        seg.segment(emb, [(x, 10.0, 1)])
    assert seg.embeds_computed == 1
    changed = pic.copy()
    changed[0, 0] ^= 1
    other = seg.embed(changed, sam)
    assert other is not emb and seg.embeds_computed == 2 and seg.cached is other
    # a caller's key (the document's revision and region) names the picture: no hashing
    a = seg.embed(pic, sam, key=("doc", 7, Rect(0, 0, 40, 40)))
    assert seg.embed(changed, sam, key=("doc", 7, Rect(0, 0, 40, 40))) is a
    seg.embed(pic, sam, key=("doc", 8, Rect(0, 0, 40, 40)))
    assert seg.embeds_computed == 4
    seg.drop_embedding()
    assert seg.cached is None


def test_points_and_a_box_in_one_call_match_the_bare_transformers_call(sam: Path,
                                                                       seg: Segmenter) -> None:
    import torch
    from transformers import SamModel, SamProcessor

    pic = _picture(48, 80, seed=3)
    emb = seg.embed(pic, sam)
    points, box = [(25.0, 20.0, +1), (60.0, 40.0, -1)], (10.0, 8.0, 50.0, 40.0)
    mine = seg.segment(emb, points, box, multimask=True)
    assert mine.shape == (48, 80) and set(np.unique(mine)) <= {0, 255}
    assert seg.segment(emb, points, box).shape == (48, 80)          # single-mask output
    assert seg.segment(emb, [], box).shape == (48, 80)              # a box alone

    model = SamModel.from_pretrained(str(sam), local_files_only=True).eval()
    proc = SamProcessor.from_pretrained(str(sam), local_files_only=True)
    inputs = proc(images=pic, input_points=[[[[25.0, 20.0], [60.0, 40.0]]]],
                  input_labels=[[[1, 0]]], input_boxes=[[[10.0, 8.0, 50.0, 40.0]]],
                  return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, multimask_output=True)
    masks = proc.post_process_masks(out.pred_masks, inputs["original_sizes"],
                                    inputs["reshaped_input_sizes"])[0]
    raw = masks[0, int(out.iou_scores[0, 0].argmax())].numpy()
    assert np.array_equal(mine == 255, raw)


def test_points_in_document_coordinates_land_where_the_crop_is(sam: Path,
                                                               seg: Segmenter) -> None:
    doc_w, doc_h, crop = 200, 160, Rect(70, 40, 90, 50)
    picture = _picture(doc_h, doc_w, seed=5)
    region = picture[crop.slices()]
    local = seg.segment(seg.embed(region, sam), [(30.0, 20.0, 1)])
    emb = seg.embed(region, sam, View(crop.x, crop.y))
    mask = seg.select(emb, [(crop.x + 30.0, crop.y + 20.0, 1)], None, doc_w, doc_h)
    assert mask.shape == (doc_h, doc_w) and mask.dtype == np.uint8
    assert np.array_equal(mask[crop.slices()], local)
    outside = mask.copy()
    outside[crop.slices()] = 0
    assert not outside.any() and sel.bounds(mask).intersect(crop) == sel.bounds(mask)
    # the mask goes into the document's selection as every selection does (Shift+click: ADD)
    doc = Document(doc_w, doc_h)
    doc.set_selection(sel.combine(doc.selection, mask, sel.Op.ADD))
    assert np.array_equal(doc.selection, mask)


def test_a_scaled_down_picture_maps_back_to_the_document(sam: Path, seg: Segmenter) -> None:
    doc_w, doc_h, rect = 400, 300, Rect(100, 60, 240, 160)
    big = _picture(rect.h, rect.w, seed=9)
    small = big[::2, ::2]                                        # 120 x 80: half the size
    view = View.of(rect, small.shape[1])
    assert view.scale == 0.5
    emb = seg.embed(small, sam, view)
    pic_mask = seg.segment(emb, [(rect.x + 60.0, rect.y + 40.0, 1)])
    assert pic_mask.shape == small.shape[:2]
    assert np.array_equal(pic_mask, seg.segment(seg.embed(small, sam), [(30.0, 20.0, 1)]))
    mask = seg.select(emb, [(rect.x + 60.0, rect.y + 40.0, 1)], None, doc_w, doc_h)
    assert mask.shape == (doc_h, doc_w)
    assert sel.bounds(mask).intersect(rect) == sel.bounds(mask)
    assert abs(mask[rect.slices()].mean() - pic_mask.mean()) < 255 * 0.03
    # a picture reaching past the canvas is clipped to it
    edge = document_mask(np.full((10, 10), 255, np.uint8), View(95, -5), 100, 100)
    assert edge.shape == (100, 100) and edge.sum() == 255 * 5 * 5


def test_cancel_between_encoder_layers_and_progress(sam: Path) -> None:
    seg, seen = Segmenter(), []
    with pytest.raises(Cancelled):
        seg.embed(_picture(30, 30), sam, cancelled=lambda: True)
    assert seg.embeds_computed == 0 and seg.cached is None
    seg.embed(_picture(30, 30), sam, on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 2), (1, 2), (2, 2)]


def test_missing_corrupt_and_pickle_only_models_are_short_errors(tmp_path: Path,
                                                                 sam: Path) -> None:
    seg, pic = Segmenter(), _picture(20, 20)
    with pytest.raises(AiError) as info:
        seg.embed(pic, tmp_path / "gone-sam")
    _short(info.value, "gone-sam")
    assert "Segment Anything" in str(info.value)

    corrupt = tmp_path / "corrupt-sam"
    shutil.copytree(sam, corrupt)
    (corrupt / "config.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(AiError) as info:
        seg.embed(pic, corrupt)
    _short(info.value, "corrupt-sam")

    pickled = build_sam(tmp_path / "pickled-sam", pickle=True)
    assert (pickled / "pytorch_model.bin").is_file()
    with pytest.raises(UnsafeCheckpointError) as info:
        seg.embed(pic, pickled)
    _short(info.value, "pickled-sam")

    broken = tmp_path / "broken-sam"
    shutil.copytree(sam, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 4)
    with pytest.raises(AiError) as info:
        seg.embed(pic, broken)
    assert len(str(info.value).splitlines()) <= 2 and "model.safetensors" in str(info.value)
    assert seg.embeds_computed == 0


def test_the_registry_lists_installed_segmenters_and_says_what_to_install(
        tmp_path: Path, sam: Path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    assert isinstance(reg, ModelSource) and reg.segmenters() == []
    with pytest.raises(RequestError) as info:
        reg.segmenter()
    assert str(info.value) == SEGMENT_HINT and "Select Object" in SEGMENT_HINT
    with pytest.raises(RequestError, match="not downloaded"):
        reg.segmenter("sam-vit-base")
    assert not reg.is_downloaded("sam-vit-base")

    shutil.copytree(sam, reg.catalogue_folder("sam-vit-base"))
    shutil.copytree(sam, reg.root / "segmenters" / "my-sam")
    build_sam(reg.root / "segmenters" / "old-sam", pickle=True)   # refused, not listed
    found = reg.segmenters()
    assert [(s.id, s.family) for s in found] == [("sam-vit-base", "sam"),
                                                  ("segmenters/my-sam", "sam")]
    assert reg.is_downloaded("sam-vit-base") and reg.segmenter().id == "sam-vit-base"
    assert found[0].licence.startswith("Apache-2.0")
    assert reg.segmenter("segmenters/my-sam").path == reg.root / "segmenters" / "my-sam"
    with pytest.raises(RequestError):
        reg.segmenter("sd-turbo")
    with pytest.raises(RequestError):
        reg.segmenter("../../elsewhere")
    assert reg.segmenters()[0].id not in reg.problems()
    assert all(m.arch != SEGMENTER for m in reg.installed())     # never a model that paints
    (reg.catalogue_folder("sam-vit-base") / "model.safetensors").unlink()
    assert "sam-vit-base" in reg.problems() and not reg.is_downloaded("sam-vit-base")

    seg = Segmenter()                                            # loaded through the registry
    info_ = reg.segmenter()
    mask = seg.segment(seg.embed(_picture(32, 48), info_.path), [(10.0, 10.0, 1)])
    assert mask.shape == (32, 48)


def test_the_catalogue_offers_sam_with_size_and_licence() -> None:
    entry = catalogue_entry("sam-vit-base")
    assert entry is not None and entry in segmenter_entries()
    assert (entry.repo_id, entry.kind, entry.size_mb) == ("facebook/sam-vit-base", SEGMENTER, 375)
    assert entry.licence.startswith("Apache-2.0") and entry.licence_url
    assert "model.safetensors" in entry.allow_patterns
    assert not any(p.endswith(".bin") for p in entry.allow_patterns)


def test_nothing_phones_home(sam: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    assert os.environ.get("HF_HUB_OFFLINE") == "1"

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    seg = Segmenter()
    mask = seg.segment(seg.embed(_picture(24, 24), sam), [(5.0, 5.0, 1)], (0.0, 0.0, 20.0, 20.0))
    assert mask.shape == (24, 24)


def test_the_catalogue_download_lands_where_the_registry_finds_it(
        sam: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only on request, through models/downloads.py (a stand-in hub serving the tiny files):
    the three files of the catalogue entry, checked, then loaded by the segmenter."""
    from aiart_desktop.ai.models import downloads
    from aiart_desktop.ai.models.segmenters import SegmenterInfo
    from tests.ai.test_models import _FakeHub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    hub = _FakeHub(sam)
    monkeypatch.setattr(downloads, "_hub", lambda: hub)
    info = reg.download("sam-vit-base")
    assert isinstance(info, SegmenterInfo) and info.path == reg.catalogue_folder("sam-vit-base")
    assert sorted(hub.fetched) == ["config.json", "model.safetensors",
                                   "preprocessor_config.json"]
    assert reg.is_downloaded("sam-vit-base") and reg.problems() == {}
    seg = Segmenter()
    assert seg.segment(seg.embed(_picture(16, 24), info.path), [(4.0, 4.0, 1)]).shape == (16, 24)


def test_the_picture_of_a_huge_canvas_region_is_scaled_and_mapped_back(sam: Path) -> None:
    from aiart_desktop.ai.segment import picture_for

    doc = Document(2600, 1800)
    layer = doc.add_layer(name="thing")
    pixels = np.zeros((600, 900, 4), np.uint8)
    pixels[..., 0], pixels[..., 3] = 200, 255
    doc.put_pixels(layer, 1200, 700, pixels)
    rect = Rect(1000, 500, 1600, 1200)
    picture, view = picture_for(doc, rect, max_side=160)
    assert picture.shape == (120, 160, 3) and picture.dtype == np.uint8
    assert (view.x, view.y, view.scale) == (1000, 500, 0.1)
    assert tuple(picture[0, 0]) == (255, 255, 255)               # transparent: over white
    assert tuple(picture[40, 50]) == (200, 0, 0)                 # the layer at (1500, 900)
    seg = Segmenter()
    emb = seg.embed(picture, sam, view)
    mask = seg.select(emb, [(1500.0, 900.0, 1)], None, doc.width, doc.height)
    assert mask.shape == (1800, 2600) and sel.bounds(mask).intersect(rect) == sel.bounds(mask)
    doc.set_selection(mask)                                       # the revision moves on...
    picture2, view2 = picture_for(doc, rect, max_side=160)
    assert seg.embed(picture2, sam, view2) is emb and seg.embeds_computed == 1   # ...not the key
    with pytest.raises(RequestError):
        picture_for(doc, Rect(5000, 5000, 10, 10))

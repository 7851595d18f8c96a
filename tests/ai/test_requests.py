"""Request records: frozen copies, validation, provenance records and A1111 parameters."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.errors import RequestError
from aiart_desktop.ai.outpaint import OutpaintLayout, outpaint_plan
from aiart_desktop.ai.records.export_parameters import parameters_text
from aiart_desktop.ai.requests import InpaintRequest, OutpaintRequest, Txt2ImgRequest
from aiart_desktop.core.geometry import Rect


def test_request_holds_frozen_copies(doc_factory) -> None:
    doc = doc_factory()
    req = make_request(doc, "inpaint", prompt="a boat", seed=3, model="classical")
    assert isinstance(req, InpaintRequest)
    assert req.rect.w % 8 == 0 and req.rect.h % 8 == 0
    assert req.rect.contains_rect(Rect(40, 40, 24, 24))
    assert req.image is not None and req.image.shape == (req.rect.h, req.rect.w, 4)
    assert req.mask is not None and req.mask.max() == 255
    before = req.image.copy()
    doc.put_pixels(doc.layers[0], req.rect.x, req.rect.y,
                   np.zeros((req.rect.h, req.rect.w, 4), np.uint8))
    assert np.array_equal(req.image, before)  # a copy, not a view of the document
    with pytest.raises(ValueError):
        req.image[0, 0, 0] = 1  # read-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.prompt = "other"  # type: ignore[misc]
    assert req.revision == doc.revision - 1 and req.canvas_size == (128, 128)


def test_validation_messages() -> None:
    r = Rect(0, 0, 8, 8)
    with pytest.raises(RequestError, match="scheduler"):
        Txt2ImgRequest(rect=r, scheduler="nope")
    with pytest.raises(RequestError, match="steps"):
        Txt2ImgRequest(rect=r, steps=0)
    with pytest.raises(RequestError, match="strength"):
        Txt2ImgRequest(rect=r, strength=1.5)
    with pytest.raises(RequestError, match="empty"):
        Txt2ImgRequest(rect=Rect(0, 0, 0, 0))
    with pytest.raises(RequestError, match="image"):
        InpaintRequest(rect=r, image=np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(RequestError, match="direction"):
        OutpaintRequest(rect=r, direction="up")


def test_seed_random_when_unset_and_record_is_json() -> None:
    req = Txt2ImgRequest(rect=Rect(0, 0, 64, 64), prompt="sky", batch_size=3)
    assert req.seed is None
    fixed = req.with_seed()
    assert fixed.seed is not None and fixed.seeds == [fixed.seed + i for i in range(3)]
    rec = fixed.to_record()
    assert json.loads(json.dumps(rec)) == rec
    assert rec["op"] == "txt2img" and rec["seed"] == fixed.seed


def test_parameters_a1111_format() -> None:
    req = InpaintRequest(rect=Rect(0, 0, 512, 512), prompt="a red boat",
                         negative_prompt="blurry", seed=123, steps=20, guidance=7.0,
                         model="sd15", strength=0.75)
    text = req.parameters((512, 512))
    lines = text.split("\n")
    assert lines[0] == "a red boat"
    assert lines[1] == "Negative prompt: blurry"
    assert lines[2].startswith("Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, "
                               "Size: 512x512, Model: sd15, Denoising strength: 0.75")
    rec = {"prompt": "p", "steps": 4, "scheduler": "dpmpp_2m", "guidance": 1.5, "seed": 1,
           "rect": [0, 0, 64, 32], "op": "txt2img", "model": "m"}
    assert "Sampler: DPM++ 2M, CFG scale: 1.5, Seed: 1, Size: 64x32" in parameters_text(rec)


def test_outpaint_geometry() -> None:
    assert outpaint_plan(100, 50, "left", 16) == (116, 50, 16, 0, Rect(0, 0, 16, 50))
    assert outpaint_plan(100, 50, "bottom", 16) == (100, 66, 0, 0, Rect(0, 50, 100, 16))
    lay = OutpaintLayout.plan((100, 50), Rect(36, 0, 64, 50), "right", 16)
    assert lay.region == Rect(36, 0, 80, 50) and lay.strip == Rect(0, 0, 64, 50)
    assert lay.mask[:, 64:].min() == 255 and lay.mask[:, :64].max() == 0
    lay = OutpaintLayout.plan((100, 50), Rect(0, 0, 100, 64 - 14), "top", 8)
    assert lay.region == Rect(0, 0, 100, 58) and lay.strip == Rect(0, 8, 100, 50)
    assert lay.mask[:8].min() == 255 and lay.mask[8:].max() == 0


def test_make_request_kinds(doc_factory) -> None:
    doc = doc_factory()
    t = make_request(doc, "txt2img", prompt="x")
    assert t.image is None and t.rect == Rect(40, 40, 24, 24)
    o = make_request(doc, "outpaint", direction="right", pixels=32)
    assert isinstance(o, OutpaintRequest) and o.rect.right == 128 and o.image is not None
    doc.set_selection(None)
    i = make_request(doc, "img2img")
    assert i.rect == doc.rect and i.mask is not None and i.mask.min() == 255
    with pytest.raises(RequestError):
        make_request(doc, "paint")

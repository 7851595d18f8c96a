"""Image > Provenance on a real window, offscreen: AI layers, their shares, the total, the
record of the selected row; and File > Export writing the parameters chunk."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QApplication

from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.selection import rect_mask
from aiart_desktop.qt.dialogs.provenance import COLUMNS, ProvenanceDialog


def ai_document() -> Document:
    """200x100 painted picture; the real classical engine fills the left half (feathered at
    its inner edge), then a 50 % painted stroke covers the left quarter of the canvas."""
    doc = Document.new(200, 100)
    rng = np.random.default_rng(5)
    px = rng.integers(0, 256, (100, 200, 4), dtype=np.uint8)
    px[..., 3] = 255
    doc.put_pixels(doc.layers[0], 0, 0, px)
    doc.set_selection(rect_mask(200, 100, Rect(0, 0, 100, 100)))
    req = make_request(doc, "inpaint", prompt="a quiet harbour", model="classical", seed=99)
    layer = apply_result(doc, default_engine(device="cpu").run(req), 0)
    assert layer.bounds() == Rect(0, 0, 100, 100)
    assert (layer.read(Rect(0, 0, 50, 100))[..., 3] == 255).all()
    doc.set_selection(None)
    stroke = np.zeros((100, 50, 4), np.uint8)
    stroke[...] = (0, 0, 255, 255)
    doc.set_props(doc.add_layer("paint", pixels=stroke, x=0, y=0), opacity=0.5)
    return doc


def cells(dlg: ProvenanceDialog, row: int) -> dict[str, str]:
    return {c: dlg.table.item(row, i).text() for i, c in enumerate(COLUMNS)}


def test_provenance_dialog_from_the_image_menu(win, qtbot) -> None:
    doc = ai_document()
    win.set_document(doc)
    image_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Image")
    assert win.acts.provenance in image_menu.actions()
    win.acts.provenance.trigger()
    QApplication.processEvents()
    dlg = win.findChild(ProvenanceDialog)
    assert dlg is not None and dlg.isVisible()
    assert dlg.table.rowCount() == 1
    row = cells(dlg, 0)
    assert row["Layer"] == "a quiet harbour" and row["Operation"] == "inpaint"
    assert row["Prompt"] == "a quiet harbour" and row["Seed"] == "99"
    assert row["Model"] == "classical"
    # left quarter (opaque AI): half survives the 50 % stroke; second quarter: the AI layer's
    # own (feathered) alpha; the rest is the painted background. Every pixel is opaque.
    ai_alpha = next(lay for lay in doc.layers if lay.provenance).read(Rect(0, 0, 100, 100))
    expected = (50 * 100 * 0.5 + ai_alpha[:, 50:, 3].sum() / 255) / (200 * 100)
    assert 0.3 < expected < 0.375
    assert row["Share"] == f"{expected * 100:.1f} %"
    assert dlg.total.text() == f"{expected * 100:.1f} % of the visible pixels came from a model"
    fields = [ln.split(None, 1) for ln in dlg.record.toPlainText().splitlines() if ln]
    assert fields[:2] == [["op", '"inpaint"'], ["prompt", '"a quiet harbour"']]
    assert ["seed", "99"] in fields
    assert "Seed: 99" in dlg.record.toPlainText()
    # edits show after Refresh; hiding the AI layer takes it to 0 %
    ai_layer = next(lay for lay in doc.layers if lay.provenance is not None)
    doc.set_props(ai_layer, visible=False)
    dlg.refresh_button.click()
    assert cells(dlg, 0)["Layer"] == "a quiet harbour (hidden)"
    assert cells(dlg, 0)["Share"] == "0.0 %"
    assert dlg.total.text().startswith("0.0 %")
    assert dlg.table.editTriggers() == dlg.table.EditTrigger.NoEditTriggers


def test_provenance_dialog_on_a_painted_picture(win) -> None:
    win.acts.provenance.trigger()
    dlg = win.findChild(ProvenanceDialog)
    assert dlg is not None and dlg.table.rowCount() == 0
    assert dlg.total.text() == "0.0 % of the visible pixels came from a model"
    assert "all painted" in dlg.note.text()


def test_window_export_writes_the_ai_layer_parameters(win, tmp_path: Path) -> None:
    win.set_document(ai_document())
    assert win.export_to(str(tmp_path / "ai.png"))
    with Image.open(tmp_path / "ai.png") as im:
        im.load()
        text = im.text["parameters"]
    assert text.startswith("a quiet harbour\n") and "Seed: 99" in text
    win.set_document(Document.new(32, 32))
    assert win.export_to(str(tmp_path / "plain.png"))
    with Image.open(tmp_path / "plain.png") as im:
        im.load()
        assert "parameters" not in im.text

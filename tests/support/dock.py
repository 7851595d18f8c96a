"""Helpers of the AI dock tests: the document they paint on, the window with the AI dock
installed, and the form filled in as a user would. The tiny models and engine they use are the
`tiny_registry` / `tiny_engine` fixtures (`tests.support.models`); `stop_workers`
(`tests.support.window`) stops the dock's worker at the end of each test."""
from __future__ import annotations

from typing import Any

import numpy as np

from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect

SELECTION = Rect(72, 48, 40, 32)


def make_doc(w: int = 192, h: int = 128, selection: Rect | None = SELECTION) -> Document:
    """A background, a red square under the selection, and a rectangular selection."""
    doc = Document.new(w, h, (40, 120, 200, 255))
    square = np.zeros((24, 24, 4), np.uint8)
    square[...] = (230, 20, 20, 255)
    doc.put_pixels(doc.layers[0], 80, 52, square)
    if selection is not None:
        doc.set_selection(sel.rect_mask(w, h, selection))
    doc.history.clear()
    return doc


def dock_window(win: Any, registry: ModelRegistry | None, engine: Engine | None,
                doc: Document | None = None) -> Any:
    """The test window with the AI dock installed and raised, showing `doc`."""
    from aiart_desktop.qt.ai_dock import install_ai_dock

    panel = install_ai_dock(win, registry=registry, engine=engine)
    win.set_document(doc or make_doc())
    dock = win.docks["aiDock"]
    dock.show()
    dock.raise_()
    panel.refresh_models()
    return panel


def set_form(panel: Any, *, op: str = "inpaint", model: str = "tiny-inpaint",
             prompt: str = "a red boat", batch: int = 2, steps: int = 3) -> None:
    f = panel.form
    f.set_op(op)
    i = f.model.findData(model)
    assert i >= 0, f"model {model} not in the picker"
    f.model.setCurrentIndex(i)
    f.prompt.setPlainText(prompt)
    f.batch.setValue(batch)
    f.steps.setValue(steps)


RUN_TEXT = {"img2img": "Refine", "txt2img": "Generate", "outpaint": "Expand canvas"}


def set_expand(panel: Any, direction: str, pixels: int) -> None:
    """Expand canvas's Grow row: which side and how far."""
    f = panel.form
    f.direction.setCurrentIndex(f.direction.findData(direction))
    f.pixels.setValue(pixels)


def outside(doc: Document) -> np.ndarray:
    assert doc.selection is not None
    return doc.selection == 0

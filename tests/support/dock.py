"""Shared fixtures of the AI dock tests: tiny random-weight diffusers models (built by
`tests/ai/tiny_models.py`, once per session) registered through `ai.models` like user models,
an engine on the CPU, and the window with the AI dock installed; every test ends with the
worker thread stopped."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "ai"))

from tiny_models import build_sd

from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect

_BUILT: dict[str, Any] = {}
SELECTION = Rect(72, 48, 40, 32)


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    """A models folder holding a 4-channel and a 9-channel (inpaint) tiny SD model."""
    if "registry" not in _BUILT:
        base = tmp_path_factory.mktemp("qt-tiny-models")
        reg = ModelRegistry(base / "models", allow_pickle=False)
        reg.add_folder(build_sd(base / "sd"), name="tiny-sd")
        reg.add_folder(build_sd(base / "sd-inpaint", inpaint=True), name="tiny-inpaint")
        _BUILT["registry"] = reg
    return _BUILT["registry"]


@pytest.fixture(scope="session")
def tiny_engine(tiny_registry: ModelRegistry) -> Engine:
    if "engine" not in _BUILT:
        _BUILT["engine"] = Engine(tiny_registry, device="cpu")
    return _BUILT["engine"]


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


@pytest.fixture
def stop_workers() -> Iterator[list[Any]]:
    """Collects workers; at the end of the test each one is shut down and must have stopped."""
    workers: list[Any] = []
    yield workers
    for w in workers:
        w.shutdown()
        assert not w.thread_handle.isRunning()


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


def outside(doc: Document) -> np.ndarray:
    assert doc.selection is not None
    return doc.selection == 0


def registry_path(reg: ModelRegistry) -> Path:
    return reg.root

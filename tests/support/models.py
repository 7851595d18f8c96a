"""Tiny random-weight pipelines built once per test session, saved with `save_pretrained`, and
registered in a models folder through `aiart_desktop.ai.models.registry`, exactly like user
models."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from tiny_models import build_sd, build_sdxl, build_taesd

from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect

MODELS = ("sd", "sd-inpaint", "sdxl", "sdxl-inpaint")


def pytest_configure(config: pytest.Config) -> None:
    # diffusers' schedulers call np.array(tensor, copy=False)-style code that numpy 2 warns on.
    config.addinivalue_line("filterwarnings",
                            "ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="session")
def model_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tiny-models")
    return {
        "sd": build_sd(base / "sd"),
        "sd-inpaint": build_sd(base / "sd-inpaint", inpaint=True),
        "sdxl": build_sdxl(base / "sdxl"),
        "sdxl-inpaint": build_sdxl(base / "sdxl-inpaint", inpaint=True),
        "taesd": build_taesd(base / "taesd"),
    }


@pytest.fixture(scope="session")
def registry(model_folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
             ) -> ModelRegistry:
    reg = ModelRegistry(tmp_path_factory.mktemp("models"), allow_pickle=False)
    for name in MODELS:
        info = reg.add_folder(model_folders[name], name=name)
        assert info.id == name
    return reg


@pytest.fixture(scope="session")
def engine(registry: ModelRegistry) -> Engine:
    return Engine(registry, device="cpu")


@pytest.fixture
def empty_registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "no-models", allow_pickle=False)


SELECTION = Rect(40, 40, 24, 24)


def make_doc(size: int = 128, sel_rect: Rect | None = SELECTION,
             colour: tuple[int, int, int, int] = (40, 120, 200, 255)) -> Document:
    """A document with a flat background, a red square, and a rectangular selection."""
    doc = Document.new(size, size, colour)
    square = np.zeros((16, 16, 4), np.uint8)
    square[...] = (230, 20, 20, 255)
    doc.put_pixels(doc.layers[0], 44, 44, square)
    if sel_rect is not None:
        doc.set_selection(sel.rect_mask(size, size, sel_rect))
    return doc


@pytest.fixture
def doc_factory() -> Callable[..., Document]:
    return make_doc

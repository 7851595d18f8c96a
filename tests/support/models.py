"""Tiny random-weight models for the tests: pipelines built once per test session with the
builders of `tiny_models`, saved with `save_pretrained` and registered in a models folder
through `aiart_desktop.ai.models.registry`, exactly like user models; engines on the CPU.

Fixtures: `model_folders` (built lazily, by name), `registry` ("sd", "sd-inpaint", "sdxl",
"sdxl-inpaint"), `engine`, `empty_registry`, `doc_factory` (`make_doc` below), and for the
window tests `tiny_registry` ("tiny-sd", "tiny-inpaint") and `tiny_engine`.

`aiart_desktop.ai` is imported inside the fixtures, so a test that uses none of them
(tests/core) does not depend on it."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect

from .tiny_models import build_sd, build_sdxl, build_taesd

if TYPE_CHECKING:
    from aiart_desktop.ai.engine import Engine
    from aiart_desktop.ai.models.registry import ModelRegistry

MODELS = ("sd", "sd-inpaint", "sdxl", "sdxl-inpaint")
_BUILDERS: dict[str, Callable[[Path], Path]] = {
    "sd": build_sd,
    "sd-inpaint": lambda p: build_sd(p, inpaint=True),
    "sdxl": build_sdxl,
    "sdxl-inpaint": lambda p: build_sdxl(p, inpaint=True),
    "taesd": build_taesd,
}


class ModelFolders(Mapping[str, Path]):
    """The tiny model folders by name, each built on first use and kept for the session."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self._built: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._built:
            if name not in _BUILDERS:
                raise KeyError(name)
            import torch

            with torch.random.fork_rng():  # a build inside a test leaves its RNG as it was
                self._built[name] = _BUILDERS[name](self._base / name)
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_BUILDERS)

    def __len__(self) -> int:
        return len(_BUILDERS)


@pytest.fixture(scope="session")
def model_folders(tmp_path_factory: pytest.TempPathFactory) -> ModelFolders:
    return ModelFolders(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def registry(model_folders: ModelFolders, tmp_path_factory: pytest.TempPathFactory
             ) -> ModelRegistry:
    from aiart_desktop.ai.models.registry import ModelRegistry

    reg = ModelRegistry(tmp_path_factory.mktemp("models"), allow_pickle=False)
    for name in MODELS:
        info = reg.add_folder(model_folders[name], name=name)
        assert info.id == name
    return reg


@pytest.fixture(scope="session")
def engine(registry: ModelRegistry) -> Engine:
    from aiart_desktop.ai.setup import default_engine

    return default_engine(registry, device="cpu")


@pytest.fixture
def empty_registry(tmp_path: Path) -> ModelRegistry:
    from aiart_desktop.ai.models.registry import ModelRegistry

    return ModelRegistry(tmp_path / "no-models", allow_pickle=False)


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    """A models folder holding a 4-channel and a 9-channel (inpaint) tiny SD model."""
    from aiart_desktop.ai.models.registry import ModelRegistry

    base = tmp_path_factory.mktemp("qt-tiny-models")
    reg = ModelRegistry(base / "models", allow_pickle=False)
    reg.add_folder(build_sd(base / "sd"), name="tiny-sd")
    reg.add_folder(build_sd(base / "sd-inpaint", inpaint=True), name="tiny-inpaint")
    return reg


@pytest.fixture(scope="session")
def tiny_engine(tiny_registry: ModelRegistry) -> Engine:
    from aiart_desktop.ai.setup import default_engine

    return default_engine(tiny_registry, device="cpu")


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

"""Upscaler models (backends/local_upscale.py, models/upscalers.py, the registry's upscalers).

Tiny random-weight ESRGAN networks (tests/support/tiny_upscaler.py: spandrel's own ESRGAN
class, 8 filters, one block) are saved as real `.safetensors` / `.pth` files and loaded through
the app's loader, where spandrel detects the architecture and the scale from the tensors.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aiart_desktop.ai.backends.local_upscale import Upscaler, spandrel_module
from aiart_desktop.ai.errors import (
    ModelLoadError,
    ModelNotFoundError,
    RequestError,
    UnsafeCheckpointError,
)
from aiart_desktop.ai.models.catalogue import UPSCALER, catalogue_entry, upscaler_entries
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.models.upscalers import check_upscaler, scan_upscalers
from tests.support.tiny_upscaler import install_tiny_upscaler, tiny_upscaler

ROOT = Path(__file__).resolve().parents[2]


def _tile(h: int = 12, w: int = 20, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _two_lines_naming(exc: pytest.ExceptionInfo[BaseException], name: str) -> str:
    msg = str(exc.value)
    assert name in msg, msg
    assert len(msg.splitlines()) <= 2, msg
    assert "Traceback" not in msg and "/" not in msg.split(name)[0], msg
    return msg


def test_spandrel_finds_the_arch_and_scale_and_the_size_is_exact(tmp_path: Path) -> None:
    x4 = tiny_upscaler(tmp_path / "tiny-x4.safetensors", scale=4)
    x2 = tiny_upscaler(tmp_path / "tiny-x2.safetensors", scale=2)
    up = Upscaler("cpu")
    facts = up.load(x4)
    assert (facts.arch, facts.scale, facts.half, facts.device) == ("ESRGAN", 4, False, "cpu")
    out = up.run(_tile(12, 20), x4)
    assert out.shape == (48, 80, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert out.std() > 0  # random weights still paint something that varies
    assert up.scale(x2) == 2
    assert up.run(_tile(7, 5), x2).shape == (14, 10, 3)


def test_the_same_tile_twice_gives_the_same_pixels_and_one_load(tmp_path: Path) -> None:
    path = tiny_upscaler(tmp_path / "tiny.safetensors", scale=2)
    up = Upscaler()
    tile = _tile()
    first = up.run(tile, path)
    assert np.array_equal(first, up.run(tile.copy(), path))
    assert up.loads == 1
    # a fresh loader reads the same file to the same pixels
    assert np.array_equal(first, Upscaler().run(tile, path))
    up.unload()
    assert np.array_equal(first, up.run(tile, path)) and up.loads == 2


def test_rounding_matches_float_reference(tmp_path: Path) -> None:
    import torch

    path = tiny_upscaler(tmp_path / "tiny.safetensors", scale=2)
    up = Upscaler()
    tile = _tile(6, 9)
    out = up.run(tile, path)
    model = up._model  # the loaded spandrel descriptor
    x = torch.from_numpy(tile).permute(2, 0, 1)[None].float() / 255
    ref = (model(x)[0].permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
    assert np.array_equal(out, ref)


def test_a_pth_needs_consent(tmp_path: Path) -> None:
    path = tiny_upscaler(tmp_path / "pickled-x4.pth", scale=4)
    with pytest.raises(UnsafeCheckpointError) as exc:
        Upscaler().load(path)
    msg = _two_lines_naming(exc, "pickled-x4.pth")
    assert "pickle" in msg and "model manager" in msg
    with pytest.raises(UnsafeCheckpointError):
        check_upscaler(path, allow_pickle=False)
    up = Upscaler()
    assert up.load(path, allow_pickle=True).scale == 4
    assert up.run(_tile(4, 4), path, allow_pickle=True).shape == (16, 16, 3)


def test_damaged_and_unknown_files_are_named_in_two_lines(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    good = tiny_upscaler(tmp_path / "good.safetensors")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a model at all" * 10)
    unknown = tmp_path / "unknown.safetensors"
    g = torch.Generator().manual_seed(0)
    save_file({f"weird.{i}.kernel": torch.randn(3, 4, generator=g) for i in range(4)},
              str(unknown))
    for path in (corrupt, garbage):
        with pytest.raises(ModelLoadError) as exc:
            Upscaler().load(path)
        _two_lines_naming(exc, path.name)
    with pytest.raises(ModelLoadError) as exc:
        Upscaler().load(unknown)
    assert "not an upscaler this app knows" in _two_lines_naming(exc, "unknown.safetensors")
    with pytest.raises(ModelNotFoundError) as exc:
        Upscaler().load(tmp_path / "gone.safetensors")
    _two_lines_naming(exc, "gone.safetensors")
    other = tmp_path / "model.onnx"
    other.write_bytes(b"onnx")
    with pytest.raises(ModelLoadError) as exc:
        check_upscaler(other, allow_pickle=True)
    _two_lines_naming(exc, "model.onnx")


def test_a_bad_tile_is_a_request_error(tmp_path: Path) -> None:
    path = tiny_upscaler(tmp_path / "tiny.safetensors", scale=2)
    with pytest.raises(RequestError):
        Upscaler().run(np.zeros((4, 4, 4), np.uint8), path)
    with pytest.raises(RequestError):
        Upscaler().run(np.zeros((4, 4, 3), np.float32), path)


def test_catalogue_entries() -> None:
    ids = [e.id for e in upscaler_entries()]
    assert ids == ["omnisr-x2", "omnisr-x4"]
    for e in upscaler_entries():
        assert e.kind == UPSCALER and e.arch == UPSCALER and not e.inpaint
        assert e.repo_id == "Acly/Omni-SR" and e.licence.startswith("Apache-2.0")
        assert len(e.allow_patterns) == 1 and e.allow_patterns[0].endswith(".safetensors")
        assert 0 < e.size_mb < 10 and e.description


def test_registry_lists_catalogue_and_folder_files(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    assert reg.upscalers() == []
    with pytest.raises(RequestError) as exc:
        reg.upscaler()
    hint = str(exc.value)
    assert "OmniSR ×4" in hint and "2 MB" in hint and "Models…" in hint
    assert str(tmp_path / "models" / "upscalers") in hint and len(hint.splitlines()) == 1
    assert not reg.is_downloaded("omnisr-x4")
    with pytest.raises(RequestError, match="not downloaded"):
        reg.upscaler("omnisr-x2")

    cat = install_tiny_upscaler(reg, "omnisr-x4")
    folder = tmp_path / "models" / "upscalers"
    mine = tiny_upscaler(folder / "My-ESRGAN.safetensors", scale=2)
    tiny_upscaler(folder / "legacy.pth", scale=2)
    (folder / "broken.safetensors").write_bytes(b"nope")
    (folder / "notes.txt").write_text("hi")
    found = reg.upscalers()
    assert [(u.id, u.path) for u in found] == [("omnisr-x4", cat),
                                              ("upscalers/My-ESRGAN.safetensors", mine)]
    assert found[0].name == "OmniSR ×4 (Upscale)" and found[0].licence.startswith("Apache")
    assert reg.upscaler() == found[0]
    assert reg.upscaler("upscalers/My-ESRGAN.safetensors").path == mine
    assert reg.upscaler("My-ESRGAN").path == mine == reg.upscaler("My-ESRGAN.safetensors").path
    elsewhere = tiny_upscaler(tmp_path / "elsewhere" / "x2.safetensors", scale=2)
    assert reg.upscaler(str(elsewhere)).path == elsewhere
    with pytest.raises(UnsafeCheckpointError):
        reg.upscaler(str(folder / "legacy.pth"))
    with pytest.raises(ModelNotFoundError):
        reg.upscaler(str(tmp_path / "nowhere" / "gone.safetensors"))
    with pytest.raises(RequestError, match="not installed"):
        reg.upscaler("no-such-upscaler")
    assert reg.is_downloaded("omnisr-x4") and not reg.is_downloaded("omnisr-x2")
    assert "omnisr-x4" not in reg.problems()
    # pickles only with consent
    allowed = ModelRegistry(tmp_path / "models", allow_pickle=True)
    assert [u.path.name for u in allowed.upscalers()][1:] == ["legacy.pth",
                                                              "My-ESRGAN.safetensors"]
    assert [u.name for u in scan_upscalers(tmp_path / "models", False)] == ["My-ESRGAN"]
    # the registry's file runs through the loader
    assert Upscaler().run(_tile(3, 3), reg.upscaler().path).shape == (12, 12, 3)
    # a damaged catalogue download is a problem, named
    entry = catalogue_entry("omnisr-x4")
    assert entry is not None
    cat.write_bytes(b"\x00" * 10)
    assert "omnisr-x4" in reg.problems()


def test_spandrel_leaves_no_torchvision_behind() -> None:
    spandrel = spandrel_module()
    assert hasattr(spandrel, "ModelLoader")
    assert "torchvision" not in sys.modules
    assert not any(n.startswith("torchvision.") for n in sys.modules)
    assert importlib.util.find_spec("torchvision") is None
    # and in a fresh interpreter, where the import with stand-ins really happens
    code = ("import sys, importlib, importlib.util\n"
            "from aiart_desktop.ai.backends.local_upscale import spandrel_module\n"
            "s = spandrel_module()\n"
            "assert 'ESRGAN' in {a.architecture.name for a in s.MAIN_REGISTRY.architectures()}\n"
            "lama = importlib.import_module('spandrel.architectures.LaMa.__arch.LaMa')\n"
            "try:\n    lama.rotate(None, 90)\nexcept RuntimeError as e:\n"
            "    assert 'needs torchvision' in str(e)\n"
            "assert not [n for n in sys.modules if n.split('.')[0] == 'torchvision']\n"
            "assert importlib.util.find_spec('torchvision') is None\n"
            "import transformers.utils.import_utils as iu\n"
            "assert not iu.is_torchvision_available()\n"
            "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr

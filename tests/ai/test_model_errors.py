"""A model that fails to load or to run says so in two short lines naming the file; the details
(every mismatched tensor, the exception, its traceback) go to the log.

The checkpoints are real original-layout .safetensors files written at test time from the tiny
diffusers model (tests/support/ldm_checkpoint.py), some tensors reshaped as in a pruned or unusual
model, added through the registry and loaded by the engine, as the app does."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.errors import AiError, GenerationError, ModelLoadError
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from tests.support.ldm_checkpoint import config_copy, write_sd15_checkpoint

RAW = re.compile(r"size mismatch|torch\.Size|state_dict|RuntimeError|ValueError|Traceback")


def _plain(text: str, name: str) -> None:
    lines = text.splitlines()
    assert 1 <= len(lines) <= 2 and len(text) < 200, text
    assert f"\u201c{name}\u201d" in text and not RAW.search(text), text


def _reshaped(src: Path, out: Path, prefix: str, count: int) -> list[str]:
    """`src` written again with `count` of the weights under `prefix` one row larger."""
    sd = load_file(str(src))
    changed = [k for k in sorted(sd) if k.startswith(prefix) and k.endswith(".weight")
               and sd[k].ndim >= 2 and ".input_blocks.0.0." not in k][:count]
    for k in changed:
        t = sd[k]
        sd[k] = torch.zeros((t.shape[0] + 1, *t.shape[1:]), dtype=t.dtype)
    save_file(sd, str(out))
    return changed


@pytest.fixture(scope="module")
def checkpoint(model_folders, tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("ckpt")
    good = write_sd15_checkpoint(model_folders["sd"], base / "tiny-sd15.safetensors")
    return good, config_copy(model_folders["sd"], base / "tiny-config")


def test_unet_of_other_shapes_is_two_lines_naming_the_file(checkpoint, tmp_path, doc_factory,
                                                             caplog) -> None:
    good, cfg = checkpoint
    pruned = tmp_path / "pruned-dream.safetensors"
    changed = _reshaped(good, pruned, "model.diffusion_model.", 12)
    assert len(changed) == 12
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    info = reg.add_checkpoint(pruned, config=cfg)  # its header is fine: it is added
    engine = default_engine(reg, device="cpu")
    req = make_request(doc_factory(), "txt2img", model=info.id, seed=1, steps=2)
    with caplog.at_level(logging.ERROR), pytest.raises(ModelLoadError) as err:
        engine.run(req)
    text = str(err.value)
    _plain(text, "pruned-dream.safetensors")
    assert "its UNet does not match Stable Diffusion 1.5 (12 weights have other shapes)" in text
    assert "pruned or made for another program" in text
    # Every detail is in the log: the full path and each mismatched tensor.
    assert str(pruned) in caplog.text and caplog.text.count("size mismatch for") == 12
    # The engine stays usable: the intact checkpoint loads and runs next.
    ok = reg.add_checkpoint(good, config=cfg)
    result = engine.run(make_request(doc_factory(), "txt2img", model=ok.id, seed=1, steps=2))
    assert len(result.images) == 1 and result.images[0].any()


def test_other_text_encoder_and_damaged_files_are_plain_too(checkpoint, tmp_path, doc_factory,
                                                            caplog) -> None:
    good, cfg = checkpoint
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    engine = default_engine(reg, device="cpu")
    odd = tmp_path / "odd-encoder.safetensors"
    _reshaped(good, odd, "cond_stage_model.transformer.", 1)
    info = reg.add_checkpoint(odd, config=cfg)
    with caplog.at_level(logging.ERROR), pytest.raises(AiError) as err:
        engine.run(make_request(doc_factory(), "txt2img", model=info.id, seed=1, steps=2))
    _plain(str(err.value), "odd-encoder.safetensors")
    assert "Stable Diffusion 1.5" in str(err.value) and str(odd) in caplog.text
    # A checkpoint damaged after it was added: its header no longer parses.
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(good.read_bytes())
    added = reg.add_checkpoint(broken, config=cfg)
    broken.write_bytes(b"\x40\x00\x00\x00\x00\x00\x00\x00" + b"{" * 64 + b"\x00" * 32)
    with pytest.raises(ModelLoadError) as err:
        engine.run(make_request(doc_factory(), "txt2img", model=added.id, seed=1, steps=2))
    _plain(str(err.value), "broken.safetensors")
    assert "not a valid .safetensors file" in str(err.value)
    # Cut short (an interrupted copy).
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelLoadError) as err:
        engine.run(make_request(doc_factory(), "txt2img", model=added.id, seed=1, steps=2))
    _plain(str(err.value), "broken.safetensors")
    assert "truncated" in str(err.value)


def test_failure_while_generating_is_plain_and_logged(registry, doc_factory, monkeypatch,
                                                      caplog) -> None:
    engine = default_engine(registry, device="cpu")
    req = make_request(doc_factory(), "txt2img", model="sd", seed=3, steps=2)
    engine.run(req)
    unet = next(iter(engine.backend("diffusers")._pipes.values())).unet

    def boom(*a, **k):
        raise RuntimeError("boom inside the UNet: " + "tensor detail " * 200)

    monkeypatch.setattr(unet, "forward", boom)
    with caplog.at_level(logging.ERROR), pytest.raises(GenerationError) as err:
        engine.run(req)
    _plain(str(err.value), "sd")
    assert "failed while generating" in str(err.value) and "boom" not in str(err.value)
    assert "boom inside the UNet" in caplog.text

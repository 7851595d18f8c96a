"""Model registry: adding, verifying, clear loading errors, catalogue, downloads, configs."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from safetensors.numpy import save_file

from aiart_desktop.ai.errors import (
    Cancelled,
    IncompleteModelError,
    ModelLoadError,
    ModelNotFoundError,
    OfflineError,
    UnsafeCheckpointError,
)
from aiart_desktop.ai.models import downloads
from aiart_desktop.ai.models.catalogue import CATALOGUE, catalogue_entry
from aiart_desktop.ai.models.checkpoints import config_folder, inspect_checkpoint, inspect_folder
from aiart_desktop.ai.models.registry import ModelRegistry


@pytest.fixture
def sd_copy(model_folders, tmp_path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(model_folders["sd"], dst)
    return dst


def test_add_resolve_persist_remove(model_folders, tmp_path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    info = reg.add_folder(model_folders["sdxl-inpaint"], name="My SDXL")
    assert info.id == "my-sdxl" and info.arch == "sdxl" and info.facts.inpaint
    assert info.native == 64 and info.facts.size_bytes > 0
    again = ModelRegistry(tmp_path / "models", allow_pickle=False)  # read back from disk
    assert [m.id for m in again.installed()] == ["my-sdxl"]
    assert again.resolve("my-sdxl").path == model_folders["sdxl-inpaint"].resolve()
    assert again.add_folder(model_folders["sd"], name="My SDXL").id == "my-sdxl-2"
    again.remove("my-sdxl")
    assert [m.id for m in again.installed()] == ["my-sdxl-2"]
    with pytest.raises(ModelNotFoundError, match="no installed model"):
        again.resolve("nothing")
    with pytest.raises(ModelNotFoundError, match="not downloaded"):
        again.resolve("sd-turbo")


def test_missing_folder_names_the_path(tmp_path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    missing = tmp_path / "nowhere" / "model"
    with pytest.raises(ModelNotFoundError, match="“model” does not exist"):
        reg.add_folder(missing)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        reg.resolve(str(missing))


def test_corrupt_safetensors_names_the_file(sd_copy) -> None:
    weights = sd_copy / "unet" / "diffusion_pytorch_model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="“diffusion_pytorch_model.safetensors” is truncated"):
        inspect_folder(sd_copy)
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(ModelLoadError,
                       match="“diffusion_pytorch_model.safetensors” is not a valid .safetensors"):
        inspect_folder(sd_copy)


def test_incomplete_folder(sd_copy) -> None:
    (sd_copy / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(IncompleteModelError, match="incomplete: no weights in vae/"):
        inspect_folder(sd_copy)
    shutil.rmtree(sd_copy / "tokenizer")
    (sd_copy / "model_index.json").unlink()
    partial = sd_copy / ".cache" / "huggingface" / "download" / "unet"
    partial.mkdir(parents=True)
    (partial / "x.safetensors.incomplete").write_bytes(b"123")
    with pytest.raises(IncompleteModelError, match="download was interrupted"):
        inspect_folder(sd_copy)


def test_pickles_refused_unless_allowed(sd_copy, tmp_path) -> None:
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"not really a pickle")
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    with pytest.raises(UnsafeCheckpointError, match="“model.ckpt” is a pickle checkpoint"):
        reg.add_checkpoint(ckpt)
    with pytest.raises(ModelLoadError, match="cannot read the checkpoint “model.ckpt”"):
        reg.add_checkpoint(ckpt, allow_pickle=True)
    unet = sd_copy / "unet"
    (unet / "diffusion_pytorch_model.safetensors").rename(unet / "diffusion_pytorch_model.bin")
    with pytest.raises(UnsafeCheckpointError, match="has only pickle weights in unet"):
        reg.add_folder(sd_copy)


def _checkpoint(path: Path, keys: list[str], in_ch: int = 4) -> Path:
    t = {k: np.zeros((1,), np.float16) for k in keys}
    t["model.diffusion_model.input_blocks.0.0.weight"] = np.zeros((1, in_ch, 1, 1), np.float16)
    save_file(t, str(path))
    return path


def test_checkpoint_architecture_from_tensor_names(tmp_path) -> None:
    sd15 = _checkpoint(tmp_path / "a.safetensors", ["cond_stage_model.transformer.x"])
    f = inspect_checkpoint(sd15)
    assert (f.arch, f.inpaint, f.native, f.config_kind) == ("sd", False, 512, "sd15")
    inp = _checkpoint(tmp_path / "b.safetensors", ["cond_stage_model.transformer.x"], 9)
    assert inspect_checkpoint(inp).config_kind == "sd15_inpaint"
    sd2 = _checkpoint(tmp_path / "c.safetensors", ["cond_stage_model.model.x"])
    assert inspect_checkpoint(sd2).config_kind == "sd2"
    xl = _checkpoint(tmp_path / "d.safetensors", ["conditioner.embedders.1.model.x"], 9)
    f = inspect_checkpoint(xl)
    assert (f.arch, f.native, f.config_kind) == ("sdxl", 1024, "sdxl_inpaint")
    other = tmp_path / "e.safetensors"
    save_file({"weight": np.zeros(3, np.float32)}, str(other))
    with pytest.raises(ModelLoadError, match="not a Stable Diffusion checkpoint"):
        inspect_checkpoint(other)
    with pytest.raises(ModelLoadError, match="unknown checkpoint type"):
        inspect_checkpoint(_write(tmp_path / "f.gguf"))


def _write(p: Path) -> Path:
    p.write_bytes(b"x")
    return p


def test_shipped_configs_are_complete_and_tokenize_like_clip(tmp_path) -> None:
    from transformers import CLIPTokenizer

    for kind in ("sd15", "sd15_inpaint", "sd2", "sd2_inpaint", "sdxl", "sdxl_inpaint"):
        folder = config_folder(kind, tmp_path)
        index = json.loads((folder / "model_index.json").read_text())
        for name, spec in index.items():
            if isinstance(spec, list) and spec[0] is not None:
                assert (folder / name).is_dir(), (kind, name)
    tok = CLIPTokenizer.from_pretrained(str(tmp_path / "sd15" / "tokenizer"))
    assert tok("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert len(tok) == 49408


def test_shipped_configs_match_the_real_architectures(tmp_path) -> None:
    """Parameter counts of the published models, built on the meta device (no memory)."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    def count(module) -> int:
        return sum(p.numel() for p in module.parameters())

    root = config_folder("sdxl", tmp_path).parent
    config_folder("sd15", tmp_path)
    with torch.device("meta"):
        unet15 = UNet2DConditionModel.from_config(
            UNet2DConditionModel.load_config(str(root / "sd15" / "unet")))
        unetxl = UNet2DConditionModel.from_config(
            UNet2DConditionModel.load_config(str(root / "sdxl" / "unet")))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(str(root / "sd15" / "vae")))
        te = CLIPTextModel(CLIPTextConfig.from_pretrained(str(root / "sd15" / "text_encoder")))
        te2 = CLIPTextModelWithProjection(
            CLIPTextConfig.from_pretrained(str(root / "sdxl" / "text_encoder_2")))
    assert count(unet15) == 859_520_964
    assert count(unetxl) == 2_567_463_684
    assert count(vae) == 83_653_863
    assert count(te) == 123_060_480
    assert count(te2) == 694_659_840


def test_catalogue_has_the_recommended_models() -> None:
    ids = {e.id: e for e in CATALOGUE}
    assert {"sd-turbo", "sdxl-turbo", "sd15-inpainting", "taesd"} <= set(ids)
    assert ids["sd-turbo"].repo_id == "stabilityai/sd-turbo"
    assert ids["taesd"].repo_id == "madebyollin/taesd" and ids["taesd"].licence == "MIT"
    assert ids["sd15-inpainting"].inpaint
    assert all(e.size_mb > 0 and e.licence and e.licence_url for e in CATALOGUE)


def test_download_offline_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    with pytest.raises(OfflineError, match="offline mode is on"):
        reg.download("sd-turbo")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(downloads, "_hub", lambda: _FakeHub(None, fail=ConnectionError("x")))
    with pytest.raises(OfflineError, match="cannot be reached"):
        reg.download("sd-turbo")


class _FakeHub:
    """Stands in for the Hugging Face hub (this machine has no network): serves the files of a
    local folder in chunks through huggingface_hub's tqdm_class protocol."""

    def __init__(self, source: Path | None, fail: Exception | None = None) -> None:
        self.source, self.fail, self.fetched = source, fail, []

    def snapshot_download(self, repo_id: str, local_dir: str, dry_run: bool) -> list:
        if self.fail:
            raise self.fail
        assert self.source is not None
        return [SimpleNamespace(filename=str(p.relative_to(self.source)),
                                file_size=p.stat().st_size)
                for p in sorted(self.source.rglob("*")) if p.is_file()]

    def hf_hub_download(self, repo_id: str, filename: str, local_dir: str, tqdm_class) -> str:
        assert self.source is not None
        data = (self.source / filename).read_bytes()
        out = Path(local_dir) / filename
        out.parent.mkdir(parents=True, exist_ok=True)
        bar = tqdm_class(total=len(data), initial=0)
        with open(out, "wb") as f:
            for i in range(0, len(data), 65536):
                f.write(data[i:i + 65536])
                bar.update(len(data[i:i + 65536]))
        self.fetched.append(filename)
        return str(out)


def test_download_progress_cancel_resume_verify(model_folders, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hub = _FakeHub(model_folders["sd"])
    monkeypatch.setattr(downloads, "_hub", lambda: hub)
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    seen: list[tuple[int, int]] = []
    with pytest.raises(Cancelled):
        reg.download("sd-turbo", lambda d, t, f: seen.append((d, t)),
                     cancelled=lambda: len(seen) > 30)
    assert not reg.is_downloaded("sd-turbo")
    first = list(hub.fetched)
    hub.fetched.clear()
    seen.clear()
    info = reg.download("sd-turbo", lambda d, t, f: seen.append((d, t)))
    assert info.source == "catalogue" and info.arch == "sd" and reg.is_downloaded("sd-turbo")
    assert not set(first) & set(hub.fetched)  # finished files were not fetched again
    done = [d for d, _ in seen]
    assert done == sorted(done) and seen[-1][0] == seen[-1][1]
    assert reg.resolve("sd-turbo").path == reg.root / "sd-turbo"


def test_select_files_prefers_fp16_and_falls_back() -> None:
    entry = catalogue_entry("sd-turbo")
    assert entry is not None
    files = {"model_index.json": 1, "unet/config.json": 1,
             "unet/diffusion_pytorch_model.fp16.safetensors": 5,
             "unet/diffusion_pytorch_model.safetensors": 10,
             "vae/config.json": 1, "vae/diffusion_pytorch_model.safetensors": 3,
             "safety_checker/model.safetensors": 99, "unet/diffusion_pytorch_model.bin": 10}
    got = downloads.select_files(entry, files)
    assert set(got) == {"model_index.json", "unet/config.json", "vae/config.json",
                        "unet/diffusion_pytorch_model.fp16.safetensors",
                        "vae/diffusion_pytorch_model.safetensors"}


def test_single_file_checkpoint_loads_with_local_configs(model_folders, tmp_path,
                                                         doc_factory) -> None:
    """A real original-layout .safetensors checkpoint through `from_single_file`, with the
    config folder given locally: nothing is fetched (HF_HUB_OFFLINE=1 in the tests)."""
    from aiart_desktop.ai.capture import make_request
    from aiart_desktop.ai.setup import default_engine
    from tests.support.ldm_checkpoint import config_copy, write_sd15_checkpoint

    ckpt = write_sd15_checkpoint(model_folders["sd"], tmp_path / "tiny-sd15.safetensors")
    cfg = config_copy(model_folders["sd"], tmp_path / "tiny-config")
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    info = reg.add_checkpoint(ckpt, config=cfg)
    assert info.source == "checkpoint" and info.facts.config_kind == "sd15"
    assert info.config_path == cfg and info.native == 64
    reg.add_folder(model_folders["sd"], name="folder")
    doc = doc_factory()
    req = make_request(doc, "txt2img", model=info.id, seed=9, steps=2)
    from_file = default_engine(reg, device="cpu").run(req)
    from_folder = default_engine(reg, device="cpu").run(make_request(doc, "txt2img", model="folder",
                                                             seed=9, steps=2))
    # Same weights, same seed: the same picture (up to float rounding in the conversion).
    diff = np.abs(from_file.images[0].astype(int) - from_folder.images[0].astype(int))
    assert diff.max() <= 2

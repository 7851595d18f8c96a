"""ControlNets end to end: tiny random-weight ControlNets (tests/support/tiny_controlnets.py)
for the tiny SD and SDXL models, saved as a diffusers folder, a single .safetensors file and a
union model, found by the registry (<models>/controlnet, added by path, the catalogue's
detector folders), loaded through the app's own loaders by the real engine: a control steers
the result deterministically, lines up with the region on a big canvas (outpaint too), works
with txt2img / img2img / inpaint on SD and SDXL (several at once), is recorded and written in
A1111's form; bad files and missing models are clear errors naming what to do."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from aiart_desktop.ai import controls
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.conditioning import CONTROL_KINDS
from aiart_desktop.ai.controls import ControlLayer
from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.errors import AiError, ModelNotFoundError, RequestError
from aiart_desktop.ai.job import Job
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from tests.support.tiny_controlnets import (
    build_controlnet,
    build_depth_detector,
    build_pose_detector,
    save_single_file,
)
from tests.support.tiny_ip_adapter import build_ip_adapter

LINEART = "control_v11p_sd15_lineart"


@pytest.fixture(scope="module")
def nets(model_folders: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tiny-controlnets")
    return {"sd": build_controlnet(base / "sd", model_folders["sd"]),
            "sd2": build_controlnet(base / "sd2", model_folders["sd"], seed=7),
            "union": build_controlnet(base / "union", model_folders["sdxl"], seed=3, union=True),
            "sdxl": build_controlnet(base / "sdxl", model_folders["sdxl"], seed=5),
            "depth": build_depth_detector(base / "depth"),
            "pose": build_pose_detector(base / "pose")}


@pytest.fixture(scope="module")
def control_registry(model_folders: Any, nets: dict[str, Path],
                     tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    """The tiny SD / SDXL models; in <models>/controlnet an SD line-art folder, a scribble
    .safetensors file (diffusers layout, config beside it), depth and openpose folders; the
    SDXL union model added by path; both detectors where the catalogue puts them."""
    reg = ModelRegistry(tmp_path_factory.mktemp("control-models"), allow_pickle=False)
    for name in ("sd", "sd-inpaint", "sdxl"):
        reg.add_folder(model_folders[name], name=name)
    folder = reg.control_folder()
    shutil.copytree(nets["sd"], folder / LINEART)
    save_single_file(nets["sd2"], folder / "my_scribble.safetensors")
    shutil.copytree(nets["sd2"], folder / "sd15_depth")
    shutil.copytree(nets["sd2"], folder / "sd15_openpose")
    reg.add_control_model(nets["union"], name="tiny union")
    shutil.copytree(nets["sdxl"], folder / "controlnet_sdxl_canny")
    shutil.copytree(nets["depth"], reg.catalogue_folder("depth-anything-v2-small"))
    shutil.copytree(nets["pose"], reg.catalogue_folder("vitpose-base"))
    shutil.copytree(build_ip_adapter(nets["sd"].parent / "ip", model_folders["sd"]),
                    reg.catalogue_folder("ip-adapter-sd15"))
    return reg


@pytest.fixture(scope="module")
def cengine(control_registry: ModelRegistry) -> Engine:
    return default_engine(control_registry, device="cpu")


def cross(h: int, w: int, at: tuple[int, int], size: int = 40, width: int = 6,
          colour: tuple[int, int, int] = (20, 20, 20)) -> np.ndarray:
    """A transparent (h, w) layer with a cross centred at `at` (x, y)."""
    img = np.zeros((h, w, 4), np.uint8)
    x, y = at
    img[y - width // 2: y + width // 2, x - size // 2: x + size // 2] = (*colour, 255)
    img[y - size // 2: y + size // 2, x - width // 2: x + width // 2] = (*colour, 255)
    return img


def sketch_doc(size: tuple[int, int] = (64, 64), at: tuple[int, int] = (32, 32),
               visible: bool = False) -> tuple[Document, int]:
    w, h = size
    doc = Document.new(w, h, (230, 225, 215, 255))
    layer = doc.add_layer("Sketch")
    doc.put_pixels(layer, 0, 0, cross(h, w, at))
    doc.set_visible(layer, visible)
    return doc, layer.uid


def run(engine: Engine, doc: Document, op: str, specs: list[ControlLayer], model: str = "sd",
        **kw: Any) -> Any:
    params = dict(prompt="a lighthouse", seed=5, steps=2, guidance=7.0, model=model)
    params.update(kw)
    if op == "txt2img":
        params.setdefault("target", "image")
    return engine.run(make_request(doc, op, controls=specs, **params))


def jobs_of(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Job]:
    """Every job the local backend is given from now on (it still runs them)."""
    backend = engine.backend("diffusers")
    seen: list[Job] = []
    original = backend.generate

    def spy(job: Job, *a: Any) -> Any:
        seen.append(job)
        return original(job, *a)

    monkeypatch.setattr(backend, "generate", spy)
    return seen


# ---- the registry ------------------------------------------------------------------------------
def test_registry_finds_control_models_and_detectors(control_registry: ModelRegistry) -> None:
    reg = control_registry
    found = {c.id: c for c in reg.control_models()}
    assert {LINEART, "my_scribble", "sd15_depth", "sd15_openpose", "tiny-union"} <= set(found)
    assert found[LINEART].kinds == ("lineart",) and found[LINEART].layout == "folder"
    assert found["my_scribble"].layout == "diffusers" and found["my_scribble"].arch == "sd"
    union = found["tiny-union"]
    assert union.union and union.arch == "sdxl" and set(union.kinds) == set(CONTROL_KINDS)
    assert reg.control_model_for("lineart", "sd").id == LINEART
    assert reg.control_model_for("scribble", "sd").id == "my_scribble"
    assert reg.control_model_for("depth", "sdxl").id == "tiny-union"
    assert reg.control_model_for("canny", "sdxl").id == "controlnet_sdxl_canny"  # single first
    assert reg.control_model_for("lineart", "sd", "my_scribble").id == "my_scribble"
    with pytest.raises(RequestError, match=r"no Canny control model for SD 1.5.*"
                                           r"ControlNet Canny \(SD 1.5\).*model manager"):
        reg.control_model_for("canny", "sd")
    with pytest.raises(RequestError, match="is for SD 1.x models, not SDXL"):
        reg.control_model_for("lineart", "sdxl", LINEART)
    # Add-ons: never in the model list, not resolvable as a model, no problems.
    assert not {c for c in found} & {m.id for m in reg.models()}
    with pytest.raises(ModelNotFoundError, match="add-on"):
        reg.resolve("tiny-union")
    assert reg.problems() == {}
    assert reg.detector("depth") == reg.catalogue_folder("depth-anything-v2-small")
    assert reg.is_downloaded("vitpose-base") and not reg.is_downloaded("controlnet-sd15-canny")
    entry = {e.id: e for e in reg.catalogue()}
    assert entry["controlnet-sd15-lineart"].repo_id == "lllyasviel/control_v11p_sd15_lineart"
    assert entry["controlnet-union-sdxl"].licence.startswith("Apache-2.0")
    assert entry["controlnet-sd15-depth"].licence.startswith("CreativeML OpenRAIL")
    assert entry["depth-anything-v2-small"].kind == "detector"


def test_bad_control_models_are_refused_naming_the_file(nets: dict[str, Path],
                                                        tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    pickle = tmp_path / "control_sd15_canny.pth"
    pickle.write_bytes(b"\x80\x04not read")
    with pytest.raises(AiError, match=r"control_sd15_canny\.pth.*pickle"):
        reg.add_control_model(pickle)
    corrupt = tmp_path / "broken_lineart.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(AiError, match=r"broken_lineart\.safetensors.*not a valid"):
        reg.add_control_model(corrupt)
    lonely = tmp_path / "lonely" / "scribble.safetensors"
    lonely.parent.mkdir()
    shutil.copyfile(nets["sd"] / "diffusion_pytorch_model.safetensors", lonely)
    with pytest.raises(AiError, match=r"scribble\.safetensors.*config\.json beside it"):
        reg.add_control_model(lonely)
    bins = tmp_path / "bins"
    bins.mkdir()
    shutil.copyfile(nets["sd"] / "config.json", bins / "config.json")
    (bins / "diffusion_pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(AiError, match="only pickle weights"):
        reg.add_control_model(bins)
    # A broken file in <models>/controlnet is a problem (named), never a usable model; the
    # loader names the file when its weights do not fit.
    reg.control_folder().mkdir(parents=True)
    shutil.copyfile(corrupt, reg.control_folder() / "broken_lineart.safetensors")
    assert reg.control_models() == []
    assert "broken_lineart.safetensors" in reg.problems()["broken_lineart"]
    with pytest.raises(RequestError, match="no Line art control model"):
        reg.control_model_for("lineart", "sd")


def test_a_missing_detector_says_what_to_install(control_registry: ModelRegistry,
                                                 model_folders: Any, nets: dict[str, Path],
                                                 tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_folder(model_folders["sd"], name="sd")
    shutil.copytree(nets["sd"], reg.control_folder() / "sd15_depth")
    with pytest.raises(RequestError, match=r"download “ViTPose base \(pose detector\)”"):
        reg.detector("pose")
    doc, uid = sketch_doc()
    with pytest.raises(RequestError, match="Depth Anything V2 Small"):
        run(default_engine(reg, device="cpu"), doc, "txt2img", [ControlLayer(uid, "depth")])
    # With no diffusion model at all, "auto" would be the model-free fill: it takes no controls.
    doc.set_selection(sel.rect_mask(64, 64, Rect(8, 8, 20, 20)))
    empty = default_engine(ModelRegistry(tmp_path / "none", allow_pickle=False), device="cpu")
    with pytest.raises(RequestError, match="control layers need a diffusion model"):
        run(empty, doc, "inpaint", [ControlLayer(uid, "lineart")], model="auto")


# ---- generation ----------------------------------------------------------------------------------
def test_a_line_art_control_steers_txt2img(cengine: Engine) -> None:
    doc, uid = sketch_doc()
    spec = [ControlLayer(uid, "lineart", strength=1.5)]
    a = run(cengine, doc, "txt2img", spec)
    b = run(cengine, doc, "txt2img", spec)
    plain = run(cengine, doc, "txt2img", [])
    assert (a.images[0] == b.images[0]).all()  # same control twice: same pixels
    assert np.abs(a.images[0].astype(int) - plain.images[0]).mean() > 1.0
    other, uid2 = sketch_doc(at=(20, 44))
    c = run(cengine, other, "txt2img", [ControlLayer(uid2, "lineart", strength=1.5)])
    assert (a.images[0] != c.images[0]).any()  # another drawing, another picture
    # The record: what steered it, by content, and the A1111 text.
    rec = a.record(0)["controls"][0]
    assert rec["type"] == "lineart" and rec["strength"] == 1.5 and rec["layer"] == "Sketch"
    assert rec["model"] == LINEART and len(rec["model_sha256"]) == 64
    assert len(rec["image_sha256"]) == 64 and len(rec["control_sha256"]) == 64
    text = a.parameters(0)
    assert (f'ControlNet 0: "Module: lineart, Model: {LINEART} [{rec["model_sha256"][:8]}], '
            'Weight: 1.5, Guidance Start: 0, Guidance End: 1"') in text


def test_controls_work_with_img2img_and_inpaint_several_at_once(cengine: Engine) -> None:
    doc, uid = sketch_doc()
    doc.set_selection(sel.rect_mask(64, 64, Rect(8, 8, 48, 48)))
    for op, model in (("img2img", "sd"), ("inpaint", "sd"), ("inpaint", "sd-inpaint")):
        kw: dict[str, Any] = {"strength": 0.8} if op == "img2img" else {}
        one = run(cengine, doc, op, [ControlLayer(uid, "lineart", strength=2.0)], model, **kw)
        plain = run(cengine, doc, op, [], model, **kw)
        assert np.abs(one.images[0].astype(int) - plain.images[0]).max() > 8, (op, model)
    two = run(cengine, doc, "img2img", [ControlLayer(uid, "lineart", strength=2.0),
                                        ControlLayer(uid, "scribble", start=0.0, end=0.5)],
              strength=0.8)
    again = run(cengine, doc, "img2img", [ControlLayer(uid, "lineart", strength=2.0),
                                          ControlLayer(uid, "scribble", start=0.0, end=0.5)],
                strength=0.8)
    assert (two.images[0] == again.images[0]).all()
    assert [c["model"] for c in two.record(0)["controls"]] == [LINEART, "my_scribble"]


def test_sdxl_union_controls_and_detectors(cengine: Engine, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    doc, uid = sketch_doc()
    jobs = jobs_of(cengine, monkeypatch)
    one = run(cengine, doc, "txt2img", [ControlLayer(uid, "lineart", strength=2.0)], "sdxl")
    plain = run(cengine, doc, "txt2img", [], "sdxl")
    assert np.abs(one.images[0].astype(int) - plain.images[0]).max() > 8
    both = [ControlLayer(uid, "canny", strength=1.2), ControlLayer(uid, "depth", end=0.5)]
    a = run(cengine, doc, "img2img", both, "sdxl", strength=0.7)
    b = run(cengine, doc, "img2img", both, "sdxl", strength=0.7)
    assert (a.images[0] == b.images[0]).all()
    assert [c["model"] for c in a.record(0)["controls"]] == ["tiny-union", "tiny-union"]
    depth = jobs[-1].controls[1]
    assert depth.kind == "depth" and depth.image.shape == (64, 64, 3)
    assert depth.image.std() > 1.0  # the detector's picture, not a blank one
    # Pose on SD: the ViTPose detector's keypoints drawn as the OpenPose skeleton.
    pose = run(cengine, doc, "txt2img", [ControlLayer(uid, "pose")])
    assert pose.record(0)["controls"][0]["model"] == "sd15_openpose"
    assert jobs[-1].controls[0].image.shape == (64, 64, 3)
    backend = cengine.backend("diffusers")
    assert backend.capabilities.controls == frozenset(CONTROL_KINDS)
    pic = backend.detect("depth", np.asarray(Image.new("RGB", (40, 30), (90, 30, 10))))
    assert pic.shape == (30, 40, 3) and pic.dtype == np.uint8


def test_sdxl_single_and_union_control_models(cengine: Engine) -> None:
    """A single SDXL ControlNet alone; beside a control only the union model serves, the union
    model takes over (diffusers runs one sort at a time) unless the single one was picked by
    hand; both sorts inpaint."""
    doc, uid = sketch_doc()
    doc.set_selection(sel.rect_mask(64, 64, Rect(8, 8, 48, 48)))
    canny = run(cengine, doc, "txt2img", [ControlLayer(uid, "canny", strength=2.0)], "sdxl")
    assert canny.record(0)["controls"][0]["model"] == "controlnet_sdxl_canny"
    assert (canny.images[0] != run(cengine, doc, "txt2img", [], "sdxl").images[0]).any()
    mixed = run(cengine, doc, "txt2img", [ControlLayer(uid, "canny"),
                                          ControlLayer(uid, "lineart")], "sdxl")
    assert [c["model"] for c in mixed.record(0)["controls"]] == ["tiny-union"] * 2
    with pytest.raises(RequestError, match="cannot run beside single control models"):
        run(cengine, doc, "txt2img", [ControlLayer(uid, "canny", model="controlnet_sdxl_canny"),
                                      ControlLayer(uid, "lineart")], "sdxl")
    for spec in (ControlLayer(uid, "canny", strength=2.0), ControlLayer(uid, "lineart",
                                                                         strength=2.0)):
        one = run(cengine, doc, "inpaint", [spec], "sdxl")
        assert (one.images[0] != run(cengine, doc, "inpaint", [], "sdxl").images[0]).any()


def test_the_control_lines_up_with_the_region_on_a_big_canvas(
        cengine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1024x768 canvas, the drawing and the selection far from the origin: the control
    picture the model gets is the layer's pixels over exactly the region the picture comes
    from, scaled the same way; the drawing's dark strokes in the picture fall on its lines."""
    doc, uid = sketch_doc((1024, 768), at=(700, 450), visible=True)
    doc.set_selection(sel.rect_mask(1024, 768, Rect(660, 410, 80, 80)))
    jobs = jobs_of(cengine, monkeypatch)
    result = run(cengine, doc, "inpaint", [ControlLayer(uid, "lineart")])
    job = jobs[-1]
    layer = doc.find(uid)
    r = result.rect
    assert r == result.request.rect and (r.x, r.y) != (0, 0)
    size = (job.width, job.height)
    want = controls.preprocess("lineart", controls.scale(layer.read(r), size))  # type: ignore[union-attr]
    assert (job.controls[0].image == want).all()
    lines = job.controls[0].image[..., 0] > 127
    dark = job.image.mean(axis=2) < 120   # the same cross, visible in the picture
    assert lines.sum() > 20 and (lines & dark).sum() / (lines | dark).sum() > 0.6
    # Outpaint: the control covers the context strip inside the grown region; the new area
    # has no lines.
    doc2, uid2 = sketch_doc((160, 64), at=(140, 32), visible=True)
    result = run(cengine, doc2, "outpaint", [ControlLayer(uid2, "lineart")], direction="right",
                 pixels=64)
    job = jobs[-1]
    layout = result.request.layout
    over = np.zeros((layout.region.h, layout.region.w, 4), np.uint8)
    over[layout.strip.slices()] = doc2.find(uid2).read(result.request.rect)  # type: ignore[union-attr]
    size = (job.width, job.height)
    assert (job.controls[0].image == controls.preprocess(
        "lineart", controls.scale(over, size))).all()
    new = layout.area.translated(-layout.region.x, -layout.region.y)
    sx = job.width / layout.region.w
    assert job.controls[0].image[:, int(new.x * sx) + 2:].max() == 0


def test_an_ip_adapter_and_a_control_together(cengine: Engine) -> None:
    """Both steer one job; after them a plain job paints exactly as before (bit for bit)."""
    doc, uid = sketch_doc()
    ref = np.zeros((48, 48, 4), np.uint8)
    ref[..., :3], ref[..., 3] = (200, 40, 40), 255
    plain = run(cengine, doc, "txt2img", [])
    both = run(cengine, doc, "txt2img", [ControlLayer(uid, "lineart")], ip_adapter_scale=0.8,
               ip_adapter_image=ref)
    control = run(cengine, doc, "txt2img", [ControlLayer(uid, "lineart")])
    ip = run(cengine, doc, "txt2img", [], ip_adapter_scale=0.8, ip_adapter_image=ref)
    assert (both.images[0] != control.images[0]).any() and (both.images[0] != ip.images[0]).any()
    assert both.record(0)["ip_adapter"] == "ip-adapter-sd15"
    assert (run(cengine, doc, "txt2img", []).images[0] == plain.images[0]).all()


def test_job_carries_the_controls_as_plain_data(cengine: Engine,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    doc, uid = sketch_doc()
    jobs = jobs_of(cengine, monkeypatch)
    run(cengine, doc, "txt2img", [ControlLayer(uid, "scribble", strength=0.7, start=0.2)])
    data, blobs = jobs[-1].to_data()
    back = Job.from_data(data, blobs)
    c, d = jobs[-1].controls[0], back.controls[0]
    assert (c.kind, c.model, c.strength, c.start) == (d.kind, d.model, d.strength, d.start)
    assert c.model == "my_scribble" and (c.image == d.image).all()


def test_cli_control_option(control_registry: ModelRegistry, tmp_path: Path) -> None:
    from aiart_desktop.ai.cli_run import parse_control
    from aiart_desktop.ai.cli_run import run as cli

    assert parse_control("lineart=sketch.png:0.8") == ("lineart", "sketch.png", 0.8)
    assert parse_control(r"canny=C:\pics\a.png") == ("canny", r"C:\pics\a.png", 1.0)
    with pytest.raises(ValueError, match="TYPE=IMAGE"):
        parse_control("normal=x.png")
    sketch = tmp_path / "sketch.png"
    Image.fromarray(cross(64, 64, (32, 32))).save(sketch)
    out = tmp_path / "out.png"
    code = cli(["txt2img", "--width", "64", "--height", "64", "--prompt", "a tower",
                "--model", "sd", "--steps", "2", "--seed", "3", "--models-dir",
                str(control_registry.root), "--device", "cpu", "-q",
                "--control", f"lineart={sketch}:1.5", "-o", str(out)])
    assert code == 0
    text = Image.open(out).text["parameters"]  # type: ignore[attr-defined]
    assert 'ControlNet 0: "Module: lineart, Model: control_v11p_sd15_lineart [' in text
    assert "Weight: 1.5" in text
    small = tmp_path / "small.png"
    Image.fromarray(cross(32, 32, (16, 16))).save(small)
    assert cli(["txt2img", "--width", "64", "--height", "64", "--model", "sd", "-q",
                "--models-dir", str(control_registry.root), "--control",
                f"lineart={small}", "-o", str(out)]) == 2


def test_original_layout_files_are_recognised(tmp_path: Path) -> None:
    """A1111's single-file ControlNets (original key layout): architecture from the keys, the
    kind from the name, loaded with the shipped standard ControlNet settings."""
    import json

    from safetensors.numpy import save_file

    from aiart_desktop.ai.models.control_models import inspect_control_model, shipped_config

    def fake(name: str, keys: dict[str, tuple[int, ...]]) -> Path:
        path = tmp_path / name
        save_file({k: np.zeros(s, np.float16) for k, s in keys.items()}, str(path))
        return path

    sd15 = fake("control_v11p_sd15_canny.safetensors", {
        "control_model.input_hint_block.0.weight": (16, 3, 3, 3),
        "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (4, 768)})
    info = inspect_control_model(sd15)
    assert (info.arch, info.layout, info.config, info.kinds) == ("sd", "original", "sd15",
                                                                 ("canny",))
    xl = fake("diffusers_xl_depth_full.safetensors", {
        "input_hint_block.0.weight": (16, 3, 3, 3), "label_emb.0.0.weight": (4, 2816),
        "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": (4, 2048)})
    info = inspect_control_model(xl)
    assert (info.arch, info.config, info.kinds) == ("sdxl", "sdxl", ("depth",))
    sd2 = fake("controlnet_sd21_openpose.safetensors", {
        "control_model.input_hint_block.0.weight": (16, 3, 3, 3),
        "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (4, 1024)})
    with pytest.raises(AiError, match=r"controlnet_sd21_openpose\.safetensors.*2\.x"):
        inspect_control_model(sd2)
    lora = fake("my_lora.safetensors", {"lora_unet_down.lora_up.weight": (4, 4)})
    with pytest.raises(AiError, match=r"my_lora\.safetensors.*not a ControlNet"):
        inspect_control_model(lora)
    folder = shipped_config("sd15", tmp_path / "configs")
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["_class_name"] == "ControlNetModel" and cfg["cross_attention_dim"] == 768
    from diffusers import ControlNetModel

    assert ControlNetModel.load_config(str(shipped_config("sdxl", tmp_path / "configs")))[
        "addition_embed_type"] == "text_time"


def test_catalogue_downloads_of_a_control_model_and_a_detector(
        nets: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only on request, through models/downloads.py (a stand-in hub serving the tiny files):
    the control model and the detector land where the registry finds them, checked."""
    from aiart_desktop.ai.models import downloads
    from tests.ai.test_models import _FakeHub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    assert not reg.is_downloaded("controlnet-sd15-lineart")
    hub = _FakeHub(nets["sd"])
    monkeypatch.setattr(downloads, "_hub", lambda: hub)
    info = reg.download("controlnet-sd15-lineart")
    assert hub.fetched == ["config.json", "diffusion_pytorch_model.safetensors"]  # no fp16 here
    assert info.id == "controlnet-sd15-lineart" and info.source == "catalogue"  # type: ignore[union-attr]
    assert reg.is_downloaded("controlnet-sd15-lineart")
    assert reg.control_model_for("lineart", "sd").id == "controlnet-sd15-lineart"
    assert reg.problems() == {}
    hub = _FakeHub(nets["depth"])
    monkeypatch.setattr(downloads, "_hub", lambda: hub)
    assert reg.download("depth-anything-v2-small") == reg.catalogue_folder(
        "depth-anything-v2-small")
    assert reg.detector("depth") == reg.catalogue_folder("depth-anything-v2-small")

"""The LaMa fill (ai/backends/lama.py) with a tiny ONNX graph of the real interface.

The graph is built at test time with onnx.helper: inputs `image` (1, 3, 512, 512; RGB in [0, 1])
and `mask` (1, 1, 512, 512; 1 = fill), output `output` (1, 3, 512, 512; RGB in [0, 255]) =
image * 255 * (1 - mask) + COLOUR * mask, saved where the registry expects the catalogue's
file and run through the app's own loader and engine.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from aiart_desktop.ai import composite
from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.backends import lama
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.errors import AiError, Cancelled, RequestError
from aiart_desktop.ai.models.catalogue import INPAINTER, catalogue_entry
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.records.export_parameters import parameters_text
from aiart_desktop.ai.setup import default_engine
from tests.support.tiny_lama import (
    COLOUR,
    install_tiny_lama,
    install_tiny_migan,
    tiny_lama,
    tiny_migan,
)


@pytest.fixture
def lama_registry(tmp_path: Path) -> ModelRegistry:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    install_tiny_lama(reg)
    return reg


def _picture() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    mask = np.zeros((200, 300), np.uint8)
    cv2.circle(mask, (150, 90), 30, 255, -1)
    return img, mask


def test_fill_changes_only_the_selection_with_what_the_graph_paints(tmp_path: Path) -> None:
    img, mask = _picture()
    out = lama.fill(img, mask, tiny_lama(tmp_path / "lama.onnx"))
    assert np.array_equal(out[mask == 0], img[mask == 0])
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0
    assert (out[inner] == COLOUR).all()
    assert lama.load(tmp_path / "lama.onnx").size == (512, 512)


def test_the_interface_is_read_from_the_session(tmp_path: Path) -> None:
    path = tiny_lama(tmp_path / "other.onnx", ("img", "msk", "result"))
    net = lama.load(path)
    assert (net.image_name, net.mask_name, net.output_name) == ("img", "msk", "result")
    img, mask = _picture()
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0
    assert (lama.fill(img, mask, path)[inner] == COLOUR).all()


def test_engine_picks_lama_for_a_fill_without_prompt(doc_factory, lama_registry) -> None:
    doc = doc_factory()
    before = doc.flatten()
    seen: list[str] = []
    req = make_request(doc, "inpaint", prompt="")  # model "auto"
    result = default_engine(lama_registry, device="cpu").run(req, lambda p: seen.append(p.phase))
    assert result.backend == "lama" and result.model_name == "LaMa"
    assert seen and all("LaMa" in s for s in seen)
    sel = req.selection()
    inner = cv2.erode(sel, np.ones((5, 5), np.uint8)) > 0
    assert (result.images[0][inner] == COLOUR).all()
    # blended like every fill: the result over the original through the blend mask
    shown = composite.variant_over_original(result, 0)
    full = result.alpha == 255
    assert (shown[full & inner] == COLOUR).all()
    n = len(doc.layers)
    layer = apply_result(doc, result, 0)
    assert len(doc.layers) == n + 1 and "LaMa" in layer.name
    rec = layer.provenance
    assert rec is not None and rec["backend"] == "lama" and rec["model_name"] == "LaMa"
    assert "Model: LaMa" in parameters_text(rec)
    after = doc.flatten()
    outside = doc.selection == 0
    assert np.array_equal(before[outside], after[outside])
    assert not np.array_equal(before, after)
    doc.history.undo()  # one undo step
    assert layer not in doc.layers and np.array_equal(doc.flatten(), before)


def test_automatic_choice(doc_factory, empty_registry, lama_registry) -> None:
    doc = doc_factory()
    plain = make_request(doc, "inpaint", prompt="")
    assert default_engine(empty_registry, device="cpu").run(plain).backend == "classical"
    engine = default_engine(lama_registry, device="cpu")
    assert engine.run(plain).backend == "lama"
    # a prompt, or the classical fill asked for by name, is not LaMa's
    assert engine.run(make_request(doc, "inpaint", prompt="a cat")).backend == "classical"
    assert engine.run(make_request(doc, "inpaint", prompt="",
                                   model="classical")).backend == "classical"
    assert engine.run(make_request(doc, "inpaint", prompt="", model="lama")).backend == "lama"


def test_lama_by_name_without_it_says_what_to_install(doc_factory, empty_registry) -> None:
    req = make_request(doc_factory(), "inpaint", prompt="", model="lama")
    with pytest.raises(RequestError, match="model manager"):
        default_engine(empty_registry, device="cpu").run(req)


def test_cancel_before_the_run_changes_nothing(doc_factory, lama_registry, tmp_path) -> None:
    doc = doc_factory()
    before = doc.flatten()
    n = len(doc.layers)
    engine = default_engine(lama_registry, device="cpu")
    with pytest.raises(Cancelled):
        engine.run(make_request(doc, "inpaint", prompt=""), None, lambda: True)
    assert len(doc.layers) == n and np.array_equal(doc.flatten(), before)
    # cancel raised after the network ran: no result either
    img, mask = _picture()
    path = tiny_lama(tmp_path / "lama.onnx")
    lama.load(path)
    calls = iter([False, True])
    with pytest.raises(Cancelled):
        lama.fill(img, mask, path, lambda: next(calls))
    assert engine.run(make_request(doc, "inpaint", prompt="")).backend == "lama"  # works after


def test_a_corrupt_file_names_itself_in_two_lines(doc_factory, lama_registry) -> None:
    path = lama_registry.lama()
    assert path is not None
    path.write_bytes(b"this is not an onnx graph" * 10)
    req = make_request(doc_factory(), "inpaint", prompt="")
    with pytest.raises(AiError) as err:
        default_engine(lama_registry, device="cpu").run(req)
    text = str(err.value)
    assert "lama_fp32.onnx" in text and len(text.splitlines()) <= 2


def test_catalogue_and_registry_list_the_file(empty_registry, lama_registry) -> None:
    entry = catalogue_entry("lama")
    assert entry is not None and entry.kind == INPAINTER == entry.arch
    assert entry.repo_id == "Carve/LaMa-ONNX" and entry.allow_patterns == ("lama_fp32.onnx",)
    assert entry.licence.startswith("Apache-2.0") and 200 <= entry.size_mb <= 220
    assert empty_registry.lama() is None and not empty_registry.is_downloaded("lama")
    assert lama_registry.is_downloaded("lama") and "lama" not in lama_registry.problems()
    assert all(m.id != "lama" for m in lama_registry.models())  # not a model that paints


# ---- MI-GAN: the light object remover, through the same backend -----------------------------
def test_migan_fills_only_the_selection_with_its_pipeline(tmp_path: Path) -> None:
    img, mask = _picture()
    path = tiny_migan(tmp_path / "migan.onnx")
    assert isinstance(lama.load(path), lama.MiganNet)
    out = lama.fill(img, mask, path)
    assert np.array_equal(out[mask == 0], img[mask == 0])
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0
    assert (out[inner] == COLOUR).all()
    # a big selection is sent at most MIGAN_SIDE px and pasted back at full size
    big = np.zeros((3000, 4000, 3), np.uint8)
    big_mask = np.zeros((3000, 4000), np.uint8)
    cv2.rectangle(big_mask, (500, 500), (3500, 2500), 255, -1)
    out = lama.fill(big, big_mask, path)
    assert (out[600:2400, 600:3400] == COLOUR).all() and not out[:400].any()


def test_migan_through_the_engine_by_name_and_automatically(doc_factory, empty_registry,
                                                            tmp_path) -> None:
    doc = doc_factory()
    reg = ModelRegistry(tmp_path / "m", allow_pickle=False)
    install_tiny_migan(reg)
    engine = default_engine(reg, device="cpu")
    plain = make_request(doc, "inpaint", prompt="")
    result = engine.run(plain)      # no LaMa installed: MI-GAN is the automatic choice
    assert result.backend == "lama" and result.model_name == "MI-GAN"
    inner = cv2.erode(plain.selection(), np.ones((5, 5), np.uint8)) > 0
    assert (result.images[0][inner] == COLOUR).all()
    layer = apply_result(doc, result, 0)
    assert layer.name == "AI Fill (MI-GAN)" and layer.provenance["model_name"] == "MI-GAN"
    assert "Model: MI-GAN" in parameters_text(layer.provenance)
    by_name = engine.run(make_request(doc, "inpaint", prompt="", model="migan"))
    assert by_name.model_name == "MI-GAN"
    install_tiny_lama(reg)          # both installed: LaMa is the automatic choice
    assert engine.run(plain).model_name == "LaMa"
    assert engine.run(make_request(doc, "inpaint", prompt="", model="migan")
                      ).model_name == "MI-GAN"
    with pytest.raises(RequestError, match="MI-GAN.*model manager"):
        default_engine(empty_registry, device="cpu").run(
            make_request(doc, "inpaint", prompt="", model="migan"))
    with pytest.raises(RequestError, match="MI-GAN only fills selections"):
        engine.run(make_request(doc, "img2img", prompt="x", model="migan"))


def test_migan_catalogue_entry(empty_registry, tmp_path) -> None:
    entry = catalogue_entry("migan")
    assert entry is not None and entry.arch == INPAINTER
    assert entry.repo_id == "andraniksargsyan/migan"
    assert entry.allow_patterns == ("migan_pipeline_v2.onnx",)
    assert entry.licence.startswith("MIT") and entry.size_mb < 40
    reg = ModelRegistry(tmp_path / "m", allow_pickle=False)
    assert reg.migan() is None and not reg.is_downloaded("migan")
    install_tiny_migan(reg)
    assert reg.is_downloaded("migan") and "migan" not in reg.problems()
    assert reg.lama() is None and not reg.is_downloaded("lama")


def test_a_file_with_uint8_inputs_that_is_not_migan_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["pic"], ["out"])], "other",
        [helper.make_tensor_value_info("pic", TensorProto.UINT8, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.UINT8, [1, 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    path = tmp_path / "other.onnx"
    onnx.save(model, str(path))
    with pytest.raises(AiError) as err:
        lama.load(path)
    assert "other.onnx" in str(err.value) and "not an MI-GAN pipeline" in str(err.value)

"""LoRAs and textual-inversion embeddings: files checked and added through the model source
(models/loras.py), then applied by the real tiny SD / SDXL pipelines through the engine
(backends/local_lora.py): what they change, weight 0 and removal bit for bit, switching without
reloading, wrong-base / damaged / pickle files refused by name, `<lora:>` tags, the records and
the PNG parameters, Re-run and the command line."""
from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiart_desktop.ai.capture import make_request, params_from_record
from aiart_desktop.ai.conditioning import LoraRef
from aiart_desktop.ai.errors import AiError, RequestError
from aiart_desktop.ai.models import lora_files, loras
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from tests.support.models import make_doc
from tests.support.tiny_loras import (
    build_embedding,
    build_lora,
    build_pickle,
    tag_frequency,
)


@pytest.fixture(scope="module")
def lora_dir(model_folders, tmp_path_factory) -> Path:
    """LoRA and embedding files for the tiny models, built once for the module."""
    d = tmp_path_factory.mktemp("lora-files")
    build_lora(model_folders["sd"], d / "ink.safetensors", metadata=tag_frequency(
        {"blue": 2, "inkstyle": 9, "sketch": 4}))
    build_lora(model_folders["sd"], d / "ink_kohya.safetensors", layout="kohya")
    build_lora(model_folders["sd"], d / "paper.safetensors", seed=7, text_encoder=False)
    build_lora(model_folders["sdxl"], d / "xl_style.safetensors", arch="sdxl", seed=3)
    build_lora(model_folders["sdxl"], d / "xl_kohya.safetensors", arch="sdxl", seed=3,
               layout="kohya")
    build_embedding(d / "inkemb.safetensors")
    build_embedding(d / "xlemb.safetensors", arch="sdxl")
    return d


@pytest.fixture(scope="module")
def reg(model_folders, lora_dir, tmp_path_factory) -> ModelRegistry:
    r = ModelRegistry(tmp_path_factory.mktemp("lora-models"), allow_pickle=False)
    for name in ("sd", "sdxl", "sd-inpaint", "sdxl-inpaint"):
        r.add_folder(model_folders[name], name=name)
    for name in ("ink", "ink_kohya", "paper", "xl_style", "xl_kohya"):
        r.add_lora(lora_dir / f"{name}.safetensors")
    for name in ("inkemb", "xlemb"):
        r.add_embedding(lora_dir / f"{name}.safetensors")
    return r


@pytest.fixture(scope="module")
def lora_engine(reg):
    return default_engine(reg, device="cpu")


def _run(engine, model: str = "sd", prompt: str = "a cat", **kw):
    doc = make_doc(64, None)
    kw.setdefault("steps", 2)
    kw.setdefault("seed", 3)
    req = make_request(doc, "txt2img", target="image", prompt=prompt, model=model, **kw)
    return engine.run(req)


def _px(engine, model: str = "sd", prompt: str = "a cat", **kw) -> np.ndarray:
    return _run(engine, model, prompt, **kw).images[0]


# ---- files ----------------------------------------------------------------------------------
def test_added_files_are_listed_with_arch_layout_and_triggers(reg, lora_dir) -> None:
    infos = {i.id: i for i in reg.loras()}
    assert set(infos) == {"ink", "ink_kohya", "paper", "xl_style", "xl_kohya"}
    assert (infos["ink"].arch, infos["ink"].layout) == ("sd", "diffusers")
    assert (infos["ink_kohya"].arch, infos["ink_kohya"].layout) == ("sd", "kohya")
    assert infos["xl_style"].arch == infos["xl_kohya"].arch == "sdxl"
    assert infos["ink"].triggers == ("inkstyle", "sketch", "blue")  # most frequent first
    assert infos["ink"].path == reg.root / "loras" / "ink.safetensors"
    assert infos["ink"].path.read_bytes() == (lora_dir / "ink.safetensors").read_bytes()
    emb = {e.id: e for e in reg.embeddings()}
    assert (emb["inkemb"].arch, emb["inkemb"].vectors) == ("sd", 2)
    assert emb["xlemb"].arch == "sdxl"
    assert reg.resolve_lora("INK").id == "ink"  # any case, as A1111
    with pytest.raises(AiError, match="nope"):
        reg.resolve_lora("nope")


def test_lora_hash_is_a1111s_addnet_hash(reg, lora_dir) -> None:
    raw = (lora_dir / "ink.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    expected = hashlib.sha256(raw[8 + n:]).hexdigest()
    info = reg.resolve_lora("ink")
    assert reg.lora_sha256(info) == info.sha256 == expected  # computed while copying in
    assert info.short_hash == expected[:12]
    facts = json.loads((reg.root / "addon-facts.json").read_text())
    assert expected in json.dumps(facts)


def test_listing_reads_no_file_it_has_seen(reg, monkeypatch) -> None:
    reg.loras()

    def no_reading(path):  # a cached file is never opened again
        raise AssertionError(f"{path} read again")

    for module in (loras, lora_files):
        monkeypatch.setattr(module, "read_header", no_reading)
    monkeypatch.setattr(lora_files, "safetensors_header", no_reading)
    assert len(reg.loras()) == 5 and len(reg.embeddings()) == 2


def _two_lines_naming(exc: BaseException, name: str) -> None:
    text = str(exc)
    assert name in text and len(text.splitlines()) <= 2


def test_pickle_damaged_and_wrong_files_are_refused_by_name(tmp_path, lora_dir) -> None:
    r = ModelRegistry(tmp_path / "models", allow_pickle=False)
    pt = build_pickle(tmp_path / "evil.pt")
    with pytest.raises(AiError) as e:
        r.add_lora(pt)
    _two_lines_naming(e.value, "evil.pt")
    assert "pickle" in str(e.value)
    with pytest.raises(AiError) as e:
        r.add_embedding(pt)
    _two_lines_naming(e.value, "evil.pt")
    good = (lora_dir / "ink.safetensors").read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(AiError) as e:
        r.add_lora(cut)
    _two_lines_naming(e.value, "cut.safetensors")
    assert "truncated" in str(e.value)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(AiError) as e:
        r.add_lora(junk)
    _two_lines_naming(e.value, "junk.safetensors")
    with pytest.raises(AiError) as e:  # an embedding is no LoRA, and the other way round
        r.add_lora(lora_dir / "inkemb.safetensors")
    _two_lines_naming(e.value, "inkemb.safetensors")
    with pytest.raises(AiError) as e:
        r.add_embedding(lora_dir / "ink.safetensors")
    _two_lines_naming(e.value, "ink.safetensors")
    assert not (r.root / "loras").exists() or not list((r.root / "loras").iterdir())
    assert r.loras() == [] and r.embeddings() == []


def test_a_damaged_file_in_the_folder_is_left_out_and_remove_deletes(tmp_path, lora_dir) -> None:
    r = ModelRegistry(tmp_path / "models", allow_pickle=False)
    r.add_lora(lora_dir / "paper.safetensors")
    (r.root / "loras" / "broken.safetensors").write_bytes(b"\x00" * 4)
    assert [i.id for i in r.loras()] == ["paper"]
    r.add_lora(lora_dir / "paper.safetensors")  # the same file again: nothing changes
    other = tmp_path / "other" / "paper.safetensors"
    build_lora_copy = (lora_dir / "ink.safetensors").read_bytes()
    other.parent.mkdir()
    other.write_bytes(build_lora_copy)
    with pytest.raises(AiError, match="already installed"):
        r.add_lora(other)
    r.remove_lora("paper")
    assert not (r.root / "loras" / "paper.safetensors").exists() and r.loras() == []


# ---- through the pipeline ---------------------------------------------------------------------
def test_lora_changes_the_picture_weight_zero_and_removal_are_bit_exact(lora_engine) -> None:
    base = _px(lora_engine)
    one = _px(lora_engine, loras=(LoraRef("ink", 1.0),))
    assert np.abs(one.astype(int) - base).max() > 10
    assert np.array_equal(_px(lora_engine, loras=(LoraRef("ink", 0.0),)), base)
    assert np.array_equal(_px(lora_engine), base)  # removed: the base output, bit for bit
    half = _px(lora_engine, loras=(LoraRef("ink", 0.5),))
    assert not np.array_equal(half, one) and not np.array_equal(half, base)
    assert np.array_equal(_px(lora_engine, loras=(LoraRef("ink", 1.0),)), one)


def test_prompt_tag_reaches_the_pipeline_like_a_lora_ref(lora_engine) -> None:
    by_ref = _px(lora_engine, prompt="a cat", loras=(LoraRef("ink", 0.5),))
    tagged = _run(lora_engine, prompt="a cat <lora:ink:0.5>")
    assert np.array_equal(tagged.images[0], by_ref)
    assert tagged.record()["prompt"] == "a cat <lora:ink:0.5>"  # the record keeps it as typed
    # the request's weight wins over the prompt's
    both = _px(lora_engine, prompt="a cat <lora:ink:0.9>", loras=(LoraRef("ink", 0.5),))
    assert np.array_equal(both, by_ref)
    assert np.array_equal(_px(lora_engine, prompt="a cat <lora:ink:0>"), _px(lora_engine))


def test_kohya_layout_applies_the_same_weights(lora_engine) -> None:
    a = _px(lora_engine, loras=(LoraRef("ink", 1.0),))
    b = _px(lora_engine, loras=(LoraRef("ink_kohya", 1.0),))
    assert np.abs(a.astype(int) - b).max() <= 1  # same LoRA, other key layout


def test_switching_loras_keeps_the_model_and_reads_each_file_once(reg) -> None:
    engine = default_engine(reg, device="cpu")
    backend = engine.backend("diffusers")
    loads = []
    real = backend._load_base
    backend._load_base = lambda *a: loads.append(a) or real(*a)
    base = _px(engine)
    pipe = backend._pipes["StableDiffusionPipeline"]
    a = _px(engine, loras=(LoraRef("ink", 0.8),))
    b = _px(engine, loras=(LoraRef("paper", 1.0),))
    ab = _px(engine, loras=(LoraRef("ink", 0.8), LoraRef("paper", 1.0)))
    assert len({x.tobytes() for x in (base, a, b, ab)}) == 4
    assert np.array_equal(_px(engine, loras=(LoraRef("ink", 0.8),)), a)
    assert np.array_equal(_px(engine), base)
    assert len(loads) == 1 and backend._pipes["StableDiffusionPipeline"] is pipe
    assert backend._addons.loads == 2  # each LoRA file read once


def test_wrong_base_and_unknown_loras_are_refused_by_name(lora_engine) -> None:
    with pytest.raises(RequestError) as e:
        _run(lora_engine, loras=(LoraRef("xl_style", 1.0),))
    text = str(e.value)
    assert "xl_style" in text and "SDXL" in text and "SD 1.5" in text and "sd" in text
    assert len(text.splitlines()) <= 2
    with pytest.raises(RequestError, match="ink"):
        _run(lora_engine, "sdxl", "a cat <lora:ink:1>")
    with pytest.raises(RequestError, match="ghost"):
        _run(lora_engine, prompt="a cat <lora:ghost:0.3>")
    base = _px(lora_engine)  # and the engine still works, with no LoRA left behind
    assert np.array_equal(base, _px(lora_engine, loras=(LoraRef("ink", 0.0),)))


def test_sdxl_loras_both_layouts(lora_engine) -> None:
    base = _px(lora_engine, "sdxl")
    a = _px(lora_engine, "sdxl", loras=(LoraRef("xl_style", 1.0),))
    b = _px(lora_engine, "sdxl", loras=(LoraRef("xl_kohya", 1.0),))
    assert np.abs(a.astype(int) - base).max() > 10
    assert np.abs(a.astype(int) - b).max() <= 1
    assert np.array_equal(_px(lora_engine, "sdxl", loras=(LoraRef("xl_style", 0.0),)), base)
    assert np.array_equal(_px(lora_engine, "sdxl"), base)


def test_embedding_called_by_name_changes_the_picture(reg, lora_engine, lora_dir) -> None:
    plain = _px(lora_engine, prompt="a cat")
    with_emb = _px(lora_engine, prompt="a InkEmb cat")   # any case, as A1111
    reg.remove_embedding("inkemb")
    try:
        without = _px(lora_engine, prompt="a InkEmb cat")  # just letters now
    finally:
        reg.add_embedding(lora_dir / "inkemb.safetensors")
    assert np.abs(with_emb.astype(int) - without).max() > 10
    assert np.array_equal(_px(lora_engine, prompt="a InkEmb cat"), with_emb)
    assert np.array_equal(_px(lora_engine, prompt="a cat"), plain)  # unloaded again
    neg = _px(lora_engine, prompt="a cat", negative_prompt="inkemb")
    neg_text = _px(lora_engine, prompt="a cat", negative_prompt="inkem")
    assert not np.array_equal(neg, neg_text)


def test_sdxl_embedding_in_the_negative_prompt(lora_engine) -> None:
    base = _px(lora_engine, "sdxl", negative_prompt="blurry")
    neg = _px(lora_engine, "sdxl", negative_prompt="blurry, xlemb")
    txt = _px(lora_engine, "sdxl", negative_prompt="blurry, xlem")
    assert not np.array_equal(neg, txt) and not np.array_equal(neg, base)
    assert np.array_equal(_px(lora_engine, "sdxl", negative_prompt="blurry"), base)


# ---- records --------------------------------------------------------------------------------
def test_record_parameters_and_rerun_keep_loras_and_embeddings(reg, lora_engine) -> None:
    r = _run(lora_engine, prompt="a inkemb cat <lora:paper:0.6>", loras=(LoraRef("ink", 0.5),))
    rec = r.record(0)
    ink, paper = reg.resolve_lora("ink"), reg.resolve_lora("paper")
    assert rec["loras"] == [{"name": "ink", "weight": 0.5}]
    assert rec["lora_hashes"] == {"paper": reg.lora_sha256(paper), "ink": reg.lora_sha256(ink)}
    emb = next(e for e in reg.embeddings() if e.id == "inkemb")
    assert rec["embeddings"] == {"inkemb": hashlib.sha256(emb.path.read_bytes()).hexdigest()}
    text = r.parameters(0)
    first, *_ = text.splitlines()
    assert first == "a inkemb cat <lora:paper:0.6> <lora:ink:0.5>"
    assert (f'Lora hashes: "paper: {reg.lora_sha256(paper)[:12]}, '
            f'ink: {reg.lora_sha256(ink)[:12]}"') in text
    assert f'TI hashes: "inkemb: {rec["embeddings"]["inkemb"][:12]}"' in text
    op, params = params_from_record(rec, "sd")
    assert params["loras"] == (LoraRef("ink", 0.5),)
    assert params["prompt"] == "a inkemb cat <lora:paper:0.6>"
    again = lora_engine.run(make_request(make_doc(64, None), op, target="image", **params))
    assert np.array_equal(again.images[0], r.images[0])


def test_cli_lora_option(tmp_path, reg, capsys) -> None:
    from aiart_desktop.cli import main as cli_main

    outs = []
    for extra in ([], ["--lora", "ink:0.5"], ["--prompt", "a cat <lora:ink:0.5>"]):
        out = tmp_path / f"out{len(outs)}.png"
        args = ["run", "txt2img", "--prompt", "a cat", "--width", "64", "--height", "64",
                "--model", "sd", "--seed", "3", "--steps", "2", "--models-dir", str(reg.root),
                "--device", "cpu", "-q", "-o", str(out), *extra]
        assert cli_main(args) == 0, capsys.readouterr().err
        with Image.open(out) as im:
            outs.append((np.asarray(im.convert("RGB")), im.text["parameters"]))
    assert not np.array_equal(outs[0][0], outs[1][0])
    assert np.array_equal(outs[1][0], outs[2][0])
    assert "<lora:ink:0.5>" in outs[1][1] and 'Lora hashes: "ink: ' in outs[1][1]
    bad = ["run", "txt2img", "--prompt", "x", "--width", "64", "--height", "64", "--model", "sd",
           "--models-dir", str(reg.root), "--device", "cpu", "-q", "-o",
           str(tmp_path / "bad.png"), "--lora", "xl_style"]
    assert cli_main(bad) == 2
    err = capsys.readouterr().err
    assert "xl_style" in err and "SDXL" in err


def test_an_embedding_named_like_a_known_word_is_refused_by_name(reg, lora_engine,
                                                                  tmp_path) -> None:
    reg.add_embedding(build_embedding(tmp_path / "q.safetensors"))  # "q" is in the vocabulary
    try:
        with pytest.raises(AiError) as e:
            _run(lora_engine, prompt="a q cat")
        _two_lines_naming(e.value, "q.safetensors")
        assert "rename" in str(e.value)
    finally:
        reg.remove_embedding("q")
    assert np.array_equal(_px(lora_engine, prompt="a q cat"), _px(lora_engine, prompt="a q cat"))


def test_one_lora_named_twice_counts_once(lora_engine) -> None:
    ref = _px(lora_engine, loras=(LoraRef("ink", 0.5),))
    twice = _run(lora_engine, prompt="a cat <lora:INK:0.9>", loras=(LoraRef("ink", 0.5),))
    assert np.array_equal(twice.images[0], ref)  # the request's weight, applied once


@pytest.mark.parametrize(("model", "lora"), [("sd-inpaint", "ink"), ("sdxl-inpaint", "xl_style")])
def test_fill_selection_on_inpainting_models_with_loras_and_weights(lora_engine, model,
                                                                    lora) -> None:
    def fill(prompt: str, **kw) -> np.ndarray:
        req = make_request(make_doc(), "inpaint", prompt=prompt, model=model, steps=2, seed=4,
                           **kw)
        return lora_engine.run(req).images[0]

    plain = fill("a red boat")
    assert np.array_equal(fill(f"a red boat <lora:{lora}:0>"), plain)
    assert not np.array_equal(fill(f"a red boat <lora:{lora}:1>"), plain)
    assert not np.array_equal(fill("a (red:1.6) boat"), plain)
    assert np.array_equal(fill("a red boat", loras=(LoraRef(lora, 0.0),)), plain)


def test_unused_loras_are_dropped_when_memory_runs_short(reg) -> None:
    engine = default_engine(reg, device="cpu")
    backend = engine.backend("diffusers")
    ink = _px(engine, loras=(LoraRef("ink", 0.8),))
    paper = _px(engine, loras=(LoraRef("paper", 1.0),))
    addons = backend._addons
    assert len(addons.adapters) == 2
    addons.trim(backend._pipes["StableDiffusionPipeline"])  # what an out-of-memory retry does
    assert list(addons.adapters.values()) == [addons.active[0][0]]
    assert np.array_equal(_px(engine, loras=(LoraRef("paper", 1.0),)), paper)
    assert np.array_equal(_px(engine, loras=(LoraRef("ink", 0.8),)), ink)  # read again
    assert addons.loads == 3

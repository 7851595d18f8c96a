"""Prompt syntax as A1111 users type it (ai/prompt_syntax.py) and the weighted / long prompt
embeddings compel makes from it on the real tiny SD and SDXL pipelines (backends/local_lora.py):
emphasis changes the embeddings where it should, a plain prompt keeps the pipeline's own path,
a prompt past 77 tokens is not cut, and the engine's pictures follow."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aiart_desktop.ai.backends.local import LocalBackend, _lerp_prompts
from aiart_desktop.ai.backends.local_lora import weighted_prompts
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.conditioning import LoraRef
from aiart_desktop.ai.errors import RequestError
from aiart_desktop.ai.job import Job
from aiart_desktop.ai.latents import INTERPOLATE, LatentMix
from aiart_desktop.ai.prompt_syntax import (
    emphasis,
    needs_weighting,
    split_loras,
    used_embeddings,
    with_embedding_names,
)
from tests.support.models import make_doc

LONG = ", ".join(["a red house by the sea"] * 8)   # ~180 tokens of the tiny byte-level vocab


# ---- the notation ---------------------------------------------------------------------------
def test_emphasis_reads_a1111_notation() -> None:
    assert emphasis("a (red:1.3) fox, [blurry]") == [
        ("a ", 1.0), ("red", 1.3), (" fox, ", 1.0), ("blurry", pytest.approx(1 / 1.1))]
    assert emphasis("((cat))") == [("cat", pytest.approx(1.21))]
    assert emphasis("(a [b] c:1.5)") == [("a ", 1.5), ("b", pytest.approx(1.5 / 1.1)),
                                         (" c", 1.5)]
    assert emphasis(r"a \(cat\) sat") == [("a (cat) sat", 1.0)]
    assert emphasis("(open to the end") == [("open to the end", pytest.approx(1.1))]
    assert emphasis("time: 5pm, x) y") == [("time: 5pm, x) y", 1.0)]
    assert not needs_weighting("a cat, sitting: still") and not needs_weighting("")
    assert needs_weighting("a (cat)") and needs_weighting(r"a \(cat\)")


def test_lora_tags_come_out_of_the_prompt() -> None:
    assert split_loras("a fox <lora:ink:0.7>, <LYCO:paper>") == (
        "a fox", (LoraRef("ink", 0.7), LoraRef("paper", 1.0)))
    assert split_loras("<lora:ink:0.2> a fox <lora:ink:0.9>")[1] == (LoraRef("ink", 0.9),)
    assert split_loras("<lora:ink:te=0.3:unet=0.6> x")[1] == (LoraRef("ink", 0.6),)
    assert split_loras("a <b> c") == ("a <b> c", ())
    with pytest.raises(RequestError, match="<lora:ink:lots>"):
        split_loras("a <lora:ink:lots>")
    with pytest.raises(RequestError):
        split_loras("a <lora:ink:9>")  # past the weight range


def test_embedding_words() -> None:
    names = ["easyneg", "fox"]
    assert used_embeddings(["a Fox", "EasyNeg, blurry"], names) == ["easyneg", "fox"]
    assert used_embeddings(["foxes, easyneg-v2"], names) == []
    assert with_embedding_names("EASYNEG and a FOX", names) == "easyneg and a fox"


# ---- embeddings on the tiny pipelines -------------------------------------------------------
@pytest.fixture(scope="module")
def pipes(registry):
    """The tiny SD and SDXL base pipelines loaded by the app's own backend."""
    import torch

    out = {}
    for arch in ("sd", "sdxl"):
        b = LocalBackend(registry, "cpu")
        b.load(registry.inspect(arch))
        out[arch] = next(iter(b._pipes.values()))
    return out, torch


def test_plain_prompts_keep_the_pipelines_path(pipes) -> None:
    (p, torch) = pipes
    for arch in ("sd", "sdxl"):
        assert weighted_prompts(p[arch], arch, [("a cat, sitting", "blurry")], torch) is None


def test_unit_weight_equals_the_pipelines_own_encoding(pipes) -> None:
    (p, torch) = pipes
    kw = weighted_prompts(p["sd"], "sd", [("a (cat:1.0)", "")], torch)[0]
    with torch.no_grad():
        pe, ne = p["sd"].encode_prompt("a cat", "cpu", 1, True, negative_prompt=None)
    assert torch.equal(kw["prompt_embeds"], pe) and torch.equal(kw["negative_prompt_embeds"], ne)
    kw = weighted_prompts(p["sdxl"], "sdxl", [("a (cat:1.0)", "")], torch)[0]
    with torch.no_grad():
        pe, ne, pp, npp = p["sdxl"].encode_prompt("a cat", device="cpu",
                                                  num_images_per_prompt=1,
                                                  do_classifier_free_guidance=True)
    assert torch.equal(kw["prompt_embeds"], pe) and torch.equal(kw["pooled_prompt_embeds"], pp)
    assert torch.equal(kw["negative_prompt_embeds"], ne)  # zeros, as SDXL does for ""
    assert torch.equal(kw["negative_pooled_prompt_embeds"], npp)


@pytest.mark.parametrize("arch", ["sd", "sdxl"])
def test_emphasis_changes_the_weighted_tokens_only(pipes, arch) -> None:
    (p, torch) = pipes
    plain = weighted_prompts(p[arch], arch, [("a (cat:1.0) sat", "")], torch)[0]
    up = weighted_prompts(p[arch], arch, [("a (cat:1.5) sat", "")], torch)[0]
    down = weighted_prompts(p[arch], arch, [("a [cat] sat", "")], torch)[0]
    a, b, c = plain["prompt_embeds"][0], up["prompt_embeds"][0], down["prompt_embeds"][0]
    # tokens: <start> "a" then "c" "a" "t" (the tiny vocabulary spells words out)
    assert torch.allclose(a[:2], b[:2], atol=1e-5)          # before "cat": as it was
    assert (b[2:5] - a[2:5]).abs().max() > 1e-2             # "cat" emphasised
    assert (c - a).abs().max() > 1e-3 and (c - b).abs().max() > 1e-2
    assert torch.equal(up["negative_prompt_embeds"], plain["negative_prompt_embeds"])


@pytest.mark.parametrize("arch", ["sd", "sdxl"])
def test_long_prompts_are_not_cut(pipes, arch) -> None:
    (p, torch) = pipes
    assert len(p[arch].tokenizer(LONG).input_ids) > 77
    kw = weighted_prompts(p[arch], arch, [(LONG, "blurry")], torch)[0]
    n = kw["prompt_embeds"].shape[1]
    assert n > 77 and n % 77 == 0
    assert kw["negative_prompt_embeds"].shape == kw["prompt_embeds"].shape
    if arch == "sdxl":
        assert kw["pooled_prompt_embeds"].shape == (1, 32)


def test_lerped_prompts_with_weights_and_lengths(pipes) -> None:
    (p, torch) = pipes
    job = Job(op="txt2img", model="sd", prompt=LONG, negative_prompt="", prompt_b="a (dog:1.4)",
              seeds=(1,), width=64, height=64)
    out = _lerp_prompts(p["sd"], "sd", job, 0.5, 7.0, torch)
    assert out["prompt_embeds"].shape[1] > 77
    assert out["prompt_embeds"].shape == out["negative_prompt_embeds"].shape


# ---- through the engine ---------------------------------------------------------------------
def _px(engine, prompt: str, model: str = "sd", **kw) -> np.ndarray:
    req = make_request(make_doc(64, None), "txt2img", target="image", prompt=prompt,
                       model=model, steps=2, seed=5, **kw)
    return engine.run(req).images[0]


@pytest.mark.parametrize("model", ["sd", "sdxl"])
def test_engine_pictures_follow_the_weights(engine, model) -> None:
    plain = _px(engine, "a cat sat", model)
    assert np.array_equal(_px(engine, "a (cat:1.0) sat", model), plain)
    up = _px(engine, "a (cat:1.8) sat", model)
    assert not np.array_equal(up, plain)  # the tiny SDXL UNet listens faintly to its text
    assert np.array_equal(_px(engine, "a cat sat", model), plain)


def test_engine_reads_past_77_tokens(engine) -> None:
    a = _px(engine, LONG + ", under a green sky")
    b = _px(engine, LONG + ", under a black sky")
    assert not np.array_equal(a, b)  # the words past token 77 count


def test_interpolation_endpoints_with_a_weighted_prompt(engine) -> None:
    doc = make_doc(64, None)
    a = engine.run(make_request(doc, "txt2img", target="image", prompt="a (red:1.6) boat",
                                model="sd", steps=2, seed=7))
    b = engine.run(make_request(doc, "txt2img", target="image", prompt="a blue whale",
                                model="sd", steps=2, seed=90))
    mix = LatentMix(INTERPOLATE, (90, 90), (0.0, 1.0), "a blue whale", "")
    inter = engine.run(dataclasses.replace(a.request, mix=mix, batch_size=2))
    assert np.array_equal(inter.images[0], a.images[0])
    assert np.abs(inter.images[1].astype(int) - b.images[0]).max() <= 1


BUNDLE_LIKE = """
import importlib.abc, sys
class LeftOut(importlib.abc.MetaPathFinder):  # as in the bundle: diffusers' SD / SDXL only
    def find_spec(self, name, path, target=None):
        if name.startswith(("diffusers.pipelines.flux", "diffusers.pipelines.sana",
                            "diffusers.pipelines.lumina2")):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, LeftOut())
import torch
from diffusers import StableDiffusionPipeline
from aiart_desktop.ai.backends.local_lora import weighted_prompts
pipe = StableDiffusionPipeline.from_pretrained(sys.argv[1], safety_checker=None,
                                               requires_safety_checker=False)
kw = weighted_prompts(pipe, "sd", [("a (cat:1.4)", "")], torch)[0]
print(tuple(kw["prompt_embeds"].shape))
"""


def test_compel_works_without_the_pipelines_the_bundle_leaves_out(model_folders) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", BUNDLE_LIKE, str(model_folders["sd"])],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "(1, 77, 32)"

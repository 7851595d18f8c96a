"""Latent-space exploration through the real (tiny, random-weight) diffusers pipelines:
in-between frames, "more like this", their records, cancel, style presets."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.errors import Cancelled, RequestError
from aiart_desktop.ai.latents import INTERPOLATE, MORE_LIKE_THIS, LatentMix
from aiart_desktop.ai.requests import request_params


def _req(doc, op: str, model: str, **kw):
    if op == "outpaint":
        kw.setdefault("direction", "right")
        kw.setdefault("pixels", 32)
    kw.setdefault("steps", 2)
    kw.setdefault("prompt", "a red boat")
    return make_request(doc, op, model=model, **kw)


def _between(req, b_seed: int, ts, prompt_b=None, negative_b=None):
    mix = LatentMix(INTERPOLATE, (b_seed,) * len(ts), tuple(ts), prompt_b, negative_b)
    return dataclasses.replace(req, mix=mix, batch_size=len(ts))


# (model, op, sampler): deterministic and ancestral samplers, 4- and 9-channel UNets, SDXL.
ENDS = [("sd", "txt2img", "euler_a"), ("sd", "txt2img", "ddim"), ("sd", "inpaint", "euler_a"),
        ("sd-inpaint", "inpaint", "dpmpp_2m"), ("sd", "img2img", "euler_a"),
        ("sdxl", "txt2img", "euler_a"), ("sdxl-inpaint", "outpaint", "ddim")]


@pytest.mark.parametrize(("model", "op", "sampler"), ENDS)
def test_frames_at_0_and_1_reproduce_the_endpoints(engine, doc_factory, model, op,
                                                   sampler) -> None:
    doc = doc_factory()
    a = engine.run(_req(doc, op, model, seed=7, scheduler=sampler))
    b_req = _req(doc, op, model, seed=90, scheduler=sampler, prompt="a blue whale",
                 negative_prompt="fog")
    b = engine.run(b_req)
    inter = _between(a.request, 90, (0.0, 0.5, 1.0), "a blue whale", "fog")
    r = engine.run(inter)
    assert len(r.images) == 3 and r.seeds == [7, 7, 7]
    assert np.array_equal(r.images[0], a.images[0])   # t = 0: endpoint A, bit for bit
    assert np.array_equal(r.images[2], b.images[0])   # t = 1: endpoint B, prompt B included
    mid = r.images[1].astype(int)
    assert not np.array_equal(mid, r.images[0]) and not np.array_equal(mid, r.images[2])


def test_frames_are_deterministic_and_record_their_endpoints(engine, doc_factory) -> None:
    doc = doc_factory()
    base = _req(doc, "inpaint", "sd", seed=3)
    req = _between(base, 4, (0.25, 0.75), "a green frog")
    x, y = engine.run(req), engine.run(req)
    for p, q in zip(x.images, y.images, strict=True):
        assert p.tobytes() == q.tobytes()
    rec = x.record(1)
    assert rec[INTERPOLATE] == {
        "t": 0.75, "from": {"seed": 3, "prompt": "a red boat", "negative_prompt": ""},
        "to": {"seed": 4, "prompt": "a green frog", "negative_prompt": ""}}
    assert "Variation seed: 4, Variation seed strength: 0.75" in x.parameters(1)
    # Apply: one new layer whose provenance re-makes exactly that frame (from the same picture).
    steps = doc.history.undo_count
    layer = apply_result(doc, x, 1)
    assert doc.history.undo_count == steps + 1 and layer.provenance[INTERPOLATE]["t"] == 0.75
    again = engine.run(make_request(doc_factory(), "inpaint",
                                    **request_params(layer.provenance)))
    assert again.request.mix == LatentMix(INTERPOLATE, (4,), (0.75,), "a green frog", "")
    assert np.array_equal(again.images[0], x.images[1])


def test_cancel_mid_way_raises_cancelled_and_the_next_run_works(engine, doc_factory) -> None:
    req = _between(_req(doc_factory(), "txt2img", "sd", seed=1, steps=3), 2, (0.3, 0.6, 0.9))
    seen = []
    with pytest.raises(Cancelled):  # in the second frame's steps
        engine.run(req, seen.append, cancelled=lambda: len(seen) >= 4)
    assert seen[-1].total == 9 and 3 < seen[-1].step < 9
    with pytest.raises(Cancelled):  # before anything ran
        engine.run(req, None, cancelled=lambda: True)
    r = engine.run(req, seen.append)
    assert len(r.images) == 3 and seen[-1].step == seen[-1].total == 9
    assert seen[-1].picture() is not None  # previews of each frame, made when asked


def test_more_like_this_differs_slightly_and_reproduces_from_its_record(engine,
                                                                        doc_factory) -> None:
    doc = doc_factory()
    src = engine.run(_req(doc, "txt2img", "sd", seed=50))
    other = engine.run(_req(doc, "txt2img", "sd", seed=51))
    mix = LatentMix(MORE_LIKE_THIS, (1000, 1001, 1002), (0.2,) * 3)
    more = engine.run(dataclasses.replace(src.request, mix=mix, batch_size=3))
    base = src.images[0].astype(float)
    far = np.abs(other.images[0].astype(float) - base).mean()
    for im in more.images:
        d = np.abs(im.astype(float) - base).mean()
        assert 0 < d < far  # different, but closer to its source than another seed is
    assert not np.array_equal(more.images[0], more.images[1])
    rec = more.record(2)
    assert rec[MORE_LIKE_THIS] == {"base_seed": 50, "perturbation_seed": 1002, "amount": 0.2}
    assert rec["seed"] == 50 and rec["batch_size"] == 1
    assert "Variation seed: 1002" in more.parameters(2)
    again = engine.run(make_request(doc, "txt2img", **request_params(rec)))
    assert np.array_equal(again.images[0], more.images[2])


def test_mix_validation() -> None:
    with pytest.raises(RequestError, match="one seed and one t"):
        LatentMix(INTERPOLATE, (1, 2), (0.5,))
    with pytest.raises(RequestError, match="between 0 and 1"):
        LatentMix(MORE_LIKE_THIS, (1,), (1.5,))
    with pytest.raises(RequestError, match="unknown latent"):
        LatentMix("zoom", (1,), (0.5,))


def test_mix_needs_a_model_and_a_matching_batch(doc_factory) -> None:
    doc = doc_factory()
    mix = LatentMix(MORE_LIKE_THIS, (1, 2), (0.2, 0.2))
    with pytest.raises(RequestError, match="batch size"):
        _req(doc, "inpaint", "sd", seed=1, mix=mix, batch_size=3)
    with pytest.raises(RequestError, match="diffusion model"):
        _req(doc, "inpaint", "classical", seed=1, mix=mix, batch_size=2)


def test_style_preset_reaches_the_model_and_the_record(engine, doc_factory) -> None:
    doc = doc_factory()
    plain = engine.run(_req(doc, "txt2img", "sd", seed=5, prompt="a cat"))
    styled = engine.run(_req(doc, "txt2img", "sd", seed=5, prompt="a cat",
                             style_preset="Watercolor"))
    spelled = engine.run(_req(doc, "txt2img", "sd", seed=5, prompt="a cat, watercolor "
                              "painting, soft washes, wet-in-wet bleeding edges, paper texture",
                              negative_prompt="photo, photorealistic, hard edges, 3d render"))
    assert not np.array_equal(plain.images[0], styled.images[0])
    assert np.array_equal(styled.images[0], spelled.images[0])  # the phrases, appended
    rec = styled.record(0)
    assert rec["style_preset"] == "Watercolor" and rec["prompt"] == "a cat"
    text = styled.parameters(0)
    assert text.startswith("a cat, watercolor painting") and "Style preset: Watercolor" in text
    assert request_params(rec)["style_preset"] == "Watercolor"
    with pytest.raises(RequestError, match="unknown style preset"):
        _req(doc, "txt2img", "sd", style_preset="Cubism")


def test_img2img_from_a_reference_style(engine, doc_factory, tmp_path) -> None:
    from PIL import Image

    doc = doc_factory()
    plain = engine.run(_req(doc, "img2img", "sd", seed=8, strength=0.5))
    ref = engine.run(_req(doc, "img2img", "sd", seed=8, strength=0.5,
                          style_reference="Style 3"))
    again = engine.run(_req(doc, "img2img", "sd", seed=8, strength=0.5,
                            style_reference="Style 3"))
    assert not np.array_equal(plain.images[0], ref.images[0])
    assert np.array_equal(ref.images[0], again.images[0])
    rec = ref.record(0)
    assert rec["style_reference"] == "Style 3" and rec["style_kind"] == "builtin"
    assert "Style reference: Style 3" in ref.parameters(0)
    assert request_params(rec)["style_reference"] == "Style 3"
    # A picture of the user's: its pixels travel in the request, its digest in the record.
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::8] = (250, 200, 30)
    path = tmp_path / "stripes.png"
    Image.fromarray(stripes).save(path)
    pic = engine.run(_req(doc, "img2img", "sd", seed=8, strength=0.5,
                          style_reference=str(path), style_image=stripes))
    assert pic.record(0)["style_kind"] == "image" and pic.record(0)["style_sha256"]
    assert not np.array_equal(pic.images[0], ref.images[0])
    with pytest.raises(RequestError, match="RGB or RGBA"):
        _req(doc, "img2img", "sd", style_image=np.zeros((4, 4), np.uint8))

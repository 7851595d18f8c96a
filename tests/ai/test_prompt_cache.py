"""Live painting's fast path in the local backend: the prompt's embeddings are encoded once while
the prompt, negative prompt, guidance and model stay the same, and the pictures are bit-identical
to the pipeline encoding the prompt itself."""
from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.ai.capture import make_request

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _local(engine):
    return engine.backend("diffusers")


@pytest.mark.parametrize("model", ["sd", "sdxl"])
@pytest.mark.parametrize("guidance,negative", [(1.0, ""), (5.0, "blurry")])
def test_cached_embeddings_give_the_same_pictures(engine, doc_factory, model, guidance,
                                                  negative) -> None:
    doc = doc_factory()
    req = make_request(doc, "img2img", prompt="a red boat", negative_prompt=negative,
                       model=model, steps=2, strength=0.6, seed=5, guidance=guidance)
    local = _local(engine)
    local.cache_prompts = False
    try:
        plain = engine.run(req).images[0]
    finally:
        local.cache_prompts = True
    before = local.embeds_encoded
    first = engine.run(req).images[0]
    second = engine.run(req).images[0]
    assert local.embeds_encoded == before + 1  # encoded once, then reused
    assert np.array_equal(plain, first) and np.array_equal(first, second)


def test_a_new_prompt_or_guidance_is_encoded_again(engine, doc_factory) -> None:
    doc = doc_factory()
    local = _local(engine)

    def run(**kw):
        kw.setdefault("prompt", "a boat")
        req = make_request(doc, "img2img", model="sd", steps=1, strength=0.5, seed=1,
                           guidance=kw.pop("guidance", 1.0), **kw)
        return engine.run(req).images[0]

    run(prompt="warm up")
    n = local.embeds_encoded
    a = run()
    run()
    assert local.embeds_encoded == n + 1
    b = run(prompt="a castle")
    run(prompt="a castle", guidance=4.0)
    run(prompt="a castle", guidance=4.0, negative_prompt="fog")
    assert local.embeds_encoded == n + 4
    assert not np.array_equal(a, b)

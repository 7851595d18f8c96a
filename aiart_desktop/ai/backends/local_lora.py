"""LoRAs, textual-inversion embeddings and weighted prompts on the local backend's pipelines.

Imports torch, diffusers, peft (through diffusers' loaders) and compel, always inside functions:
the local backend (backends/local.py) calls it on the worker thread.

    addons = Addons()                      # one per LocalBackend, reset when the model changes
    job = addons.apply(pipe, job, models, arch)   # the job's LoRAs and embeddings in the model
    kw = weighted_prompts(pipe, arch, [(prompt, negative)], torch)   # None for plain prompts

- **LoRAs** are loaded with diffusers' `load_lora_weights(file, adapter_name=...)` (kohya / A1111
  and diffusers key layouts; peft injects the layers) into the UNet and text encoders that every
  pipeline of the loaded model shares, then chosen with `set_adapters(names, weights)`. Loaded
  adapters stay cached by file (path, size, time; the least recently used beyond `CACHED` are
  deleted, and all unused ones when the GPU runs out of memory), so changing the set or the
  weights neither reloads the base model nor reads a file again. A LoRA at weight 0 is left
  out; with none left, the LoRA layers are disabled and each wrapped layer runs its base layer
  alone, so the output is the base model's bit for bit.
- **Embeddings** whose file name appears as a word in the prompt or the negative prompt are
  loaded with `load_textual_inversion` under that name (SDXL: `clip_l` into the first text
  encoder, `clip_g` into the second); one no longer used is unloaded, so a plain prompt is
  tokenized exactly as by the base model.
- **Weighted prompts** (A1111's `(word:1.3)`, `(word)`, `[word]`; ai/prompt_syntax.py reads the
  notation) and prompts longer than the text encoder's 77 tokens are encoded by compel (weights
  applied to the token embeddings, long prompts in 77-token chunks, negatives padded to the
  same length); a plain prompt that fits is left to the pipeline, exactly as before.
"""
from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ..errors import MissingDependencyError, ModelLoadError, quoted
from ..job import Job
from ..prompt_syntax import emphasis, needs_weighting, used_embeddings, with_embedding_names

if TYPE_CHECKING:
    from ..models.loras import EmbeddingInfo
    from ..models.source import ModelSource

log = logging.getLogger(__name__)

CACHED = 4  # LoRA adapters kept loaded (more when a job uses more)


def _file_key(path: Any) -> tuple[str, int, int]:
    import os

    st = os.stat(path)
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns)


class Addons:
    """The LoRA adapters and embeddings loaded into one base model (see the module's notes)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything: the model it was loaded into is gone."""
        self.adapters: OrderedDict[tuple[str, int, int], str] = OrderedDict()  # file -> name
        self.active: tuple[tuple[str, float], ...] = ()   # (adapter, weight) set in the model
        self.embeddings: dict[str, tuple[tuple[str, int, int], list[str]]] = {}
        self.loads = 0           # LoRA files read into the model (tests, benchmark)
        self._count = 0
        self._dirty = False      # the adapters' state may differ from `active`
        self._disabled = False   # the LoRA layers are switched off

    # ---- the job ---------------------------------------------------------------------------
    def apply(self, pipe: Any, job: Job, models: ModelSource, arch: str) -> Job:
        """Put `job`'s LoRAs and embeddings into the model of `pipe`; the job with each
        embedding's name written as the token it was loaded under."""
        self._loras(pipe, job, models)
        texts = (job.prompt, job.negative_prompt, job.prompt_b, job.negative_b)
        if not self.embeddings and not any(texts):
            return job
        infos = {e.id: e for e in models.embeddings() if e.arch == arch}
        used = used_embeddings(texts, infos)
        self._embeddings(pipe, [infos[n] for n in used], arch)
        if not used:
            return job

        def fix(text: str | None) -> str | None:
            return None if text is None else with_embedding_names(text, used)

        return job.replace(prompt=fix(job.prompt) or "",
                           negative_prompt=fix(job.negative_prompt) or "",
                           prompt_b=fix(job.prompt_b), negative_b=fix(job.negative_b))

    # ---- LoRAs -----------------------------------------------------------------------------
    def _loras(self, pipe: Any, job: Job, models: ModelSource) -> None:
        wanted: list[tuple[str, float]] = []
        for lora_id, weight in job.loras:
            if weight == 0.0:
                continue  # weight 0 = no LoRA, bit for bit
            info = models.resolve_lora(lora_id)
            wanted.append((self._adapter(pipe, info.path), float(weight)))
        self._evict(pipe, {n for n, _ in wanted})
        if tuple(wanted) == self.active and not self._dirty:
            return
        if wanted:
            if self._disabled:
                pipe.enable_lora()
                self._disabled = False
            pipe.set_adapters([n for n, _ in wanted], [w for _, w in wanted])
        elif self.adapters and not self._disabled:
            pipe.disable_lora()  # every LoRA layer runs its base layer alone
            self._disabled = True
        self.active, self._dirty = tuple(wanted), False

    def _adapter(self, pipe: Any, path: Any) -> str:
        """The adapter name of the LoRA file `path`, loading it the first time."""
        key = _file_key(path)
        name = self.adapters.get(key)
        if name is not None:
            self.adapters.move_to_end(key)
            return name
        self._count += 1
        name = f"lora{self._count}"
        self._dirty = True  # loading activates the new adapter: set the job's set again
        try:
            with warnings.catch_warnings():  # peft warns that a model holds several adapters
                warnings.filterwarnings("ignore", message=".*peft_config.*")
                pipe.load_lora_weights(str(path), adapter_name=name)
        except Exception as exc:
            log.error("cannot load the LoRA %s", path, exc_info=True)
            try:
                pipe.delete_adapters([name])
            except Exception:  # nothing was injected
                log.debug("no adapter %s to delete", name)
            raise ModelLoadError(f"the LoRA {quoted(path)} does not fit this model: it could "
                                 "not be applied.\nThe details are in the log.") from exc
        self.loads += 1
        self.adapters[key] = name
        return name

    def trim(self, pipe: Any) -> None:
        """Delete every adapter the current LoRA set does not use (to free memory)."""
        self._evict(pipe, {n for n, _ in self.active}, limit=0)

    def _evict(self, pipe: Any, keep: set[str], limit: int = CACHED) -> None:
        """Delete the least recently used adapters not in `keep` beyond `limit`."""
        while len(self.adapters) > max(limit, len(keep)):
            key, name = next((k, n) for k, n in self.adapters.items() if n not in keep)
            pipe.delete_adapters([name])
            del self.adapters[key]
            self._dirty = True

    # ---- embeddings ------------------------------------------------------------------------
    def _embeddings(self, pipe: Any, wanted: list[EmbeddingInfo], arch: str) -> None:
        keys = {e.id: _file_key(e.path) for e in wanted}
        for name in [n for n, (k, _) in self.embeddings.items() if keys.get(n) != k]:
            _, tokens = self.embeddings.pop(name)
            for tok, enc in _encoders(pipe, arch):
                pipe.unload_textual_inversion(tokens, tokenizer=tok, text_encoder=enc)
        for e in wanted:
            if e.id in self.embeddings:
                continue
            tokens = [e.id] + [f"{e.id}_{i}" for i in range(1, max(1, e.vectors))]
            try:
                if arch == "sdxl":
                    from safetensors.torch import load_file

                    vectors = load_file(str(e.path))
                    pipe.load_textual_inversion(vectors["clip_l"], token=e.id,
                                                text_encoder=pipe.text_encoder,
                                                tokenizer=pipe.tokenizer)
                    pipe.load_textual_inversion(vectors["clip_g"], token=e.id,
                                                text_encoder=pipe.text_encoder_2,
                                                tokenizer=pipe.tokenizer_2)
                else:
                    pipe.load_textual_inversion(str(e.path), token=e.id)
            except Exception as exc:
                log.error("cannot load the embedding %s", e.path, exc_info=True)
                for tok, enc in _encoders(pipe, arch):
                    try:
                        pipe.unload_textual_inversion(tokens, tokenizer=tok, text_encoder=enc)
                    except Exception:  # it was not loaded there
                        log.debug("embedding %s not in %s", e.id, type(enc).__name__)
                if "already in tokenizer" in str(exc):
                    raise ModelLoadError(f"the embedding {quoted(e.path)} has the name of a word "
                                         "the model already knows: rename the file") from exc
                raise ModelLoadError(f"the embedding {quoted(e.path)} does not fit this model: "
                                     "it could not be loaded.\nThe details are in the log.") \
                    from exc
            self.embeddings[e.id] = (keys[e.id], tokens)


def _encoders(pipe: Any, arch: str) -> list[tuple[Any, Any]]:
    pairs = [(pipe.tokenizer, pipe.text_encoder)]
    if arch == "sdxl":
        pairs.append((pipe.tokenizer_2, pipe.text_encoder_2))
    return pairs


# ---- weighted prompts ---------------------------------------------------------------------
def _too_long(pipe: Any, text: str) -> bool:
    if not text:
        return False
    tok = pipe.tokenizer
    words = "".join(t for t, _ in emphasis(text)) if needs_weighting(text) else text
    return len(tok(words, truncation=False).input_ids) > int(tok.model_max_length)


def needs_compel(pipe: Any, texts: list[str]) -> bool:
    """Whether any of `texts` uses weighting syntax or is longer than 77 tokens."""
    return any(t and (needs_weighting(t) or _too_long(pipe, t)) for t in texts)


def weighted_prompts(pipe: Any, arch: str, pairs: list[tuple[str, str]], torch: Any
                     ) -> list[dict[str, Any]] | None:
    """Pipeline keyword arguments (prompt / negative embeddings; SDXL: pooled too) for each
    (prompt, negative) pair, all of one length; None when every prompt is plain and fits."""
    if not needs_compel(pipe, [t for pair in pairs for t in pair]):
        return None
    api = compel_api()
    Compel, kinds = api.Compel, api.ReturnedEmbeddingsType
    ti = api.DiffusersTextualInversionManager(pipe)
    texts = [t for pair in pairs for t in pair]
    with torch.no_grad():
        if arch == "sdxl":
            kind = kinds.PENULTIMATE_HIDDEN_STATES_NON_NORMALIZED
            c1 = Compel(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder,
                        textual_inversion_manager=ti, truncate_long_prompts=False,
                        returned_embeddings_type=kind)
            c2 = Compel(tokenizer=pipe.tokenizer_2, text_encoder=pipe.text_encoder_2,
                        textual_inversion_manager=ti, truncate_long_prompts=False,
                        returned_embeddings_type=kind, requires_pooled=True)
            left = _padded(c1, [_encode(c1, t) for t in texts], torch)
            right = _padded(c2, [_encode(c2, t) for t in texts], torch)
            n = max(left[0].shape[1], right[0].shape[1])
            left, right = _padded(c1, left, torch, n), _padded(c2, right, torch, n)
            embeds = [torch.cat([a, b], dim=-1) for a, b in zip(left, right, strict=True)]
            pooled = [c2.conditioning_provider.get_pooled_embeddings(
                [_words(t)], device=pipe.text_encoder_2.device) for t in texts]
            zeros = bool(getattr(pipe.config, "force_zeros_for_empty_prompt", False))
        else:
            c = Compel(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder,
                       textual_inversion_manager=ti, truncate_long_prompts=False)
            embeds = _padded(c, [_encode(c, t) for t in texts], torch)
            pooled, zeros = [], False
    out = []
    for i, (_, negative) in enumerate(pairs):
        pe, ne = embeds[2 * i], embeds[2 * i + 1]
        kw = {"prompt_embeds": pe, "negative_prompt_embeds": ne}
        if arch == "sdxl":
            pp, npp = pooled[2 * i], pooled[2 * i + 1]
            if zeros and not negative:  # SDXL's own choice for an empty negative prompt
                ne, npp = torch.zeros_like(pe), torch.zeros_like(pp)
            kw.update(negative_prompt_embeds=ne, pooled_prompt_embeds=pp,
                      negative_pooled_prompt_embeds=npp)
        out.append(kw)
    return out


def compel_api() -> Any:
    """compel's `Compel`, `DiffusersTextualInversionManager` and `ReturnedEmbeddingsType`.

    compel's package init also imports its convenience wrappers for other pipelines (FLUX,
    Sana, Lumina 2), which the installed bundle leaves out of diffusers (it keeps the SD / SDXL
    pipelines: installer/bundle_filters.py); there that init fails, and the core modules the
    app uses are imported without it."""
    import importlib
    import sys
    import types

    try:
        import compel

        return compel
    except Exception as exc:  # an ImportError, or diffusers' lazy-import RuntimeError
        log.info("compel's package init failed (%r): importing its core modules alone", exc)
    import importlib.util

    for name in [n for n in sys.modules if n == "compel" or n.startswith("compel.")]:
        del sys.modules[name]
    spec = importlib.util.find_spec("compel")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("weighted and long prompts need the compel library, "
                                     "which is not installed")
    pkg = types.ModuleType("compel")
    pkg.__path__ = list(spec.submodule_search_locations)
    pkg.__spec__ = spec
    sys.modules["compel"] = pkg
    core = importlib.import_module("compel.compel")
    ti = importlib.import_module("compel.diffusers_textual_inversion_manager")
    provider = importlib.import_module("compel.embeddings_provider")
    return types.SimpleNamespace(
        Compel=core.Compel, DiffusersTextualInversionManager=ti.DiffusersTextualInversionManager,
        ReturnedEmbeddingsType=provider.ReturnedEmbeddingsType)


def _words(text: str) -> str:
    return "".join(t for t, _ in emphasis(text)) if needs_weighting(text) else text


def _encode(compel: Any, text: str) -> Any:
    frags = emphasis(text) if text else [("", 1.0)]
    provider = compel.conditioning_provider
    return provider.get_embeddings_for_weighted_prompt_fragments(
        text_batch=[[t for t, _ in frags]], fragment_weights_batch=[[w for _, w in frags]],
        device=provider.text_encoder.device)


def _padded(compel: Any, tensors: list[Any], torch: Any, length: int = 0) -> list[Any]:
    """`tensors` padded with the empty prompt's embeddings to one length (at least
    `length`), as compel pads a negative prompt to its positive."""
    n = max([length] + [t.shape[1] for t in tensors])
    empty = compel.conditioning_provider.empty_z
    out = []
    for t in tensors:
        while t.shape[1] < n:
            t = torch.cat([t, empty.to(t.device, t.dtype)], dim=1)
        out.append(t)
    return out

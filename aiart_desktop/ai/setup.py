"""The composition root of the AI side: which model source and which backends the engine gets.

    engine = default_engine()                       # the user's models, device from settings
    engine = default_engine(registry, device="cpu") # a given models folder (tests, the CLI)
    result = engine.run(request, on_progress, cancelled)

The app (qt/ai_dock.py, through the worker), `aiart-desktop run` (ai/cli_run.py) and the
self-test build their engine here, and nowhere else. Adding a backend (the ComfyUI one, say)
is one module implementing `ai.backend.Backend` plus one line in `backends()` below; a backend
with models of its own brings a `ModelSource` whose `ModelInfo.backend` names it. The ComfyUI
backend is set up only when the settings list servers (`with_servers`): then the model source
is the local one plus the servers' checkpoints (`backends/comfy.py: ComfyModels`).

Nothing here is imported at start-up cost: the local backend's module imports torch only
inside its functions, when a model runs.
"""
from __future__ import annotations

import os

from .backend import Backend
from .backends.classical import ClassicalBackend
from .backends.comfy import ComfyBackend, ComfyModels
from .backends.comfy_client import ComfyClient
from .backends.lama import LamaBackend
from .backends.local import LocalBackend, pickle_facts
from .backends.matte import MatteBackend
from .backends.style_backend import StyleBackend
from .backends.upscale_backend import UpscaleBackend
from .engine import Engine
from .models.registry import ModelRegistry
from .models.source import ModelSource


def user_models(root: str | os.PathLike[str] | None = None,
                allow_pickle: bool | None = None) -> ModelRegistry:
    """The local models: `root` (default: the settings' models folder, followed as it
    changes), pickles allowed as the settings say unless `allow_pickle` is given; an allowed
    pickle checkpoint's facts are read by the local backend (torch, off the UI thread)."""
    return ModelRegistry(root, allow_pickle, read_pickle=pickle_facts)


def backends(models: ModelSource, device: str, compile: bool = False) -> list[Backend]:
    """Every backend, in the order the engine tries them (ai/engine.py: how one is chosen).
    `compile`: the local backend compiles the UNet with torch.compile (on CUDA only)."""
    found: list[Backend] = [
        LocalBackend(models, device, compile),   # diffusers on this machine (torch, lazily)
        ClassicalBackend(),             # the model-free fill
        LamaBackend(),                  # LaMa, Fill selection's object remover (onnxruntime)
        StyleBackend(),                 # the style networks (onnxruntime)
        MatteBackend(),                 # background removal, Select Subject (onnxruntime)
        UpscaleBackend(device),         # upscaler models, Image › Upscale (spandrel, lazily)
    ]
    if isinstance(models, ComfyModels):  # ComfyUI servers set: their models run there
        found.append(ComfyBackend(models))
    return found


def with_servers(local: ModelSource, servers: list[str] | None = None,
                 token: str | None = None) -> ModelSource:
    """`local` plus the checkpoints of the ComfyUI servers (default: the settings'
    `comfy_servers`, with their stored tokens; given `servers` use `token`, else their stored
    ones); `local` itself when there are none, so nothing connects unless the user set one."""
    from ..settings import load_settings
    from ..settings.tokens import load_token

    if servers is None:
        settings = load_settings()
        servers = settings.comfy_servers
        tokens = set(settings.comfy_token_servers)
    else:
        tokens = set(servers)
    if not servers:
        return local
    return ComfyModels([ComfyClient(url, token or (load_token(url) if url in tokens else None))
                        for url in servers], local)


def remote_model(models: ModelSource, model: str) -> str:
    """The id of the servers' checkpoint `model` names ("auto": their first one)."""
    from .backends.comfy import PREFIX
    from .errors import ModelNotFoundError

    if model.startswith(PREFIX):
        return model
    if model != "auto":
        return PREFIX + model
    assert isinstance(models, ComfyModels)
    remote = models.remote_models()
    if not remote:
        why = "; ".join(models.errors.values()).split("\n")[0]
        raise ModelNotFoundError(why or "The ComfyUI server has no model.")
    return remote[0].id


def default_engine(models: ModelSource | None = None, *, device: str | None = None,
                   compile: bool | None = None) -> Engine:
    """An engine on `models` (default: `user_models()`) with every backend; `device` ("auto",
    "cuda", "mps", "cpu") and `compile` (torch.compile the UNet, CUDA only) default to the
    settings' (`device`, `torch_compile`)."""
    if device is None or compile is None:
        from ..settings import load_settings

        settings = load_settings()
        device = settings.device if device is None else device
        compile = settings.torch_compile if compile is None else compile
    source = with_servers(user_models()) if models is None else models
    return Engine(source, backends(source, device, compile))

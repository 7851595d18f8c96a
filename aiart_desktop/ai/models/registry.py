"""The model registry: what is installed, what can be downloaded, and how to find a model.

Models live in the models folder (`Settings.models_path()`, by default `<data dir>/models`):
- catalogue downloads in `<models>/<catalogue id>/` (see `catalogue.py`);
- models the user added by path (a diffusers folder or a single `.safetensors` checkpoint),
  remembered in `<models>/registry.json` and left where they are.

    reg = ModelRegistry()                       # or ModelRegistry(root) in tests
    reg.catalogue()                             # recommended models, with size and licence
    reg.download("sd-turbo", on_progress, cancelled)   # only when the user asks
    info = reg.add_folder("/models/my-sd15")    # verified; clear errors otherwise
    info = reg.add_checkpoint("/models/dream.safetensors")
    reg.add_ip_adapter("/models/ip-adapter")    # an add-on: never in the base-model list
    reg.ip_adapters() / reg.ip_adapter_for(info)   # installed adapters / the one fitting a model
    reg.loras() / reg.add_lora(path) / reg.resolve_lora("watercolor")   # <models>/loras
    reg.embeddings() / reg.add_embedding(path)  # <models>/embeddings (models/loras.py)
    reg.upscalers() / reg.upscaler("omnisr-x4") # Image › Upscale…'s model files
    reg.installed()                             # everything usable now
    reg.models()                                # the models that paint (the AI panel's list)
    reg.resolve("sd-turbo") / reg.resolve("/path/to/folder")   # -> ModelInfo (cheap)
    reg.inspect("dream")                        # -> ModelInfo, a pickle's facts read (worker)

It is the local backend's `ModelSource` (models/source.py). What it learns about a checkpoint
file (arch, a pickle's facts) is cached per file (models/file_facts.py): an allowed pickle is
read with torch once, when it is added (or by the engine, off the UI thread, if it changed
since), so listing the models never imports torch.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...core.io.atomic import atomic_write_json
from ...settings import data_dir, load_settings
from ..errors import AiError, ModelLoadError, ModelNotFoundError, RequestError, quoted
from ..requests import CLASSICAL
from .catalogue import (
    CATALOGUE,
    CONTROLNET,
    DETECTOR,
    INPAINTER,
    IP_ADAPTER,
    MATTING,
    SEGMENTER,
    UPSCALER,
    CatalogueEntry,
    catalogue_entry,
    control_entry,
    detector_entry,
    inpainter_entry,
    matting_entry,
    segmenter_entries,
    upscaler_entries,
)
from .checkpoints import (
    PICKLE_EXTENSIONS,
    ModelFacts,
    config_folder,
    inspect_checkpoint,
    inspect_folder,
)
from .control_models import (
    CONTROL_FOLDER,
    ControlModelInfo,
    check_detector,
    inspect_control_model,
)
from .downloads import DownloadProgress, download, holds_data
from .file_facts import FileFacts
from .ip_adapter import IpAdapterInfo, check_fits, inspect_ip_adapter, install_hint, model_cross_dim
from .loras import AddonFolders
from .segmenters import SegmenterInfo, check_segmenter, scan_segmenters
from .source import ModelInfo
from .upscalers import UPSCALER_FOLDER, UpscalerInfo, check_upscaler, scan_upscalers

PickleReader = Callable[[Path], ModelFacts]

REGISTRY_FILE = "registry.json"
# One lock per registry file in this process: an add from the model manager's thread and a
# remove on the UI thread read, change and write the same file; without it one change is lost.
_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> threading.RLock:
    key = os.path.abspath(path)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.RLock())


def _slug(text: str) -> str:
    s = re.sub(r"[^a-zA-Z0-9._-]+", "-", text).strip("-.").lower()
    return s[:60] or "model"


class ModelRegistry(AddonFolders):
    """Installed and downloadable models under one models folder: the local backend's
    `ModelSource` (models/source.py).

    `root` / `allow_pickle` left out follow the settings (read again at each use, so a new
    models folder chosen in the settings counts at once). `read_pickle` reads an allowed pickle
    checkpoint's facts (torch.load: slow, so only `inspect` and the `add_*` methods call it,
    off the UI thread); by default the local backend's `pickle_facts`. What it learns is cached
    per file (models/file_facts.py), so listing and `resolve` never import torch."""

    def __init__(self, root: str | os.PathLike[str] | None = None,
                 allow_pickle: bool | None = None, *,
                 read_pickle: PickleReader | None = None) -> None:
        self._root = None if root is None else Path(root).expanduser()
        self._allow = None if allow_pickle is None else bool(allow_pickle)
        self._read_pickle = read_pickle

    @property
    def root(self) -> Path:
        if self._root is not None:
            return self._root
        return Path(load_settings().models_path()).expanduser()

    @property
    def allow_pickle(self) -> bool:
        if self._allow is not None:
            return self._allow
        return bool(load_settings().allow_pickle_checkpoints)

    # ---- storage ------------------------------------------------------------------------
    @property
    def _file(self) -> Path:
        return self.root / REGISTRY_FILE

    def _entries(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        items = data.get("models", []) if isinstance(data, dict) else []
        return [e for e in items if isinstance(e, dict) and {"id", "path", "source"} <= set(e)]

    def _save(self, entries: list[dict[str, Any]]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self._file, {"version": 1, "models": entries}, indent=2)

    # ---- catalogue ----------------------------------------------------------------------
    def catalogue(self) -> tuple[CatalogueEntry, ...]:
        return CATALOGUE

    def catalogue_folder(self, entry_id: str) -> Path:
        return self.root / entry_id

    def is_downloaded(self, entry_id: str) -> bool:
        entry = catalogue_entry(entry_id)
        try:
            if entry is not None and entry.arch == IP_ADAPTER:
                self._catalogue_adapter(entry)
            elif entry is not None and entry.arch == CONTROLNET:
                self._catalogue_control(entry)
            elif entry is not None and entry.arch == DETECTOR:
                check_detector(self.catalogue_folder(entry_id))
            elif entry is not None and entry.arch == SEGMENTER:
                check_segmenter(self.catalogue_folder(entry_id))
            elif entry is not None and entry.arch == INPAINTER:
                return self.inpainter(entry.id) is not None
            elif entry is not None and entry.arch == MATTING:
                return self.matting() is not None
            elif entry is not None and entry.arch == UPSCALER:
                return self._catalogue_upscaler(entry) is not None
            else:
                inspect_folder(self.catalogue_folder(entry_id))
        except AiError:
            return False
        return True

    def is_partial(self, entry_id: str) -> bool:
        """Whether a catalogue download was started and holds data to resume, but is not
        complete (a folder left with nothing in it does not count)."""
        return holds_data(self.catalogue_folder(entry_id)) and not self.is_downloaded(entry_id)

    def download(self, entry_id: str, on_progress: DownloadProgress | None = None,
                 cancelled: Callable[[], bool] = lambda: False
                 ) -> ModelInfo | IpAdapterInfo | ControlModelInfo | SegmenterInfo | Path:
        """Fetch a catalogue model or IP-Adapter (resuming a partial download), then verify
        it."""
        entry = catalogue_entry(entry_id)
        if entry is None:
            raise ModelNotFoundError(f"{entry_id!r} is not in the model catalogue")
        folder = download(entry, self.catalogue_folder(entry_id), on_progress, cancelled)
        if entry.arch == IP_ADAPTER:
            return self._catalogue_adapter(entry)
        if entry.arch == CONTROLNET:
            return self._catalogue_control(entry)
        if entry.arch == DETECTOR:
            check_detector(folder)
            return folder
        if entry.arch == SEGMENTER:
            return self.segmenter(entry.id)
        if entry.arch in (INPAINTER, MATTING, UPSCALER):
            return folder / entry.allow_patterns[0]
        return self._catalogue_info(entry, folder)

    def _catalogue_info(self, entry: CatalogueEntry, folder: Path) -> ModelInfo:
        facts = inspect_folder(folder, self.allow_pickle)
        return ModelInfo(entry.id, entry.name, folder, "catalogue", facts, entry.licence)

    # ---- adding by path -----------------------------------------------------------------
    def add_folder(self, path: str | os.PathLike[str], name: str | None = None) -> ModelInfo:
        """Register a local diffusers folder (checked complete first)."""
        p = Path(path).expanduser().resolve()
        inspect_folder(p, self.allow_pickle)
        return self._add(p, "folder", name or p.name)

    def add_checkpoint(self, path: str | os.PathLike[str], name: str | None = None,
                       allow_pickle: bool | None = None,
                       config: str | os.PathLike[str] | None = None) -> ModelInfo:
        """Register a single-file checkpoint (.safetensors; pickles only when allowed).

        Its architecture is read from its tensor names and the matching config shipped in
        `resources/model_configs/` is used, unless `config` names a diffusers folder (configs
        and tokenizers; no weights needed) describing it, e.g. for a 768-px v-prediction model.
        """
        p = Path(path).expanduser().resolve()
        allow = self.allow_pickle if allow_pickle is None else allow_pickle
        self.root.mkdir(parents=True, exist_ok=True)  # the facts are kept there
        self._checkpoint_facts(p, allow, learn=True)  # an allowed pickle is read (torch) here
        cfg = None
        if config is not None:
            cfg = Path(config).expanduser().resolve()
            if not (cfg / "model_index.json").is_file():
                raise ModelLoadError(f"{quoted(cfg)} is not a diffusers config folder: "
                                     "model_index.json is missing")
        return self._add(p, "checkpoint", name or p.stem, allow, cfg)

    def _add(self, path: Path, source: str, name: str, allow_pickle: bool = False,
             config: Path | None = None) -> ModelInfo:
        with _file_lock(self._file):
            mid = self._add_entry(path, source, name, allow_pickle, config)
        return self.resolve(mid)

    def _add_entry(self, path: Path, source: str, name: str, allow_pickle: bool,
                   config: Path | None) -> str:
        entries = [e for e in self._entries() if Path(e["path"]) != path]
        ids = {e["id"] for e in entries} | {c.id for c in CATALOGUE} | {CLASSICAL}
        base = _slug(name)
        mid, i = base, 2
        while mid in ids:
            mid, i = f"{base}-{i}", i + 1
        entries.append({"id": mid, "name": name, "path": str(path), "source": source,
                        "allow_pickle": allow_pickle, "added": time.time(),
                        "config": None if config is None else str(config)})
        self._save(entries)
        return mid

    def add_ip_adapter(self, path: str | os.PathLike[str], name: str | None = None
                       ) -> IpAdapterInfo:
        """Register a local IP-Adapter folder (its .safetensors weights and an image_encoder
        folder, as in the h94/IP-Adapter repository), checked first; it stays where it is."""
        p = Path(path).expanduser().resolve()
        if p.is_file():  # the adapter file itself: its folder holds the encoder too
            p = p.parent
        weight, encoder, *_ = inspect_ip_adapter(p)
        with _file_lock(self._file):
            entries = [e for e in self._entries() if Path(e["path"]) != p]
            ids = {e["id"] for e in entries} | {c.id for c in CATALOGUE} | {CLASSICAL}
            base = _slug(name or p.name)
            mid, i = base, 2
            while mid in ids:
                mid, i = f"{base}-{i}", i + 1
            entries.append({"id": mid, "name": name or p.name, "path": str(p),
                            "source": IP_ADAPTER, "weight": weight, "encoder": encoder,
                            "added": time.time()})
            self._save(entries)
        return self.resolve_ip_adapter(mid)

    def remove(self, model_id: str) -> None:
        """Forget a model added by path (its files are left alone)."""
        with _file_lock(self._file):
            entries = self._entries()
            kept = [e for e in entries if e["id"] != model_id]
            if len(kept) == len(entries):
                raise ModelNotFoundError(f"no added model with id {model_id!r}")
            self._save(kept)

    # ---- lookup -------------------------------------------------------------------------
    def added_path(self, model_id: str) -> Path | None:
        """Where a model added by path lives (None for catalogue ids and unknown ids)."""
        return next((Path(e["path"]) for e in self._entries() if e["id"] == model_id), None)

    def installed(self) -> list[ModelInfo]:
        """Every usable diffusion model and preview decoder (broken ones are left out; see
        `problems()` for why)."""
        out: list[ModelInfo] = []
        ids = [c.id for c in CATALOGUE if c.kind in ("model", "preview")]
        for mid in ids + [e["id"] for e in self._entries()
                          if e["source"] not in (IP_ADAPTER, CONTROLNET)]:
            try:
                out.append(self.resolve(mid))
            except AiError:
                continue
        return out

    def problems(self) -> dict[str, str]:
        """Added or partly downloaded models that cannot be used, with the reason."""
        out: dict[str, str] = {}
        ids = [e["id"] for e in self._entries()]
        ids += [c.id for c in CATALOGUE if holds_data(self.catalogue_folder(c.id))]
        adapters = {e["id"] for e in self._entries() if e["source"] == IP_ADAPTER}
        adapters |= {c.id for c in CATALOGUE if c.arch == IP_ADAPTER}
        controls = {e["id"] for e in self._entries() if e["source"] == CONTROLNET}
        controls |= {c.id for c in CATALOGUE if c.arch == CONTROLNET}
        scanned = [cid for cid, path, _ in self._control_candidates() if path.exists()]
        controls |= set(scanned)
        ids += [cid for cid in scanned if cid not in ids]
        detectors = {c.id for c in CATALOGUE if c.arch == DETECTOR}
        segmenters = {c.id for c in CATALOGUE if c.arch == SEGMENTER}
        for mid in ids:
            try:
                if mid in adapters:
                    self.resolve_ip_adapter(mid)
                elif mid in controls:
                    self.resolve_control_model(mid)
                elif mid in detectors:
                    check_detector(self.catalogue_folder(mid))
                elif mid in segmenters:
                    check_segmenter(self.catalogue_folder(mid))
                elif (e := catalogue_entry(mid)) is not None and e.arch == INPAINTER:
                    if self.inpainter(mid) is None:
                        raise ModelLoadError(f"{quoted(self.catalogue_folder(mid))} holds no "
                                             f"{e.allow_patterns[0]} (download it again)")
                elif (e := catalogue_entry(mid)) is not None and e.arch == UPSCALER:
                    if self._catalogue_upscaler(e) is None:
                        raise ModelLoadError(f"{quoted(self.catalogue_folder(mid))} holds no "
                                             f"{e.allow_patterns[0]} (download it again)")
                    check_upscaler(self.catalogue_folder(mid) / e.allow_patterns[0], False)
                elif catalogue_entry(mid) is not None and mid == matting_entry().id:
                    if self.matting() is None:
                        raise ModelLoadError(f"{quoted(self.catalogue_folder(mid))} holds no "
                                             f"{matting_entry().allow_patterns[0]} (download "
                                             "it again)")
                else:
                    self.resolve(mid)
            except AiError as exc:
                out[mid] = str(exc)
        return out

    def diffusion_models(self) -> list[ModelInfo]:
        return [m for m in self.installed() if m.arch != "taesd"]

    def models(self) -> list[ModelInfo]:
        """The models that paint (`ModelSource.models`): `diffusion_models()`."""
        return self.diffusion_models()

    def tiny_decoders(self) -> dict[str, Path]:
        """The installed TAESD folders (diffusers' AutoencoderTiny: a config.json naming that
        class and its weights, checked as `inspect_folder` does) by the architecture whose
        latents they decode ("sd": SD 1.x/2.x and SD-Turbo; "sdxl"). Cheap: no torch."""
        out: dict[str, Path] = {}
        for entry in CATALOGUE:
            if entry.previews_for and entry.previews_for not in out:
                folder = self.catalogue_folder(entry.id)
                if not (folder / "config.json").is_file():
                    continue
                try:
                    if inspect_folder(folder, False).arch == "taesd":
                        out[entry.previews_for] = folder
                except AiError:
                    continue  # partly downloaded or damaged: problems() says so
        for e in self._entries():
            if e.get("previews_for") and e["previews_for"] not in out:
                out[e["previews_for"]] = Path(e["path"])
        return out

    def preview_decoder(self, arch: str) -> Path | None:
        """An installed TAESD folder for `arch` ("sd" or "sdxl"), if any: it decodes the
        progress previews and, when a live frame asks for it, the live frame itself."""
        return self.tiny_decoders().get(arch)

    def resolve(self, model: str) -> ModelInfo:
        """The model named by a registry id, a catalogue id or a path. Never reads a pickle:
        one whose facts are not cached yet comes back unchecked (`ModelInfo.checked`)."""
        return self._resolve(model, learn=False)

    def inspect(self, model: str) -> ModelInfo:
        """`resolve`, reading an allowed pickle checkpoint whose facts are not cached yet
        (torch.load, once per file: the worker thread or a thread of its own only)."""
        return self._resolve(model, learn=True)

    def _resolve(self, model: str, learn: bool) -> ModelInfo:
        if not model or model == CLASSICAL:
            raise ModelNotFoundError(f"{model!r} is not a diffusion model")
        for e in self._entries():
            if e["id"] == model:
                if e["source"] in (IP_ADAPTER, CONTROLNET):
                    raise ModelNotFoundError(_not_a_model(str(e.get("name") or model)))
                return self._info_from_entry(e, learn)
        entry = catalogue_entry(model)
        if entry is not None and entry.kind not in ("model", "preview"):
            raise ModelNotFoundError(_not_a_model(entry.name))
        if entry is not None:
            folder = self.catalogue_folder(model)
            if not folder.exists():
                raise ModelNotFoundError(f"{entry.name} is not downloaded yet (download it in "
                                         "the model manager)")
            return self._catalogue_info(entry, folder)
        p = Path(model).expanduser()
        if os.sep in model or "/" in model or p.suffix or p.exists():
            if not p.exists():
                raise ModelNotFoundError(f"model {p} does not exist")
            src = "folder" if p.is_dir() else "checkpoint"
            return self._info(p.resolve(), src, p.stem if src == "checkpoint" else p.name,
                              str(p), self.allow_pickle, learn=learn)
        raise ModelNotFoundError(f"no installed model is called {model!r}")

    # ---- IP-Adapters (add-ons of base models) -------------------------------------------
    def _catalogue_adapter(self, entry: CatalogueEntry) -> IpAdapterInfo:
        folder = self.catalogue_folder(entry.id)
        if not folder.exists():
            raise ModelNotFoundError(f"{entry.name} is not downloaded yet (download it in the "
                                     "model manager)")
        weight, encoder, cross, image_dim, size = inspect_ip_adapter(
            folder, entry.adapter_weights, entry.adapter_encoder)
        return IpAdapterInfo(entry.id, entry.name, folder, weight, encoder, cross, image_dim,
                             size, "catalogue", entry.licence)

    def resolve_ip_adapter(self, adapter_id: str) -> IpAdapterInfo:
        """The installed IP-Adapter with that id (a catalogue download or an added folder)."""
        for e in self._entries():
            if e["id"] == adapter_id and e["source"] == IP_ADAPTER:
                weight, encoder, cross, image_dim, size = inspect_ip_adapter(
                    e["path"], e.get("weight"), e.get("encoder"))
                return IpAdapterInfo(e["id"], str(e.get("name") or e["id"]), Path(e["path"]),
                                     weight, encoder, cross, image_dim, size, "folder")
        entry = catalogue_entry(adapter_id)
        if entry is not None and entry.arch == IP_ADAPTER:
            return self._catalogue_adapter(entry)
        raise ModelNotFoundError(f"no IP-Adapter called {adapter_id!r} is installed (download "
                                 "one or add its folder in the model manager)")

    def ip_adapters(self) -> list[IpAdapterInfo]:
        """Every usable IP-Adapter (broken ones are in `problems()`)."""
        ids = [c.id for c in CATALOGUE if c.arch == IP_ADAPTER]
        ids += [e["id"] for e in self._entries() if e["source"] == IP_ADAPTER]
        out = []
        for aid in ids:
            try:
                out.append(self.resolve_ip_adapter(aid))
            except AiError:
                continue
        return out

    def ip_adapter_for(self, model: ModelInfo, adapter_id: str = "") -> IpAdapterInfo:
        """The IP-Adapter for base model `model`: `adapter_id` (checked to fit), or the first
        installed one that fits. A RequestError says what to install when there is none."""
        if adapter_id:
            try:
                adapter = self.resolve_ip_adapter(adapter_id)
            except AiError as exc:
                raise RequestError(str(exc)) from exc
            check_fits(adapter, model)
            return adapter
        cross = model_cross_dim(model)
        for adapter in self.ip_adapters():
            if adapter.cross_dim == cross:
                return adapter
        raise RequestError(f"no IP-Adapter for {model.name} is installed: "
                           f"{install_hint(cross)}")

    # ---- control models (ControlNets) and detectors (add-ons; models/control_models.py) ------
    def control_folder(self) -> Path:
        """<models>/controlnet: control model folders and .safetensors files put there."""
        return self.root / CONTROL_FOLDER

    def _catalogue_control(self, entry: CatalogueEntry) -> ControlModelInfo:
        import dataclasses

        folder = self.catalogue_folder(entry.id)
        if not folder.exists():
            raise ModelNotFoundError(f"{entry.name} is not downloaded yet (download it in the "
                                     "model manager)")
        found = inspect_control_model(folder, name=entry.name)
        return dataclasses.replace(found, id=entry.id, kinds=entry.control_kinds or found.kinds,
                                   source="catalogue", licence=entry.licence)

    def _control_candidates(self) -> list[tuple[str, Path, str]]:
        """(id, path, name) of every control model on disk or added, catalogue first."""
        out = [(c.id, self.catalogue_folder(c.id), c.name) for c in CATALOGUE
               if c.arch == CONTROLNET]
        folder = self.control_folder()
        if folder.is_dir():
            seen = {i for i, _, _ in out}
            for p in sorted(folder.iterdir()):
                if p.name.startswith(".") or not (p.is_dir() or p.suffix.lower() in (
                        ".safetensors",) + PICKLE_EXTENSIONS):
                    continue
                cid, i = _slug(p.stem if p.is_file() else p.name), 2
                while cid in seen:
                    cid, i = f"{_slug(p.stem)}-{i}", i + 1
                seen.add(cid)
                out.append((cid, p, p.stem if p.is_file() else p.name))
        out += [(e["id"], Path(e["path"]), str(e.get("name") or e["id"]))
                for e in self._entries() if e["source"] == CONTROLNET]
        return out

    def resolve_control_model(self, control_id: str) -> ControlModelInfo:
        """The installed control model with that id (catalogue, <models>/controlnet or added)."""
        import dataclasses

        entry = catalogue_entry(control_id)
        if entry is not None and entry.arch == CONTROLNET:
            return self._catalogue_control(entry)
        for cid, path, name in self._control_candidates():
            if cid == control_id:
                found = inspect_control_model(path, self.allow_pickle, name=name)
                return dataclasses.replace(found, id=cid)
        raise ModelNotFoundError(f"no control model called {control_id!r} is installed "
                                 "(download one or add it in the model manager)")

    def control_models(self) -> list[ControlModelInfo]:
        """Every usable control model (broken ones are in `problems()`)."""
        out = []
        for cid, _, _ in self._control_candidates():
            try:
                out.append(self.resolve_control_model(cid))
            except AiError:
                continue
        return out

    def control_model_for(self, kind: str, arch: str, control_id: str = "") -> ControlModelInfo:
        """The control model for a `kind` control on an `arch` base model: `control_id`
        (checked to fit), or the first installed one that serves the kind (single models
        before union ones). A RequestError says what to install when there is none."""
        from ..conditioning import CONTROL_LABELS

        label = CONTROL_LABELS.get(kind, kind)
        family = "SDXL" if arch == "sdxl" else "SD 1.5"
        if control_id:
            try:
                found = self.resolve_control_model(control_id)
            except AiError as exc:
                raise RequestError(str(exc)) from exc
            if found.arch != arch:
                raise RequestError(f"the control model {found.name} is for "
                                   f"{'SDXL' if found.arch == 'sdxl' else 'SD 1.x'} models, "
                                   f"not {family}; {control_install_hint(kind, arch)}")
            return found
        fits = [c for c in self.control_models() if c.arch == arch and c.serves(kind)]
        fits.sort(key=lambda c: c.union)
        if fits:
            return fits[0]
        raise RequestError(f"no {label} control model for {family} models is installed: "
                           f"{control_install_hint(kind, arch)}")

    def add_control_model(self, path: str | os.PathLike[str], name: str | None = None
                          ) -> ControlModelInfo:
        """Register a control model folder or .safetensors file (checked first); it stays
        where it is."""
        p = Path(path).expanduser().resolve()
        inspect_control_model(p, self.allow_pickle, name=name)
        with _file_lock(self._file):
            entries = [e for e in self._entries() if Path(e["path"]) != p]
            ids = {e["id"] for e in entries} | {c.id for c in CATALOGUE} | {CLASSICAL}
            ids |= {cid for cid, _, _ in self._control_candidates()}
            base = _slug(name or (p.stem if p.is_file() else p.name))
            cid, i = base, 2
            while cid in ids:
                cid, i = f"{base}-{i}", i + 1
            entries.append({"id": cid, "name": name or (p.stem if p.is_file() else p.name),
                            "path": str(p), "source": CONTROLNET, "added": time.time()})
            self._save(entries)
        return self.resolve_control_model(cid)

    def detector(self, kind: str) -> Path:
        """The installed detector folder making `kind` pictures ("depth", "pose"); a
        RequestError says what to download when there is none."""
        entry = detector_entry(kind)
        if entry is None:
            raise RequestError(f"no detector makes {kind} pictures")
        folder = self.catalogue_folder(entry.id)
        try:
            check_detector(folder)
        except AiError as exc:
            if folder.exists():
                raise RequestError(str(exc)) from exc
            raise RequestError(f"the {kind} control needs its detector: download "
                               f"“{entry.name}” ({entry.size_mb} MB) in the model manager "
                               "(Models…)") from None
        return folder

    # ---- LaMa (Fill selection's object remover; backends/lama.py) ---------------------------
    def lama(self) -> Path | None:
        """The installed LaMa ONNX file (`<models>/lama/lama_fp32.onnx`), or None. Cheap: only
        whether the file is there; a damaged one is named when its session loads."""
        return self.inpainter("lama")

    def migan(self) -> Path | None:
        """The installed MI-GAN pipeline (`<models>/migan/migan_pipeline_v2.onnx`), or None."""
        return self.inpainter("migan")

    def inpainter(self, entry_id: str) -> Path | None:
        """The installed file of the catalogue's object remover `entry_id`, or None."""
        entry = inpainter_entry(entry_id)
        path = self.catalogue_folder(entry.id) / entry.allow_patterns[0]
        return path if path.is_file() else None

    # ---- background removal (Select Subject; backends/matte.py) ------------------------------
    def matting(self) -> Path | None:
        """The installed background remover (`<models>/birefnet-lite/onnx/model.onnx`), or
        None. Cheap: only whether the file is there; a damaged one is named when it loads."""
        entry = matting_entry()
        path = self.catalogue_folder(entry.id) / entry.allow_patterns[0]
        return path if path.is_file() else None

    # ---- upscalers (Image › Upscale…; models/upscalers.py, backends/local_upscale.py) ---------
    def _catalogue_upscaler(self, entry: CatalogueEntry) -> UpscalerInfo | None:
        path = self.catalogue_folder(entry.id) / entry.allow_patterns[0]
        if not path.is_file():
            return None
        return UpscalerInfo(entry.id, entry.name, path, entry.licence)

    def upscalers(self) -> list[UpscalerInfo]:
        """The installed upscalers: the catalogue's (their file present), then the files in
        `<models>/upscalers/` (`.safetensors`; pickles when allowed). Cheap: no torch; a
        damaged catalogue file is named when it loads (and by `problems()`)."""
        out = [u for u in map(self._catalogue_upscaler, upscaler_entries()) if u is not None]
        return out + scan_upscalers(self.root, self.allow_pickle)

    def upscaler(self, upscaler_id: str = "") -> UpscalerInfo:
        """The installed upscaler `upscaler_id` names (its id, its file's name with or without
        the extension, or a file's path, checked), or the first one; a RequestError saying what
        to install when there is none."""
        found = self.upscalers()
        if not upscaler_id and found:
            return found[0]
        for info in found:
            if info.id == upscaler_id:
                return info
        for info in found:
            if upscaler_id in (info.path.name, info.path.stem):
                return info
        p = Path(upscaler_id).expanduser()
        if p.suffix and (p.is_file() or p.parent != Path(".")):
            check_upscaler(p, self.allow_pickle)  # missing, damaged, pickle: named
            return UpscalerInfo(str(p), p.stem, p)
        hint = self.upscaler_hint()
        if not upscaler_id:
            raise RequestError(hint)
        entry = catalogue_entry(upscaler_id)
        if entry is not None and entry.arch == UPSCALER:
            raise RequestError(f"“{entry.name}” is not downloaded: download it in the model "
                               f"manager (Models…), {entry.size_mb} MB.")
        raise RequestError(f"the upscaler {upscaler_id!r} is not installed.\n{hint}")

    def upscaler_hint(self) -> str:
        """What to install to upscale with a model (one line)."""
        entry = upscaler_entries()[-1]
        folder = self.root / UPSCALER_FOLDER
        return (f"Upscaling with a model needs an upscaler: download “{entry.name.split(' (')[0]}"
                f"” ({entry.size_mb} MB) in the model manager (Models…), or put an ESRGAN "
                f".safetensors file in {folder}.")

    # ---- segmenters (Select Object; models/segmenters.py) ----------------------------------
    def segmenters(self) -> list[SegmenterInfo]:
        """The installed Segment Anything models: the catalogue's (smallest first), then the
        folders in `<models>/segmenters/`. Cheap: no torch."""
        out: list[SegmenterInfo] = []
        for entry in segmenter_entries():
            folder = self.catalogue_folder(entry.id)
            if not (folder / "config.json").is_file():
                continue
            try:
                family = check_segmenter(folder)
            except AiError:
                continue  # partly downloaded or damaged: problems() says so
            out.append(SegmenterInfo(entry.id, entry.name, folder, family, entry.licence))
        return out + scan_segmenters(self.root)

    def segmenter(self, segmenter_id: str = "") -> SegmenterInfo:
        """The segmenter `segmenter_id` names, or the first installed one; a RequestError
        saying what to install when there is none (`ai/segment.py: SEGMENT_HINT`)."""
        from ..segment import SEGMENT_HINT

        if not segmenter_id:
            found = self.segmenters()
            if not found:
                raise RequestError(SEGMENT_HINT)
            return found[0]
        entry = catalogue_entry(segmenter_id)
        folder = (self.catalogue_folder(segmenter_id) if entry is not None
                  else self.root / segmenter_id)
        if entry is not None and entry.arch != SEGMENTER or not folder.resolve().is_relative_to(
                self.root.resolve()):
            raise RequestError(f"{segmenter_id!r} is not a Segment Anything model.\n"
                               f"{SEGMENT_HINT}")
        if entry is None and not folder.exists():
            raise ModelNotFoundError(f"the Segment Anything model {segmenter_id!r} is not "
                                     f"installed.\n{SEGMENT_HINT}")
        if entry is not None and not holds_data(folder):
            raise RequestError(f"“{entry.name}” is not downloaded: download it in the model "
                               f"manager (Models…), {entry.size_mb} MB.")
        family = check_segmenter(folder)
        return SegmenterInfo(segmenter_id, entry.name if entry else folder.name, folder, family,
                             entry.licence if entry else "")

    def _info_from_entry(self, e: dict[str, Any], learn: bool = False) -> ModelInfo:
        return self._info(Path(e["path"]), e["source"], str(e.get("name") or e["id"]),
                          e["id"], bool(e.get("allow_pickle", False)), e.get("config"), learn)

    def _info(self, path: Path, source: str, name: str, mid: str, allow: bool,
              config: str | None = None, learn: bool = False) -> ModelInfo:
        if source == "checkpoint":
            facts, checked = self._checkpoint_facts(path, allow, learn)
            cfg: Path | None = None
            if config:
                cfg = Path(config)
                if not (cfg / "model_index.json").is_file():
                    raise ModelLoadError(f"the config folder {quoted(cfg)} of {quoted(path)} is "
                                         "missing (moved or deleted?)")
                facts = _with_native(facts, cfg)
            elif checked:
                cfg = config_folder(facts.config_kind, data_dir() / "model_configs")
            return ModelInfo(mid, name, path, source, facts, allow_pickle=allow,
                             config_path=cfg, checked=checked)
        if source != "folder":
            raise ModelLoadError(f"{quoted(path)}: unknown model source {source!r} in "
                                 "registry.json (add the model again)")
        return ModelInfo(mid, name, path, source, inspect_folder(path, allow), allow_pickle=allow)


    def _checkpoint_facts(self, path: Path, allow: bool, learn: bool) -> tuple[ModelFacts, bool]:
        """(facts, checked) of a single-file checkpoint: cached ones while the file is
        unchanged (same size and time); else a .safetensors header is read (cheap) and an
        allowed pickle only when `learn` (torch.load), provisional facts otherwise."""
        pickle = path.suffix.lower() in PICKLE_EXTENSIONS
        # A pickle is refused unless allowed before anything is read; its provisional facts.
        provisional = inspect_checkpoint(path, allow) if pickle else None
        cache = FileFacts(self.root)
        known = cache.get(path)
        if known is not None:
            return known, True
        if provisional is None:
            facts = inspect_checkpoint(path, allow)
        elif not learn:
            return provisional, False
        else:
            facts = self._pickle_reader()(path)
        cache.put(path, facts)
        return facts, True

    def _pickle_reader(self) -> PickleReader:
        if self._read_pickle is not None:
            return self._read_pickle
        # The local backend, the one module importing torch, reads pickles (lazily).
        from ..backends.local import pickle_facts

        return pickle_facts


def control_install_hint(kind: str, arch: str) -> str:
    """What to install for a `kind` control on `arch` base models."""
    entry = control_entry(kind, arch)
    if entry is not None:
        return (f"download “{entry.name}” in the model manager (Models…), or add a control "
                "model file or folder there")
    return ("there is none in the catalogue: add a control model file or folder in the model "
            "manager")


def _not_a_model(name: str) -> str:
    return (f"{name} is an add-on (an IP-Adapter, a control model or a detector), not a model "
            "that paints: pick a base model")


def _with_native(facts: ModelFacts, cfg: Path) -> ModelFacts:
    """Facts with the native size read from a config folder's unet and vae configs."""
    import dataclasses

    try:
        unet = json.loads((cfg / "unet" / "config.json").read_text(encoding="utf-8"))
        vae = json.loads((cfg / "vae" / "config.json").read_text(encoding="utf-8"))
        native = int(unet["sample_size"]) * 2 ** (len(vae["block_out_channels"]) - 1)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logging.getLogger(__name__).warning("cannot read the configs in %s: %r", cfg, exc)
        raise ModelLoadError(f"cannot read the unet and vae settings in {quoted(cfg)}: the "
                             "folder is damaged or not a diffusers config") from exc
    return dataclasses.replace(facts, native=native)

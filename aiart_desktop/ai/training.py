"""Train a Style: a LoRA learned from the artist's own pictures — the plan, the job folder and
the trainer process, without torch (the training itself is ai/backends/local_train.py).

    plan = TrainPlan(name="inkwash", trigger="inkwash style", base_model=info.id, ...)
    folder = prepare_job(root, plan, [PictureSource("cat.png", path="…/cat.png"), …])
    proc = TrainerProcess(folder, on_event)     # runs the trainer in its own process
    proc.start(); proc.pause(); proc.resume(); proc.cancel(); proc.stop()
    unfinished_jobs(root)                      # jobs a crash, a kill or quitting left behind

A job folder is self-contained, so a training resumes after a crash even when the source
pictures moved: `plan.json` (the frozen plan, with each picture's hash), `pictures/NNN.png`
(the prepared pictures, flattened to RGB), `checkpoint.safetensors` (the LoRA, the optimiser's
state and the loss history, written atomically every `checkpoint_every` steps), `samples/`
(the sample pictures, `step-000200.png`) and, at the end, `done.json`. The LoRA itself is
written, atomically, into the LoRA folder as `<name>.safetensors` when training ends: never a
half-written file there.

The trainer process talks in JSON lines on stdout (`{"event": "step", "step": 12, "loss": …}`;
the events are listed in `EVENTS`) and listens to commands on stdin (`pause`, `resume`,
`cancel`, `stop`). When its stdin closes (the app quit or crashed) it writes a checkpoint and
exits, so the next start can resume.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.io.atomic import atomic_write_json
from .errors import AiError, quoted

log = logging.getLogger(__name__)

MIN_PICTURES = 4
MAX_PICTURES = 200
MAX_RANK = 128
PLAN_FILE = "plan.json"
CHECKPOINT_FILE = "checkpoint.safetensors"
DONE_FILE = "done.json"
PICTURES_DIR = "pictures"
SAMPLES_DIR = "samples"
EVENTS = ("started", "history", "step", "sample", "checkpoint", "paused", "resumed", "done",
          "stopped", "cancelled", "error")
ARCHES = ("sd", "sdxl")
BUCKET_STEP = 64
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


class TrainError(AiError):
    """A training that cannot start or go on; the message is fit to show as it is."""


@dataclass(frozen=True)
class Preset:
    """A preset's values (each editable in the dialog before training starts)."""

    id: str
    label: str
    rank: int
    steps: int
    learning_rate: float
    checkpoint_every: int
    sample_every: int


PRESETS: dict[str, Preset] = {
    "quick": Preset("quick", "Quick", 4, 300, 3e-4, 50, 100),
    "balanced": Preset("balanced", "Balanced", 8, 800, 1e-4, 100, 200),
    "thorough": Preset("thorough", "Thorough", 16, 1600, 1e-4, 200, 400),
}


@dataclass(frozen=True)
class Crop:
    """Where a picture goes: scaled to cover `bucket` (w, h), then `box` (x0, y0, x1, y1, in the
    source's pixels) cut out of it, centred."""

    bucket: tuple[int, int]
    box: tuple[int, int, int, int]


def buckets(resolution: int, step: int = BUCKET_STEP, max_ratio: float = 2.0
            ) -> list[tuple[int, int]]:
    """Aspect-ratio buckets of about `resolution`² pixels, sides multiples of `step` (kohya's
    scheme): from 1:`max_ratio` to `max_ratio`:1, the square among them."""
    area = resolution * resolution
    out: set[tuple[int, int]] = set()
    w = step
    while w <= resolution * max_ratio:
        h = int(area / w) // step * step
        if h >= step and 1 / max_ratio <= w / h <= max_ratio:
            out.add((w, h))
        w += step
    side = resolution // step * step or step
    out.add((side, side))
    return sorted(out)


def bucket_for(width: int, height: int, resolution: int) -> Crop:
    """The bucket whose aspect is nearest the picture's, and the centred crop that fills it."""
    if width <= 0 or height <= 0:
        raise ValueError("empty picture")
    aspect = width / height
    bw, bh = min(buckets(resolution), key=lambda b: (abs(math.log(b[0] / b[1] / aspect)),
                                                      -b[0] * b[1]))
    scale = max(bw / width, bh / height)
    cw, ch = min(width, round(bw / scale)), min(height, round(bh / scale))
    x0, y0 = (width - cw) // 2, (height - ch) // 2
    return Crop((bw, bh), (x0, y0, x0 + cw, y0 + ch))


@dataclass(frozen=True)
class TrainPicture:
    """One prepared picture of a job: `file` in the job's `pictures/`, where it came from
    (`source`: a file's path, or a document's or layer's name), its SHA-256 (of the prepared
    PNG's pixels), its size and its caption (the trigger word is put in front at training)."""

    file: str
    source: str
    sha256: str
    width: int
    height: int
    caption: str = ""


@dataclass(frozen=True)
class TrainPlan:
    """Everything a training is: frozen, saved in the job folder, the same after a resume."""

    name: str                     # the LoRA's name (its file name, what <lora:name> calls)
    trigger: str                  # the word that calls the style, first in every caption
    base_model: str               # the model id (ModelSource.resolve)
    base_name: str = ""
    base_sha256: str = ""         # the base model's hash, written in the LoRA's metadata
    arch: str = "sd"
    resolution: int = 512
    rank: int = 8
    steps: int = 800
    learning_rate: float = 1e-4
    seed: int = 0
    checkpoint_every: int = 100
    sample_every: int = 200
    sample_prompt: str = ""
    sample_steps: int = 20
    device: str = "auto"
    gradient_checkpointing: bool = False
    preset: str = "balanced"
    output: str = ""              # where the LoRA goes (the LoRA folder / name.safetensors)
    models_dir: str = ""          # the models folder the trainer process opens
    pictures: tuple[TrainPicture, ...] = field(default=())

    def caption(self, picture: TrainPicture) -> str:
        extra = " ".join(picture.caption.split())
        return f"{self.trigger}, {extra}" if extra else self.trigger

    def sample_caption(self) -> str:
        extra = " ".join(self.sample_prompt.split())
        return f"{self.trigger}, {extra}" if extra else self.trigger

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pictures"] = [asdict(p) for p in self.pictures]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainPlan:
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in known}
        kw["pictures"] = tuple(TrainPicture(**p) for p in d.get("pictures") or [])
        return cls(**kw)


def with_preset(plan: TrainPlan, preset_id: str) -> TrainPlan:
    """`plan` with a preset's rank, steps, learning rate and intervals."""
    p = PRESETS[preset_id]
    return replace(plan, preset=p.id, rank=p.rank, steps=p.steps, learning_rate=p.learning_rate,
                   checkpoint_every=p.checkpoint_every, sample_every=p.sample_every)


def check_plan(plan: TrainPlan, n_pictures: int | None = None) -> None:
    """A TrainError naming what is wrong with `plan` (before anything is written)."""
    n = len(plan.pictures) if n_pictures is None else n_pictures
    if n < MIN_PICTURES:
        raise TrainError(f"a style needs at least {MIN_PICTURES} pictures ({n} picked); "
                         "10 to 30 varied ones work best")
    if n > MAX_PICTURES:
        raise TrainError(f"at most {MAX_PICTURES} pictures ({n} picked)")
    if not NAME_RE.match(plan.name or ""):
        raise TrainError(f"the name {plan.name!r} cannot be a file name: use letters, digits, "
                         "spaces, '-', '_' or '.' (at most 64)")
    if not plan.trigger.strip():
        raise TrainError("give a trigger word: it is what calls the style in a prompt")
    if plan.arch not in ARCHES:
        raise TrainError(f"{plan.base_name or plan.base_model} cannot be trained: only SD 1.5 "
                         "and SDXL models can")
    if not 1 <= plan.rank <= MAX_RANK:
        raise TrainError(f"the rank must be between 1 and {MAX_RANK}")
    if not 1 <= plan.steps <= 100_000:
        raise TrainError("the steps must be between 1 and 100000")
    if not 0 < plan.learning_rate < 1:
        raise TrainError("the learning rate must be above 0 and below 1")
    if plan.resolution < BUCKET_STEP or plan.resolution % 8:
        raise TrainError(f"the resolution must be a multiple of 8 from {BUCKET_STEP}")


# ---- pictures --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PictureSource:
    """A picture picked for training: a file (`path`) or pixels (`rgba`: an open document's
    picture or a layer), with its label and optional caption."""

    label: str
    path: str = ""
    rgba: np.ndarray | None = None
    caption: str = ""


def read_picture(path: str | os.PathLike[str]) -> np.ndarray:
    """An RGB uint8 picture from a file (any format the app reads), or a TrainError naming it."""
    from ..core.io import FileFormatError, load_document

    try:
        rgba = load_document(str(path)).flatten()
    except (FileFormatError, OSError, ValueError, MemoryError) as exc:
        raise TrainError(f"{quoted(Path(path))} cannot be read: {exc}") from exc
    return flatten_rgba(np.asarray(rgba))


def flatten_rgba(rgba: np.ndarray) -> np.ndarray:
    """RGB uint8 of a picture, transparency over white (what a painting's paper is)."""
    a = np.asarray(rgba)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.shape[2] == 4:
        alpha = a[..., 3:4].astype(np.float32) / 255.0
        rgb = a[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a[..., :3])


def pixels_sha256(rgb: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{rgb.shape[1]}x{rgb.shape[0]}:".encode())
    h.update(np.ascontiguousarray(rgb).tobytes())
    return h.hexdigest()


def _job_name(root: Path, name: str) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "style"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = root / f"{stem}-{stamp}"
    n = 2
    while folder.exists():
        folder = root / f"{stem}-{stamp}-{n}"
        n += 1
    return folder


def prepare_job(root: str | os.PathLike[str], plan: TrainPlan,
                pictures: list[PictureSource]) -> Path:
    """A new job folder under `root` holding `plan` (checked) and the pictures, read, flattened
    and hashed. Any unreadable picture is a TrainError naming it, before anything is kept."""
    check_plan(plan, len(pictures))
    if plan.output and Path(plan.output).exists():
        raise TrainError(f"a LoRA named \u201c{plan.name}\u201d exists already: choose another "
                         "name, or remove it in the model manager")
    rgbs = []
    for src in pictures:
        rgb = flatten_rgba(src.rgba) if src.rgba is not None else read_picture(src.path)
        if min(rgb.shape[:2]) < 32:
            raise TrainError(f"\u201c{src.label}\u201d is too small to learn from "
                             f"({rgb.shape[1]}\u00d7{rgb.shape[0]} pixels)")
        rgbs.append(rgb)
    root = Path(root)
    folder = _job_name(root, plan.name)
    (folder / PICTURES_DIR).mkdir(parents=True)
    try:
        from PIL import Image

        prepared = []
        for i, (src, rgb) in enumerate(zip(pictures, rgbs, strict=True)):
            file = f"{i:03d}.png"
            Image.fromarray(rgb).save(folder / PICTURES_DIR / file)
            prepared.append(TrainPicture(file, src.label, pixels_sha256(rgb), rgb.shape[1],
                                         rgb.shape[0], src.caption))
        atomic_write_json(folder / PLAN_FILE, replace(plan, pictures=tuple(prepared)).to_dict())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def load_plan(folder: str | os.PathLike[str]) -> TrainPlan:
    path = Path(folder) / PLAN_FILE
    try:
        return TrainPlan.from_dict(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise TrainError(f"the training in {quoted(Path(folder))} cannot be read: "
                         f"{exc}") from exc


def jobs_root() -> Path:
    """Where training jobs live: the app's data folder / training."""
    from ..settings import data_dir

    return data_dir() / "training"


# ---- estimates -------------------------------------------------------------------------------
RATES_FILE = "rates.json"
# Seconds per step of a 1-GB (fp32) UNet on a 512² picture (64² latents): rough figures for a
# first estimate; the trainer records the real rate of every training and later estimates use it.
SECONDS_PER_GB = {"cpu": 3.0, "cuda": 0.06, "mps": 0.6}


@dataclass(frozen=True)
class Estimate:
    seconds: float
    peak_bytes: int
    measured: bool   # from an earlier training's rate, not the rough figure

    def text(self) -> str:
        how = "" if self.measured else "roughly "
        return (f"{how}{duration_text(self.seconds)}, about {self.peak_bytes / 2**30:.1f} GB of "
                "memory")


def duration_text(seconds: float) -> str:
    """"40 s", "3 min", "1 h 20 min": a time estimate, plainly (also the AI panel's)."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{int(seconds // 3600)} h {round(seconds % 3600 / 60)} min"


def unet_bytes(path: str | os.PathLike[str]) -> int:
    """The size in fp32 of the UNet of a model (a diffusers folder or a single .safetensors
    checkpoint), counted from the safetensors headers: its parameters times 4 (0 unknown)."""
    from .models.checkpoints import safetensors_header

    p = Path(path)
    files = sorted((p / "unet").glob("*.safetensors")) if p.is_dir() else [p]
    total = 0
    for file in files:
        try:
            header = safetensors_header(file)
        except AiError:
            continue
        for key, t in header.items():
            if key == "__metadata__" or not isinstance(t, dict):
                continue
            if not p.is_dir() and not key.startswith("model.diffusion_model."):
                continue
            total += math.prod(int(x) for x in t.get("shape") or [])
        if p.is_dir():
            break  # one weight file (a variant's twin holds the same UNet)
    return total * 4


def _rate_key(plan: TrainPlan, device: str) -> str:
    return f"{plan.base_model}|{device}|{plan.resolution}|{plan.rank}"


def estimate(plan: TrainPlan, unet_bytes: int, device: str, root: Path | None = None
             ) -> Estimate:
    """Time and peak memory of `plan` on `device` ("cpu", "cuda", "mps"): from the rate an
    earlier training on the same model measured (in `root`/rates.json), else rough figures
    scaled by the UNet's size and the picture's area."""
    area = (plan.resolution / 512) ** 2
    dtype_bytes = 2 if device == "cuda" else 4
    weights = unet_bytes * dtype_bytes / 4 * (1.6 if plan.arch == "sdxl" else 1.35)
    activations = unet_bytes * 1.6 * area * (0.35 if plan.gradient_checkpointing else 1.0)
    peak = int(weights + activations + 600 * 2**20)
    rate = None
    if root is not None:
        try:
            rates = json.loads((root / RATES_FILE).read_text("utf-8"))
            rate = float(rates[_rate_key(plan, device)])
        except (OSError, ValueError, KeyError, TypeError):
            rate = None
    # what every training pays besides its steps: loading the model, the pictures' latents,
    # the loss on the pictures before and after, the sample pictures
    gb = unet_bytes / 2**30
    fixed = 10.0 + 8.0 * gb + 2.0 * gb * len(plan.pictures) * area
    per = SECONDS_PER_GB.get(device, 3.0) * gb * area
    samples = (plan.steps // plan.sample_every + 1) if plan.sample_every else 0
    fixed += samples * per * plan.sample_steps / 3
    if rate is not None:
        return Estimate(rate * plan.steps + fixed, peak, True)
    return Estimate(per * plan.steps + fixed, peak, False)


def record_rate(root: Path, plan: TrainPlan, device: str, seconds_per_step: float) -> None:
    try:
        rates = json.loads((root / RATES_FILE).read_text("utf-8"))
        if not isinstance(rates, dict):
            rates = {}
    except (OSError, ValueError):
        rates = {}
    rates[_rate_key(plan, device)] = round(seconds_per_step, 4)
    atomic_write_json(root / RATES_FILE, rates)


# ---- jobs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobState:
    folder: Path
    plan: TrainPlan
    step: int        # the last checkpoint's step (0: none)
    done: bool


def checkpoint_step(folder: Path) -> int:
    """The step of the job's checkpoint (0 when there is none), from its header only."""
    path = folder / CHECKPOINT_FILE
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if not 0 < n < 1 << 26:
                return 0
            meta = json.loads(f.read(n)).get("__metadata__") or {}
        return int(meta.get("step", 0))
    except (OSError, ValueError, TypeError):
        return 0


def job_state(folder: str | os.PathLike[str]) -> JobState:
    f = Path(folder)
    return JobState(f, load_plan(f), checkpoint_step(f), (f / DONE_FILE).exists())


def unfinished_jobs(root: str | os.PathLike[str]) -> list[JobState]:
    """The jobs under `root` that did not finish (newest first): they can be resumed."""
    out = []
    try:
        folders = [p for p in Path(root).iterdir() if (p / PLAN_FILE).is_file()]
    except OSError:
        return []
    for folder in folders:
        try:
            state = job_state(folder)
        except TrainError as exc:
            log.warning("skipping a training folder: %s", exc)
            continue
        if not state.done:
            out.append(state)
    return sorted(out, key=lambda s: s.folder.stat().st_mtime, reverse=True)


def discard_job(folder: str | os.PathLike[str]) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def trainer_command(folder: str | os.PathLike[str]) -> list[str]:
    """The command line of the trainer process (the frozen app runs it as a sub-command)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "train-job", str(folder)]
    return [sys.executable, "-m", "aiart_desktop.ai.backends.local_train", str(folder)]


class TrainerProcess:
    """The trainer, in its own process: `on_event(dict)` is called from a reader thread for each
    event it prints (see `EVENTS`); a process that dies without saying why gives an "error"
    event naming its exit status and the end of its log."""

    def __init__(self, folder: str | os.PathLike[str],
                 on_event: Callable[[dict[str, Any]], None],
                 env: dict[str, str] | None = None) -> None:
        self.folder = Path(folder)
        self.on_event = on_event
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self._final: dict[str, Any] | None = None
        self._reader: threading.Thread | None = None
        self._stderr: list[str] = []

    def start(self) -> None:
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("HF_HUB_OFFLINE", "1")
        kw: dict[str, Any] = {}
        if os.name == "nt":
            kw["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        self.proc = subprocess.Popen(
            trainer_command(self.folder), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", env=env,
            bufsize=1, **kw)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self._reader = threading.Thread(target=self._read, name="trainer-events", daemon=True)
        self._reader.start()

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip())
            del self._stderr[:-40]

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") in ("done", "stopped", "cancelled", "error"):
                self._final = event
                if event.get("event") == "error":
                    self._log_tail(f"the trainer failed: {event.get('message')}")
            self._emit(event)
        code = self.proc.wait()
        if self._final is None:
            self._log_tail(f"the trainer process ended with status {code}")
            self._emit({"event": "error", "message":
                        f"the training stopped unexpectedly (exit status {code}).\nIt can be "
                        "resumed from its last checkpoint; the log has the details."})

    def _log_tail(self, what: str) -> None:
        time.sleep(0.2)  # the last lines of stderr
        log.error("%s (in %s); its last output:\n%s", what, self.folder,
                  "\n".join(self._stderr[-25:]))

    def _emit(self, event: dict[str, Any]) -> None:
        try:
            self.on_event(event)
        except Exception:  # a listener's failure must not kill the reader
            log.exception("a training event listener failed")

    def send(self, command: str) -> None:
        if self.proc is None or self.proc.stdin is None or self.proc.poll() is not None:
            return
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def pause(self) -> None:
        self.send("pause")

    def resume(self) -> None:
        self.send("resume")

    def cancel(self) -> None:
        self.send("cancel")

    def stop(self) -> None:
        """Checkpoint and end (the job can be resumed later)."""
        self.send("stop")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        if self.proc is None:
            return None
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

"""Live painting, the headless half: what a live session asks for (`LiveSettings`) and when it
starts or cancels a frame (`LiveScheduler`). No Qt, no torch; the Qt session is qt/live.py.

    s = LiveSettings(prompt="a castle", strength=0.6, steps=4, region="frame",
                     frame=Rect(0, 0, 256, 256))
    req = make_request(doc, "img2img", **s.capture_params(), seed=session_seed)

    sched = LiveScheduler(clock=time.monotonic)
    sched.edited()                      # the picture changed
    if sched.should_start():            # nothing in flight, something changed, pause over
        sched.frame_started(); ...      # submit the frame
    sched.invalidate()                  # region or settings changed: the frame in flight is stale
    if sched.should_cancel(): handle.cancel(); sched.frame_cancelled()
    sched.frame_finished(duration_s)    # the frame came back

Latest wins: edits made while a frame runs only mark the picture dirty, so they are merged into
the ONE next frame, started as soon as the running one ends; stale frames are never queued.
As Krita's live scheduler does, a short pause after the last edit (`GRACE_S`) is kept only when
frames take long (`SLOW_FRAME_S`), so a slow model is not restarted at every dab; a stroke that
goes on longer than `MAX_WAIT_S` still gets its frame.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.geometry import Rect
from .conditioning import LoraRef
from .controls import ControlLayer
from .errors import RequestError
from .requests import DECODERS, TAESD

REGIONS = ("selection", "frame", "canvas")
MAX_STEPS = 8
SLOW_FRAME_S = 1.5    # a frame slower than this turns the pause after an edit on
GRACE_S = 0.25        # that pause: the time without edits before a slow frame starts
MAX_WAIT_S = 3.0      # a frame starts anyway once the picture has been dirty this long


@dataclass(frozen=True)
class LiveSettings:
    """What a live session generates: img2img of `region` ("selection": the selection's
    bounds, masked by it; "frame": the rectangle `frame`; "canvas": the whole picture) from the
    visible picture, with a few steps of a Turbo-like model (low guidance). `seed` None: a
    random seed drawn once per session, so the frames change only with the picture.
    `decoder` "taesd" (the default): frames are decoded by TAESD when one for the model's
    family is installed (the model manager offers them), by the full VAE otherwise — the
    backend decides at run time, when the model is known, and the frame's record says which
    ran; Apply re-makes a TAESD frame with the VAE. "vae": always the full VAE."""

    prompt: str
    negative_prompt: str = ""
    strength: float = 0.6
    steps: int = 4
    seed: int | None = None
    model: str = "auto"
    guidance: float = 1.0
    region: str = "selection"
    frame: Rect | None = None
    controls: tuple[ControlLayer, ...] = ()
    loras: tuple[LoraRef, ...] = ()
    decoder: str = TAESD

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise RequestError(f"unknown live decoder {self.decoder!r} "
                               f"(use one of {', '.join(DECODERS)})")
        if not 1 <= int(self.steps) <= MAX_STEPS:
            raise RequestError(f"live mode takes 1 to {MAX_STEPS} steps, not {self.steps}")
        if not 0.0 < float(self.strength) <= 1.0:
            raise RequestError(f"the live strength must be above 0 and at most 1, not "
                               f"{self.strength}")
        if self.region not in REGIONS:
            raise RequestError(f"unknown live region {self.region!r} "
                               f"(use one of {', '.join(REGIONS)})")
        if self.region == "frame" and (self.frame is None or self.frame.empty):
            raise RequestError("the live frame is empty: draw the frame on the canvas first")
        if not self.model:
            object.__setattr__(self, "model", "auto")
        object.__setattr__(self, "controls", tuple(self.controls))
        object.__setattr__(self, "loras", tuple(self.loras))

    def capture_params(self) -> dict[str, Any]:
        """The keyword arguments of `capture.make_request(doc, "img2img", ...)` for these
        settings, without the seed (the session's): the target, and the request's fields."""
        target: dict[str, Any]
        if self.region == "frame":
            target = {"target": "rect", "rect": self.frame, "margin": 0}
        elif self.region == "canvas":
            target = {"target": "image"}
        else:
            target = {"target": "selection", "margin": 0}
        return {**target, "prompt": self.prompt, "negative_prompt": self.negative_prompt,
                "strength": float(self.strength), "steps": int(self.steps),
                "model": self.model, "guidance": float(self.guidance),
                "controls": list(self.controls), "loras": tuple(self.loras),
                "decoder": self.decoder}


class LiveScheduler:
    """Latest-wins scheduling of live frames, with an injectable clock (seconds). Pure logic:
    the caller submits, cancels and reports; see the module's notes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.dirty = False                 # the picture or settings changed since the last start
        self.running = False               # a frame is in flight
        self._cancel = False               # the frame in flight is stale (region, settings)
        self._last_edit = 0.0
        self._first_dirty: float | None = None
        self.last_duration: float | None = None   # of the last finished frame
        self.started = 0                   # frames started / finished / cancelled, for the bench
        self.finished = 0
        self.cancelled = 0

    @property
    def pause(self) -> float:
        """The wait after the last edit before a frame starts: none while frames are fast."""
        d = self.last_duration
        return GRACE_S if d is not None and d > SLOW_FRAME_S else 0.0

    def _mark(self) -> None:
        now = self._clock()
        self.dirty = True
        self._last_edit = now
        if self._first_dirty is None:
            self._first_dirty = now

    def edited(self) -> None:
        """The picture changed: the next frame must see it (the one in flight goes on)."""
        self._mark()

    def invalidate(self) -> None:
        """The region or the settings changed: the frame in flight is stale (cancel it) and a
        new frame is due."""
        self._mark()
        if self.running:
            self._cancel = True

    def should_start(self, now: float | None = None) -> bool:
        """Start a frame now: none is in flight, something changed, and the pause is over."""
        if self.running or not self.dirty:
            return False
        now = self._clock() if now is None else now
        assert self._first_dirty is not None
        return (now - self._last_edit >= self.pause
                or now - self._first_dirty >= MAX_WAIT_S)

    def wait_s(self, now: float | None = None) -> float | None:
        """Seconds until `should_start` may turn true with no further event (None: only an
        event or the frame in flight's end can change it; 0: now)."""
        if self.running or not self.dirty:
            return None
        now = self._clock() if now is None else now
        assert self._first_dirty is not None
        left = min(self.pause - (now - self._last_edit),
                   MAX_WAIT_S - (now - self._first_dirty))
        return max(0.0, left)

    def should_cancel(self) -> bool:
        """The frame in flight is stale: cancel it (then call `frame_cancelled`)."""
        return self.running and self._cancel

    def frame_started(self) -> None:
        """A frame was submitted: it captured everything changed so far."""
        self.running = True
        self.dirty = False
        self._cancel = False
        self._first_dirty = None
        self.started += 1

    def frame_finished(self, duration_s: float | None = None) -> None:
        """The frame in flight came back after `duration_s` (None: not measured)."""
        self.running = False
        self._cancel = False
        self.finished += 1
        if duration_s is not None:
            self.last_duration = float(duration_s)

    def frame_cancelled(self) -> None:
        """The frame in flight ended without a picture (cancelled or failed)."""
        self.running = False
        self._cancel = False
        self.cancelled += 1

    def reset(self) -> None:
        """Forget everything (live turned off)."""
        self.dirty = self.running = self._cancel = False
        self._first_dirty = None

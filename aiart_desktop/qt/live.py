"""Live painting on the window's one AI worker: the region is re-generated (img2img, a few
steps) each time the picture changes, latest wins (`ai/live.py: LiveScheduler`).

    live = LiveSession(win.ai_worker, win.doc)
    live.frame.connect(show)                    # the AiResult of the newest frame
    live.stopped.connect(say)                   # "" when turned off, else a two-line message
    live.start(LiveSettings(prompt="a castle", region="frame", frame=rect))
    live.update(settings)                       # new prompt / region: the stale frame is cancelled
    live.applied.connect(select)                # the Layer each Apply added
    layer = live.apply()                        # the current frame as a new layer, one undo step
    live.stop()

The session listens to the document's events (pixels, structure, layer properties, selection,
size), captures a request with `capture.make_request` on the UI thread when the scheduler says
so, and submits it to the worker; at most one frame is in flight, edits made meanwhile are
merged into the next one, and a frame made stale by a new region or new settings is cancelled
through its `JobHandle`. It never writes to the document except in `apply`. A job submitted by
anyone else (the AI panel), an error, `set_document` or `stop` turn it off; an error is said
once through `stopped(message)`.

A frame decoded by TAESD (`AiResult.info["decoder"]`, see `LiveSettings.decoder`) is applied
with the full VAE: `apply` re-runs the frame's own request (same seed, so the same latents) with
`decoder="vae"` on the worker, live staying on, and applies that result when it comes back;
`applied(layer)` says when (at once for a frame the VAE made, where `apply` also returns it).
"""
from __future__ import annotations

import dataclasses
import logging
import random
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ..ai.apply import apply_result
from ..ai.capture import make_request, request_rect
from ..ai.errors import AiError
from ..ai.live import LiveScheduler, LiveSettings
from ..ai.requests import TAESD, VAE, AiResult
from ..core.document import Document
from ..core.geometry import Rect
from ..core.layer import Layer
from .worker import AiWorker, JobHandle

log = logging.getLogger(__name__)
OFF, WAITING, RUNNING = "off", "waiting", "running"


class LiveSession(QObject):
    """One live-painting session on `worker` over `doc` (see the module's notes)."""

    frame = Signal(object)          # AiResult of the newest frame
    state_changed = Signal(str)     # "off", "waiting" (for a change), "running" (a frame)
    stopped = Signal(str)           # "" turned off normally, else the message of the error
    applied = Signal(object)        # the Layer an Apply added (at once, or after the VAE re-run)

    def __init__(self, worker: AiWorker, doc: Document | None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = worker
        self._doc = doc
        self.settings: LiveSettings | None = None
        self.scheduler = LiveScheduler()
        self.current: AiResult | None = None
        self.seed = 0
        self.state = OFF
        self.frames = 0                        # frames shown this session
        self._job: JobHandle | None = None
        self._started_at = 0.0
        self._submitting = False
        self._applying: tuple[JobHandle, Document] | None = None   # a TAESD frame's VAE re-run
        self._folder: Path | None = None
        self._selection_area: Rect | None = None   # the selection's bounds, until it changes
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._pump)
        worker.submitted.connect(self._on_submitted)

    # ---- public --------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.state != OFF

    @property
    def document(self) -> Document | None:
        return self._doc

    def start(self, settings: LiveSettings) -> None:
        """Turn live on with `settings` (a running session takes them as `update` does)."""
        if self.active:
            self.update(settings)
            return
        self.settings = settings
        self._selection_area = None   # the selection may have changed while live was off
        if self._doc is None:
            self.stopped.emit("there is no picture to paint live on: open or create one first.")
            return
        self.seed = settings.seed if settings.seed is not None else random.randrange(2**31)
        self.current = None
        self.frames = 0
        self.scheduler = LiveScheduler()
        self._listen(True)
        self._set_state(WAITING)
        self.scheduler.invalidate()
        self._pump()

    def update(self, settings: LiveSettings) -> None:
        """New settings: a frame in flight with the old ones is cancelled, a new one is due."""
        if settings == self.settings:
            return
        old, self.settings = self.settings, settings
        if settings.seed is not None:
            self.seed = settings.seed
        elif old is not None and old.seed is not None:
            self.seed = random.randrange(2**31)
        if self.active:
            self.scheduler.invalidate()
            self._pump()

    def stop(self, message: str = "") -> None:
        """Turn live off: the frame in flight is cancelled (it stops at its next step).
        `stopped(message)` follows."""
        if not self.active:
            return
        self._listen(False)
        self._timer.stop()
        job, self._job = self._job, None
        if job is not None:
            self._forget(job)
            job.cancel()
        self.scheduler.reset()
        self._set_state(OFF)
        self.stopped.emit(message)

    def set_document(self, doc: Document | None) -> None:
        """Follow another document: live stops (turn it on again there)."""
        if doc is self._doc:
            return
        self.stop()
        pending, self._applying = self._applying, None
        if pending is not None:  # a re-run for Apply on the old document: not wanted any more
            pending[0].cancel()
        self._doc = doc
        self._selection_area = None
        self.current = None

    @property
    def applying(self) -> bool:
        """A TAESD frame's full-VAE re-run is on its way to be applied."""
        return self._applying is not None

    def apply(self) -> Layer | None:
        """The current frame as a new layer with its record (one undo step), also said by
        `applied(layer)`. A frame TAESD decoded is made again with the full VAE first (same
        request and seed) on the worker: then None is returned and `applied` follows when that
        result is in. None too when there is no frame, it was made for another canvas size, or
        a re-run is already on its way."""
        result, doc = self.current, self._doc
        if (result is None or doc is None or self._applying is not None
                or result.request.canvas_size != (doc.width, doc.height)):
            return None
        if result.info.get("decoder") != TAESD:
            return self._apply(doc, result)
        request = dataclasses.replace(result.request, decoder=VAE)
        self._submitting = True  # not "another job": live stays on
        try:
            job = self._worker.submit(request, previews=False)
        finally:
            self._submitting = False
        self._applying = (job, doc)
        job.finished.connect(self._on_apply_finished)
        job.failed.connect(self._on_apply_failed)
        job.cancelled.connect(self._on_apply_cancelled)
        return None

    def _apply(self, doc: Document, result: AiResult) -> Layer | None:
        if result.request.canvas_size != (doc.width, doc.height):
            return None
        layer = apply_result(doc, result, 0, name=f"Live: {result.request.prompt[:40]}")
        self.applied.emit(layer)
        return layer

    def _on_apply_finished(self, result: AiResult) -> None:
        pending, self._applying = self._applying, None
        if pending is not None and pending[1] is self._doc:  # still the document it was for
            self._apply(pending[1], result)

    def _on_apply_failed(self, message: str) -> None:
        self._applying = None
        text = _two_lines(message)
        if self.active:
            self.stop(text)
        else:
            self.stopped.emit(text)

    def _on_apply_cancelled(self) -> None:
        self._applying = None

    def recorder(self, folder: str | Path | None) -> None:
        """Write every frame from now on to `folder` as a PNG with its parameters (None: stop
        recording). The folder is created when needed."""
        self._folder = None if folder is None else Path(folder)

    # ---- document events ---------------------------------------------------------------------
    def _listen(self, on: bool) -> None:
        doc = self._doc
        if doc is None:
            return
        pairs = [(doc.pixels_changed, self._on_pixels), (doc.structure_changed, self._on_edit),
                 (doc.node_changed, self._on_edit), (doc.selection_changed, self._on_selection),
                 (doc.size_changed, self._on_size)]
        for sig, slot in pairs:
            if on:
                sig.connect(slot)
            else:
                try:
                    sig.disconnect(slot)
                except ValueError:
                    pass

    def _on_pixels(self, rect: Any = None) -> None:
        area = self._area()
        if area is not None and rect is not None and rect.intersect(area).empty:
            return  # outside the live region: the region's picture did not change
        self._on_edit()

    def _area(self) -> Rect | None:
        """The canvas area live frames cover (None: the whole canvas, or not known): the live
        frame, or the selection's bounds (kept until the selection changes)."""
        s, doc = self.settings, self._doc
        if s is None or doc is None or s.region == "canvas":
            return None
        if s.region == "frame":
            return s.frame
        if self._selection_area is None:
            try:
                self._selection_area = request_rect(doc, "img2img", target="selection",
                                                    margin=0)
            except AiError:
                return None   # nothing selected: start() says so
        return self._selection_area

    def _on_edit(self, *_: Any) -> None:
        self.scheduler.edited()
        self._pump_soon()

    def _on_selection(self, *_: Any) -> None:
        self._selection_area = None
        if self.settings is not None and self.settings.region == "selection":
            self.scheduler.invalidate()  # the region moved
            self._pump_soon()

    def _on_size(self, *_: Any) -> None:
        self._selection_area = None
        self.scheduler.invalidate()
        self._pump_soon()

    def _pump_soon(self) -> None:
        """After the edit is done (the document emits before its revision and undo step are
        complete): at the UI thread's next turn, once for all the events of this one."""
        self._timer.start(0)

    # ---- frames ------------------------------------------------------------------------------
    def _pump(self) -> None:
        """Cancel a stale frame, start one when due, or wait for the pause to end."""
        if not self.active:
            return
        s = self.scheduler
        if s.should_cancel() and self._job is not None:
            job, self._job = self._job, None
            self._forget(job)
            job.cancel()
            s.frame_cancelled()
        if s.should_start():
            self._submit()
            if not self.active:  # the capture failed: stopped with its message
                return
        else:
            wait = s.wait_s()
            if wait is not None:
                self._timer.start(max(1, int(wait * 1000)))
        self._set_state(RUNNING if self._job is not None else WAITING)

    def _submit(self) -> None:
        assert self.settings is not None and self._doc is not None
        self.scheduler.frame_started()
        try:
            req = make_request(self._doc, "img2img", seed=self.seed,
                               **self.settings.capture_params())
        except AiError as exc:
            self.scheduler.frame_cancelled()
            self.stop(_two_lines(str(exc)))
            return
        self._submitting = True
        try:
            job = self._worker.submit(req, previews=False)  # nobody shows a frame's steps
        finally:
            self._submitting = False
        self._job = job
        self._started_at = time.perf_counter()
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)

    def _forget(self, job: JobHandle) -> None:
        for sig, slot in ((job.finished, self._on_finished), (job.failed, self._on_failed),
                          (job.cancelled, self._on_cancelled)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    def _on_finished(self, result: AiResult) -> None:
        if self._job is None:  # a forgotten frame (its signals are disconnected, but be sure)
            return
        self._job = None
        self.scheduler.frame_finished(time.perf_counter() - self._started_at)
        self.current = result
        self.frames += 1
        if self._folder is not None:
            self._record(result)
        self.frame.emit(result)
        self._pump()

    def _on_failed(self, message: str) -> None:
        self._job = None
        self.scheduler.frame_cancelled()
        self.stop(_two_lines(message))

    def _on_cancelled(self) -> None:  # cancelled by someone else (the AI panel's Cancel)
        self._job = None
        self.scheduler.frame_cancelled()
        self.stop()

    def _on_submitted(self, job: JobHandle) -> None:
        """Another job on the worker (a normal AI job): live makes way for it."""
        if not self._submitting and self.active:
            self.stop()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def _record(self, result: AiResult) -> None:
        from ..ai.records.live_frames import write_frame

        folder = self._folder
        assert folder is not None
        try:
            write_frame(folder, self.frames, result)
        except OSError as exc:
            log.warning("live recorder: %s", exc)
            self._folder = None
            self.stop(f"cannot write the live frames to {folder}.\n"
                      f"{exc.strerror or exc}")


def _two_lines(message: str) -> str:
    lines = [ln for ln in message.splitlines() if ln.strip()]
    return "\n".join(lines[:2]) or "live painting stopped after an error"

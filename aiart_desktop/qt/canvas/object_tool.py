"""Select Object: click on an object (or drag a box around it) and a Segment Anything model
makes it the selection. Shift adds, Alt subtracts, Shift+Alt intersects, as the other
selection tools do; each answer is one undo step (`SelectionTool.apply`).

Nothing heavy runs on the UI thread. The picture is the visible part of the canvas
(`ai/segment.py: picture_for`, at most 1024 px, keyed by its pixels); its image embedding
(seconds on a CPU) is computed on one background thread when the tool is chosen and again when
the picture changes (pixels, zoom, scroll), a stale one cancelled. A click is queued on the same
thread: it waits for the embedding (the status bar says so) and answers from it (tens of
milliseconds); the mask comes back through `qt/ui_thread.call_on_ui`. The segmenter
(`ai/backends/local_segment.py`, torch) is imported on that thread only, and runs on the
settings' AI device (a graphics card when there is one: the embedding takes a fraction of a
second there, seconds on a CPU).

Without an installed model the tool says what to install (`SEGMENT_HINT`) and does nothing.
"""
from __future__ import annotations

import logging
import math
import threading
import weakref
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QPointF, QRectF, QTimer
from PySide6.QtGui import QPainter, QPainterPath

from ...ai.errors import AiError, Cancelled
from ...ai.segment import SEGMENT_HINT, Box, Point, View, fingerprint, picture_steps
from ...core.selection import Op
from ..ui_thread import call_on_ui
from .selection_tools import CLICK_PX, SelectionTool
from .tools import PointerEvent

if TYPE_CHECKING:
    from ...ai.models.registry import ModelRegistry
    from ...core.document import Document
    from .view import CanvasView

log = logging.getLogger(__name__)
READING = "Reading the picture for Select Object\u2026"
REFRESH_MS = 300        # a picture change settles this long before it is embedded again


@dataclass(frozen=True, eq=False)
class Picture:
    """What the segmenter looks at: the visible part of `doc`, where it sits, its key."""

    doc: Document
    rgb: np.ndarray
    view: View
    key: Hashable
    folder: Path


@dataclass(frozen=True)
class Click:
    doc: Document
    points: tuple[Point, ...]
    box: Box | None
    op: Op
    width: int
    height: int


class ObjectSelectTool(SelectionTool):
    name = "select_object"
    text = "Select object"

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self.registry: ModelRegistry | None = None   # None: the window's (win.ai_models)
        self._own_registry: ModelRegistry | None = None
        self._segmenter: Any = None                  # made on the background thread
        self._device = "auto"                        # the settings' AI device
        self._pool: ThreadPoolExecutor | None = None
        self._picture: Picture | None = None         # the newest picture (read by the pool)
        self._ready: Picture | None = None           # the picture whose embedding is done
        self._waiting = 0                            # clicks queued, not answered yet
        self._closed = False
        self._status = ""
        self._start: QPointF | None = None
        self._start_view = QPointF()
        self._cur = QPointF()
        self._watched: Document | None = None
        self._dirty = True                           # the picture may have changed
        self._steps: Any = None                      # the picture being read, step by step
        self._steps_doc: Document | None = None
        self._timer = QTimer(canvas, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._step_timer = QTimer(canvas, interval=0)
        self._step_timer.timeout.connect(self._step)
        canvas.zoom_changed.connect(self._changed)
        canvas.horizontalScrollBar().valueChanged.connect(self._changed)
        canvas.verticalScrollBar().valueChanged.connect(self._changed)
        canvas.state.tool_changed.connect(self._tool_changed)
        canvas.destroyed.connect(self.shutdown)
        app = QCoreApplication.instance()
        if app is not None:   # quitting cancels an embedding at once (the thread is joined)
            me = weakref.ref(self)
            app.aboutToQuit.connect(lambda: (t := me()) is not None and t.shutdown())

    # ---- state seen by the window and the tests ---------------------------------------------
    @property
    def embeds_computed(self) -> int:
        """How many times the image encoder ran (the cached embedding serves the clicks)."""
        return 0 if self._segmenter is None else int(self._segmenter.embeds_computed)

    @property
    def idle(self) -> bool:
        """No embedding being computed for the newest picture and no click waiting."""
        return self._waiting == 0 and self._steps is None and \
            (self._picture is None or self._ready is self._picture)

    @property
    def busy(self) -> bool:
        return self._start is not None

    def models(self) -> ModelRegistry:
        if self.registry is not None:
            return self.registry
        found = getattr(self.canvas.window(), "ai_models", None)
        if found is not None:
            return found
        if self._own_registry is None:
            from ...ai.models.registry import ModelRegistry

            self._own_registry = ModelRegistry()   # follows the settings' models folder
        return self._own_registry

    def _folder(self) -> Path | None:
        """The installed model's folder; None (and the hint said) without one."""
        try:
            found = self.models().segmenters()
        except (AiError, OSError) as exc:
            log.warning("listing the Segment Anything models failed: %s", exc)
            found = []
        if not found:
            self._say(SEGMENT_HINT)
            return None
        return found[0].path

    def _say(self, text: str) -> None:
        self._status = text
        if not self._closed:
            self.canvas.status.emit(text)

    # ---- the picture ---------------------------------------------------------------------
    def activate(self) -> None:
        settings = getattr(self.canvas.window(), "settings", None)
        self._device = str(getattr(settings, "device", "") or "auto")   # read on the UI thread
        self._watch(self.doc)
        if self._folder() is not None:
            self.refresh()

    def _tool_changed(self, name: str) -> None:
        if name != self.name:
            self._timer.stop()
            self._stop_steps()
            if self._status:
                self._say("")

    def _watch(self, doc: Document | None) -> None:
        if doc is self._watched:
            return
        if self._watched is not None:
            try:
                self._watched.pixels_changed.disconnect(self._changed)
            except (RuntimeError, TypeError):
                pass
        self._watched = doc
        if doc is not None:
            doc.pixels_changed.connect(self._changed)

    def _changed(self, *_: object) -> None:
        self._dirty = True
        self._stop_steps()
        if self.canvas.state.tool == self.name and not self._closed:
            self._timer.start()

    def _stop_steps(self) -> None:
        self._steps = None
        self._step_timer.stop()

    def refresh(self, now: bool = False) -> Picture | None:
        """Look at the visible picture; embed it in the background if it is new. The picture
        is read in steps between the event loop's turns (`picture_steps`), or at once when
        `now` (a click that cannot wait). Returns the picture when it is known."""
        self._timer.stop()
        doc = self.doc
        self._watch(doc)
        if doc is None or self._closed:
            return None
        cur = self._picture
        if not self._dirty and cur is not None and cur.doc is doc and self._steps is None:
            return cur
        if self._steps is None or self._steps_doc is not doc:
            rect = self.canvas.visible_doc_rect()
            if rect.empty:
                return None
            self._steps, self._steps_doc = picture_steps(doc, rect), doc
            self._dirty = False
        if not now:
            self._step_timer.start()
            return None
        while self._steps is not None:
            self._step()
        return self._picture

    def _step(self) -> None:
        steps = self._steps
        if steps is None:
            self._step_timer.stop()
            return
        try:
            next(steps)
            return
        except StopIteration as done:
            rgb, view = done.value
        self._stop_steps()
        self._read(rgb, view)

    def _read(self, rgb: np.ndarray, view: View) -> Picture | None:
        """The picture has been read: embed it unless it is the one already known."""
        doc = self.doc
        folder = self._folder()
        if folder is None or doc is None:
            return None
        key = fingerprint(rgb)
        cur = self._picture
        if cur is not None and cur.doc is doc and cur.key == key and cur.view == view \
                and cur.folder == folder:
            return cur
        pic = Picture(doc, rgb, view, key, folder)
        self._picture = pic          # the running embedding of an older picture stops
        self._say(READING)
        self._submit(self._embed_job, pic)
        return pic

    def _submit(self, fn: Any, *args: Any) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="select-object")
        self._pool.submit(fn, *args)

    # ---- on the background thread --------------------------------------------------------
    def _seg(self) -> Any:
        if self._segmenter is None:
            from ...ai.backends.local_segment import Segmenter  # torch: on this thread only

            self._segmenter = Segmenter(self._device)   # the settings' device (GPU if any)
        return self._segmenter

    def _embed(self, pic: Picture) -> Any:
        return self._seg().embed(pic.rgb, pic.folder, pic.view, pic.key,
                                 cancelled=lambda: self._closed or self._picture is not pic)

    def _embed_job(self, pic: Picture) -> None:
        if self._closed or self._picture is not pic:
            return
        try:
            self._embed(pic)
        except Cancelled:
            return
        except Exception as exc:
            self._report(exc)
            return
        call_on_ui(self.canvas, self._embedded, pic)

    def _click_job(self, click: Click) -> None:
        mask = None
        try:
            while not self._closed:
                pic = self._picture
                if pic is None:
                    break
                try:
                    emb = self._embed(pic)
                except Cancelled:
                    continue         # the picture changed meanwhile: the newest one answers
                mask = self._seg().select(emb, click.points, click.box, click.width,
                                          click.height)
                call_on_ui(self.canvas, self._embedded, pic)
                break
        except Exception as exc:
            self._report(exc)
        call_on_ui(self.canvas, self._answer, click, mask)

    def _report(self, exc: BaseException) -> None:
        if not isinstance(exc, AiError):
            log.error("Select Object failed", exc_info=(type(exc), exc, exc.__traceback__))
            exc = AiError("Select Object failed: the details are in the log.")
        call_on_ui(self.canvas, self._failed, str(exc))

    # ---- back on the UI thread -----------------------------------------------------------
    def _embedded(self, pic: Picture) -> None:
        self._ready = pic
        if pic is self._picture and self._waiting == 0 and self._status == READING:
            self._say("")

    def _failed(self, text: str) -> None:
        self._say(text)

    def _answer(self, click: Click, mask: np.ndarray | None) -> None:
        self._waiting = max(0, self._waiting - 1)
        if self._waiting == 0 and self._status == READING:
            self._say("")
        if mask is None or click.doc is not self.doc or \
                (click.width, click.height) != (self.doc.width, self.doc.height):
            return
        self.op = click.op
        self.apply(mask, self.text)

    # ---- the pointer -----------------------------------------------------------------------
    def press(self, ev: PointerEvent) -> None:
        if not self.begin(ev):
            return
        self._start = QPointF(ev.x, ev.y)
        self._cur = QPointF(ev.x, ev.y)
        self._start_view = QPointF(ev.view_pos)

    def move(self, ev: PointerEvent) -> None:
        if self._start is None:
            return
        old = self.box()
        self._cur = QPointF(ev.x, ev.y)
        self.update_view(old.united(self.box()))

    def release(self, ev: PointerEvent) -> None:
        if self._start is None:
            return
        self.move(ev)
        start, box = self._start, self.box()
        self._start = None
        self.update_view(box)
        d = ev.view_pos - self._start_view
        if math.hypot(d.x(), d.y()) < CLICK_PX:
            self.ask(points=((start.x(), start.y(), +1),), op=self.op)
        elif box.width() >= 1 and box.height() >= 1:
            self.ask(box=(box.left(), box.top(), box.right(), box.bottom()), op=self.op)

    def ask(self, points: tuple[Point, ...] = (), box: Box | None = None,
            op: Op = Op.REPLACE) -> bool:
        """Segment what `points` / `box` (document coordinates) point at and combine it with
        the selection by `op` when the answer comes. False when there is no model."""
        doc = self.doc
        if doc is None or self._closed:
            return False
        if self._folder() is None or self.refresh(now=True) is None:
            return False
        self._waiting += 1
        if self._ready is not self._picture:
            self._say(READING)
        self._submit(self._click_job, Click(doc, tuple(points), box, op, doc.width, doc.height))
        return True

    def box(self) -> QRectF:
        if self._start is None:
            return QRectF()
        return QRectF(self._start, self._cur).normalized()

    def cancel(self) -> None:
        if self._start is not None:
            box = self.box()
            self._start = None
            self.update_view(box)

    def finish(self) -> None:
        self.cancel()

    def paint_overlay(self, p: QPainter) -> None:
        if self._start is None:
            return
        path = QPainterPath()
        path.addRect(self.box())
        self.draw_doc_path(p, path)

    # ---- the end -----------------------------------------------------------------------
    def shutdown(self, *_: object) -> None:
        """Stop: the embedding in progress is cancelled, nothing comes back."""
        self._closed = True
        self._picture = None
        self._steps = None
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def wait(self, timeout: float = 30.0) -> bool:
        """Tests: wait (not on a real UI) for the background thread to have run what was
        queued so far. True when it did."""
        if self._pool is None:
            return True
        done = threading.Event()
        self._pool.submit(done.set)
        return done.wait(timeout)

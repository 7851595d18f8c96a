"""The one long-lived AI worker thread.

    worker = AiWorker(device="auto")            # or AiWorker(engine=Engine(registry, "cpu"))
    worker.finished.connect(on_result)          # (job_id, AiResult) on the UI thread
    job = worker.submit(request)                # returns at once
    worker.cancel(job)                          # or cancel() for everything
    worker.shutdown()                           # when the window closes

`AiWorker` lives in its own QThread (moved there at construction); `submit`, `cancel`,
`set_device`, `unload` and `shutdown` may be called from the UI thread and only touch a
thread-safe queue and flags. The thread runs `Engine.run` one job at a time; its signals reach
UI-thread slots as queued calls, carrying copies (QImage previews, the AiResult), so nothing on
the UI thread ever waits for the model, and the worker never sees the document. torch is
imported on the worker thread only, through the engine, on the first job.
"""
from __future__ import annotations

import atexit
import itertools
import logging
import queue
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

if TYPE_CHECKING:
    from ..ai.engine import Engine
    from ..ai.requests import AiRequest, ProgressInfo

log = logging.getLogger(__name__)
PREVIEW_INTERVAL_S = 1 / 30   # previews are sent at most this often (step counts always are)


@dataclass(frozen=True)
class _Task:
    job_id: int
    kind: str                     # "run", "unload", "device"
    payload: Any = None


def _stop_at_exit(ref: weakref.ref[AiWorker]) -> None:
    """Last resort: a QThread destroyed while running aborts the process."""
    worker = ref()
    if worker is not None:
        try:
            worker.shutdown()
        except RuntimeError:  # its C++ side is already gone
            pass


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage (RGB888) owning a copy of an (h, w, 3) uint8 array; safe on any thread."""
    px = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = px.shape[:2]
    return QImage(px.data, w, h, w * 3, QImage.Format.Format_RGB888).copy()


class AiWorker(QObject):
    """Runs AI requests on one background thread, in the order they were submitted."""

    started = Signal(int)                        # job_id began running
    progress = Signal(int, int, int, object)     # job_id, step, total, QImage | None
    status = Signal(int, str)                    # job_id, phase ("loading model", ...)
    finished = Signal(int, object)               # job_id, AiResult
    failed = Signal(int, str)                    # job_id, message for the user
    cancelled = Signal(int)                      # job_id
    idle = Signal()                              # the queue ran dry
    _wake = Signal()

    def __init__(self, engine: Engine | None = None, device: str | None = None) -> None:
        super().__init__()
        self._engine = engine
        self._device = device
        self._queue: queue.Queue[_Task] = queue.Queue()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._cancel_ids: set[int] = set()
        self._cancel_upto = 0          # every job with an id <= this is cancelled
        self._last_id = 0
        self._current = 0              # job running now (0: none)
        self._thread = QThread()
        self._thread.setObjectName("AiWorker")
        self.moveToThread(self._thread)
        self._wake.connect(self._drain)
        self._thread.start()
        atexit.register(_stop_at_exit, weakref.ref(self))

    # ---- UI-thread API ---------------------------------------------------------------------
    @property
    def thread_handle(self) -> QThread:
        return self._thread

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    @property
    def busy(self) -> bool:
        """A job is running or waiting."""
        return self._current != 0 or not self._queue.empty()

    @property
    def current_job(self) -> int:
        return self._current

    def submit(self, request: AiRequest) -> int:
        """Queue `request` (a frozen copy of everything it needs); returns its job id."""
        with self._lock:
            job_id = next(self._ids)
            self._last_id = job_id
        self._put(_Task(job_id, "run", request))
        return job_id

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel one job, or (None) the running job and everything queued. The engine checks
        the flag at every step; a cancelled job reports `cancelled` and changes nothing."""
        with self._lock:
            if job_id is None:
                self._cancel_upto = self._last_id
            else:
                self._cancel_ids.add(int(job_id))

    def set_device(self, device: str) -> None:
        """"auto", "cuda", "mps" or "cpu"; applied between jobs (the model reloads)."""
        self._put(_Task(0, "device", device))

    def unload(self) -> None:
        """Free the loaded model's memory, between jobs."""
        self._put(_Task(0, "unload"))

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Cancel everything and stop the thread; True when it has stopped. Safe to call twice;
        a later `submit` starts the thread again."""
        try:
            if not self._thread.isRunning():
                return True
        except RuntimeError:  # the C++ thread object is gone (interpreter shutdown)
            return True
        self.cancel()
        self._thread.quit()
        ok = self._thread.wait() if timeout_ms < 0 else self._thread.wait(timeout_ms)
        while not self._queue.empty():  # jobs that never ran
            self._queue.get_nowait()
        return bool(ok)

    def _put(self, task: _Task) -> None:
        if not self._thread.isRunning():
            self._thread.start()
        self._queue.put(task)
        self._wake.emit()  # queued to the worker thread: runs _drain there

    def is_cancelled(self, job_id: int) -> bool:
        with self._lock:
            return job_id <= self._cancel_upto or job_id in self._cancel_ids

    # ---- worker thread ---------------------------------------------------------------------
    def engine(self) -> Engine:
        """The engine (created on first use, on the worker thread)."""
        if self._engine is None:
            from ..ai.engine import Engine

            self._engine = Engine(device=self._device)
        return self._engine

    @Slot()
    def _drain(self) -> None:
        worked = False
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            worked = True
            if task.kind == "run":
                self._run(task.job_id, task.payload)
            elif task.kind == "unload":
                self._quietly(lambda: self.engine().unload())
            elif task.kind == "device":
                self._device = task.payload
                if self._engine is not None:
                    self._quietly(lambda d=task.payload: self.engine().set_device(d))
        if worked:
            self.idle.emit()

    @staticmethod
    def _quietly(fn: Any) -> None:
        try:
            fn()
        except Exception:  # housekeeping must never stop the worker
            pass

    def _run(self, job_id: int, request: AiRequest) -> None:
        from ..ai.errors import AiError, Cancelled

        if self.is_cancelled(job_id):
            self.cancelled.emit(job_id)
            return
        self._current = job_id
        self.started.emit(job_id)
        last = [0.0, ""]

        def on_progress(p: ProgressInfo) -> None:
            now = time.perf_counter()
            if p.phase != last[1]:
                last[1] = p.phase
                self.status.emit(job_id, p.phase)
            image = None
            if p.preview is not None and (now - last[0] >= PREVIEW_INTERVAL_S
                                          or p.step >= p.total):
                last[0] = now
                image = rgb_to_qimage(p.preview)
            self.progress.emit(job_id, int(p.step), int(p.total), image)

        outcome: tuple[Any, tuple[Any, ...]]
        try:
            result = self.engine().run(request, on_progress, lambda: self.is_cancelled(job_id))
        except Cancelled:
            outcome = (self.cancelled, (job_id,))
        except AiError as exc:
            outcome = (self.failed, (job_id, str(exc)))
        except Exception:  # the worker must survive anything
            log.exception("AI job %d failed", job_id)
            outcome = (self.failed, (job_id, "the AI job failed unexpectedly; nothing was "
                                             "changed.\nThe details are in the log."))
        else:
            outcome = ((self.cancelled, (job_id,)) if self.is_cancelled(job_id)
                       else (self.finished, (job_id, result)))
        # Not busy any more BEFORE telling anyone: a slot that reacts to the end of this job by
        # submitting the next one must not find the worker still busy with this one.
        self._current = 0
        with self._lock:
            self._cancel_ids.discard(job_id)
        signal, args = outcome
        signal.emit(*args)

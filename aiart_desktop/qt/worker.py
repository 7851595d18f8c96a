"""The one long-lived AI worker thread, and the handle of each job submitted to it.

    worker = AiWorker(device="auto")            # or AiWorker(engine=setup.default_engine(reg))
    job = worker.submit(request)                # a JobHandle, at once
    job.progress.connect(on_step)               # (step, total, QImage | None)
    job.finished.connect(on_result)             # (AiResult,) on the UI thread
    job.cancel()                                # or worker.cancel() for everything
    worker.shutdown()                           # when the window closes

Each job has its own `JobHandle` (a QObject on the UI thread): its signals fire only for that
job, so no listener compares job ids. `worker.submitted(JobHandle)` tells observers (the
Generations dock) of every job, inside `submit`.

Threads. `AiWorker` itself lives on the UI thread; the jobs run on its one QThread
(`thread_handle`), in the order they were submitted, through a private runner living there.
`submit`, `set_device`, `set_engine`, `unload` and `shutdown` are UI-thread calls, `cancel`
(and `current`) may be used from any thread; they only touch a thread-safe queue and flags.
The thread runs `Engine.run` one job at a time and posts what happens to the job's handle as
queued calls carrying copies (QImage previews, the AiResult); the handle updates its `state`
and emits its public signals on the UI thread. So every slot of a handle runs on the UI thread (a
DirectConnection too), nothing on the UI thread ever waits for the model, the worker never sees
the document, and a listener that connects right after `submit` returns misses nothing (nothing
is delivered before the UI thread gets back to its event loop). Disconnecting from a handle
stops its signals at once, even ones already on their way. The worker is not busy any more
(`busy`) by the time a job's end is delivered, and it holds each handle until then, so
listeners need not keep it. torch is imported on the worker thread only, through the engine,
on the first job.
"""
from __future__ import annotations

import atexit
import itertools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

if TYPE_CHECKING:
    from ..ai.engine import Engine
    from ..ai.requests import AiRequest, AiResult, ProgressInfo

log = logging.getLogger(__name__)
PREVIEW_INTERVAL_S = 1 / 30   # previews are sent at most this often (step counts always are)
QUEUED, RUNNING = "queued", "running"
FINISHED, FAILED, CANCELLED = "finished", "failed", "cancelled"


class JobHandle(QObject):
    """One job submitted to an `AiWorker`: its signals, its state, and Cancel.

    Signals (each fires only for this job, on the UI thread): `started()`, `status(phase)`
    ("loading the model", ...), `progress(step, total, QImage | None)` (total 0: a busy step of
    unknown length), then exactly one of `finished(AiResult)`, `failed(message)` (for the
    user, at most two lines) or `cancelled()`, followed by `ended(handle)` (read its `state`,
    `result`, `error`). A job cancelled before it started sends only `cancelled` and `ended`.
    `state` is "queued", "running", then "finished" | "failed" | "cancelled", as delivered."""

    started = Signal()
    status = Signal(str)
    progress = Signal(int, int, object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal(object)
    _post = Signal(str, object)   # from the worker thread: (what happened, its data)

    def __init__(self, worker: AiWorker, job_id: int, request: AiRequest) -> None:
        super().__init__()  # no parent: lives on the thread that submitted it (the UI's)
        self._worker = worker
        self.id = job_id
        self.request = request
        self.state = QUEUED
        self.result: AiResult | None = None   # set when finished
        self.error = ""                       # the message, when failed
        self.previews = True                  # progress comes with preview pictures
        self._post.connect(self._deliver)     # queued: the worker thread posts, we emit here

    @property
    def done(self) -> bool:
        """The job is over on the worker (finished, failed or cancelled)."""
        return self.state in (FINISHED, FAILED, CANCELLED)

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def cancel(self) -> None:
        """Ask the worker to stop this job; it answers `cancelled` (nothing is changed), or
        `finished` when the job was already over. Does nothing once the job is done."""
        if not self.done:
            self._worker.cancel(self)

    def __repr__(self) -> str:
        return f"<JobHandle {self.id} {type(self.request).__name__} {self.state}>"

    @Slot(str, object)
    def _deliver(self, what: str, data: Any) -> None:
        """UI thread: what the worker thread posted, as this handle's state and signals."""
        if what == "progress":
            self.progress.emit(*data)
        elif what == "status":
            self.status.emit(data)
        elif what == RUNNING:
            self.state = RUNNING
            self.started.emit()
        else:
            self.state = what
            if what == FINISHED:
                self.result = data
                self.finished.emit(data)
            elif what == FAILED:
                self.error = data
                self.failed.emit(data)
            else:
                self.cancelled.emit()
            self.ended.emit(self)


@dataclass(frozen=True)
class _Task:
    kind: str                     # "run", "unload", "device", "engine"
    payload: Any = None           # the JobHandle for "run", the device for "device", the
                                  # engine's maker for "engine"


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


class _Runner(QObject):
    """Lives on the worker thread: drains the worker's queue when woken."""

    def __init__(self, worker: AiWorker) -> None:
        super().__init__()
        self._worker = weakref.ref(worker)

    @Slot()
    def drain(self) -> None:
        worker = self._worker()
        if worker is not None:
            worker._drain()


class AiWorker(QObject):
    """Runs AI requests on one background thread, in the order they were submitted."""

    submitted = Signal(object)    # a JobHandle, inside submit() (UI thread), before it can run
    idle = Signal()               # the queue ran dry
    _wake = Signal()              # to the runner, on the worker thread
    _release = Signal(int)        # from the worker thread: this job's signals are all sent

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
        self._current: JobHandle | None = None   # the job running now
        self._handles: dict[int, JobHandle] = {}  # UI thread only: jobs not yet released
        self._thread = QThread()
        self._thread.setObjectName("AiWorker")
        self._runner = _Runner(self)
        self._runner.moveToThread(self._thread)
        self._wake.connect(self._runner.drain)    # queued: runs on the worker thread
        self._release.connect(self._released)     # queued: after the job's last signal
        self._thread.start()
        atexit.register(_stop_at_exit, weakref.ref(self))

    # ---- UI-thread API ---------------------------------------------------------------------
    @property
    def thread_handle(self) -> QThread:
        """The thread the jobs run on."""
        return self._thread

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    @property
    def busy(self) -> bool:
        """A job is running or waiting."""
        return self._current is not None or not self._queue.empty()

    @property
    def current(self) -> JobHandle | None:
        """The job running now, if any."""
        return self._current

    def submit(self, request: AiRequest, previews: bool = True) -> JobHandle:
        """Queue `request` (a frozen copy of everything it needs); returns its handle at once,
        after `submitted` has told the observers. `previews=False`: no preview pictures are
        made for its `progress` (a live frame, whose result comes within a moment)."""
        with self._lock:
            job_id = next(self._ids)
            self._last_id = job_id
        job = JobHandle(self, job_id, request)
        job.previews = previews
        self._handles[job_id] = job
        self.submitted.emit(job)
        self._put(_Task("run", job))
        return job

    def cancel(self, job: JobHandle | None = None) -> None:
        """Cancel one job, or (None) the running job and everything queued. The engine checks
        the flag at every step; a cancelled job reports `cancelled` and changes nothing."""
        with self._lock:
            if job is None:
                self._cancel_upto = self._last_id
            else:
                self._cancel_ids.add(job.id)

    def set_device(self, device: str) -> None:
        """"auto", "cuda", "mps" or "cpu"; applied between jobs (the model reloads)."""
        self._put(_Task("device", device))

    def unload(self) -> None:
        """Free the loaded model's memory, between jobs."""
        self._put(_Task("unload"))

    def set_engine(self, make: Callable[[Engine | None], Engine] | None) -> None:
        """Swap the engine between jobs (Settings › Where AI runs saved): after the job
        running now and those already queued, the old engine unloads and `make(old)` builds
        the new one on the worker thread (None, or a `make` that fails: the default engine is
        built at the next job). Jobs submitted after this call run on the new engine."""
        self._put(_Task("engine", make))

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Cancel everything and stop the thread; True when it has stopped. Safe to call twice;
        a later `submit` starts the thread again. A job that never got to run is marked
        cancelled without a signal (its listeners may be on their way out too)."""
        try:
            if not self._thread.isRunning():
                return True
        except RuntimeError:  # the C++ thread object is gone (interpreter shutdown)
            return True
        self.cancel()
        self._thread.quit()
        ok = self._thread.wait() if timeout_ms < 0 else self._thread.wait(timeout_ms)
        while not self._queue.empty():  # jobs that never ran
            task = self._queue.get_nowait()
            if task.kind == "run":
                task.payload.state = CANCELLED
                self._handles.pop(task.payload.id, None)
        return bool(ok)

    def is_cancelled(self, job: JobHandle) -> bool:
        with self._lock:
            return job.id <= self._cancel_upto or job.id in self._cancel_ids

    def _put(self, task: _Task) -> None:
        if not self._thread.isRunning():
            self._thread.start()
        self._queue.put(task)
        self._wake.emit()  # queued to the worker thread: the runner drains there

    @Slot(int)
    def _released(self, job_id: int) -> None:
        """UI thread, after the job's last signal was delivered: the worker lets go of it."""
        self._handles.pop(job_id, None)

    # ---- worker thread ---------------------------------------------------------------------
    def engine(self) -> Engine:
        """The engine (created on first use, on the worker thread)."""
        if self._engine is None:
            from ..ai.setup import default_engine

            self._engine = default_engine(device=self._device)
        return self._engine

    def _drain(self) -> None:
        worked = False
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            worked = True
            if task.kind == "run":
                self._run(task.payload)
            elif task.kind == "unload":
                self._quietly(lambda: self.engine().unload())
            elif task.kind == "engine":
                self._swap_engine(task.payload)
            elif task.kind == "device":
                self._device = task.payload
                if self._engine is not None:
                    self._quietly(lambda d=task.payload: self.engine().set_device(d))
        if worked:
            self.idle.emit()

    def _swap_engine(self, make: Callable[[Engine | None], Engine] | None) -> None:
        old, self._engine = self._engine, None
        if old is not None:
            self._quietly(old.unload)
        if make is not None:
            try:
                self._engine = make(old)
            except Exception:   # the next job builds the default engine and says what fails
                log.exception("the new AI engine could not be built")

    @staticmethod
    def _quietly(fn: Any) -> None:
        try:
            fn()
        except Exception:  # housekeeping must never stop the worker
            pass

    def _run(self, job: JobHandle) -> None:
        from ..ai.errors import AiError, Cancelled

        if self.is_cancelled(job):
            self._end(job, CANCELLED)
            return
        self._current = job
        job._post.emit(RUNNING, None)
        last = [0.0, ""]

        def on_progress(p: ProgressInfo) -> None:
            now = time.perf_counter()
            if p.phase != last[1]:
                last[1] = p.phase
                job._post.emit("status", p.phase)
            image = None
            if job.previews and (now - last[0] >= PREVIEW_INTERVAL_S or p.step >= p.total):
                picture = p.picture()
                if picture is not None:
                    last[0] = now
                    image = rgb_to_qimage(picture)
            job._post.emit("progress", (int(p.step), int(p.total), image))

        how, payload = CANCELLED, None
        try:
            result = self.engine().run(job.request, on_progress, lambda: self.is_cancelled(job))
        except Cancelled:
            pass
        except AiError as exc:
            how, payload = FAILED, str(exc)
        except Exception:  # the worker must survive anything
            log.exception("AI job %d failed", job.id)
            how, payload = FAILED, ("the AI job failed unexpectedly; nothing was changed.\n"
                                    "The details are in the log.")
        else:
            if not self.is_cancelled(job):
                how, payload = FINISHED, result
        # Not busy any more BEFORE telling anyone: a slot that reacts to the end of this job by
        # submitting the next one must not find the worker still busy with this one.
        self._current = None
        self._end(job, how, payload)

    def _end(self, job: JobHandle, how: str, payload: Any = None) -> None:
        with self._lock:
            self._cancel_ids.discard(job.id)
        job._post.emit(how, payload)
        self._release.emit(job.id)   # queued behind the job's last delivery

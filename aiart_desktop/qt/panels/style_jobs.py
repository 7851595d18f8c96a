"""The Style dock's jobs: preview, apply, Enter, cancel, discard, and the worker's answers.

A finished preview is applied as it is when nothing it depends on has changed: the same
style and settings (`_key`) and the same pixels and selection under the same target
(`preview_is_current`: the document's revision, or, when that moved for another reason —
the generation history noting the job bumps it — the captured region compared pixel for
pixel). Otherwise Apply styles again and applies when done. Enter applies a current preview,
or runs the preview when there is none (a second Enter then applies), as the dock's hints say.
The request is `ai.capture.make_request(doc, "style", target=...)`, the builder the AI panel
uses too (target: the selection, the active layer's area or the whole picture).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ...ai.capture import make_request
from ...ai.errors import AiError
from ...ai.requests import STYLE, StyleRequest
from ...ai.styles.builtins import builtin_name
from .style_progress import StyleProgress, work_pixels

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QCheckBox, QWidget

    from ...ai.requests import AiResult
    from ...ai.styles.library import StyleLibrary
    from ...core.document import Document
    from ...core.layer import Layer
    from ..worker import AiWorker, JobHandle
    from .style_controls import StyleControls


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b))


class StyleJobs:
    """Mixed into StyleGallery (which provides the widgets, signals and helpers named here)."""

    worker: AiWorker
    library: StyleLibrary
    controls: StyleControls
    auto_preview: QCheckBox
    meter: StyleProgress
    run_row: QWidget
    result: AiResult | None
    result_doc: Document | None
    _result_key: tuple[Any, ...] | None
    _job: JobHandle | None
    _job_doc: Document | None
    _job_key: tuple[Any, ...] | None
    _job_revision: int
    _apply_when_done: bool
    _t0: float
    _took: float
    _auto: QTimer
    _fresh: tuple[Any, ...] | None
    _applied: tuple[Layer, Document] | None
    _note: str
    running_changed: Any
    job_ended: Any
    applied: Any
    message: Any

    if TYPE_CHECKING:
        @property
        def doc(self) -> Document | None: ...
        def current_style(self) -> tuple[str, str, str] | None: ...
        def _show_error(self, text: str) -> None: ...
        def _sync(self) -> None: ...
        def _set_preview(self, image: Any, rect: Any) -> None: ...
        def _restore_preview(self) -> None: ...

    # ---- what a result depends on -------------------------------------------------------------
    def _key(self) -> tuple[Any, ...] | None:
        """The style and settings a result is made with (the pixels are checked apart)."""
        style = self.current_style()
        doc = self.doc
        if style is None or doc is None:
            return None
        p = self.controls.params()
        return (style[0], style[1], p["strength"], p["style_scale"], p["preserve_colors"],
                self.controls.current_target(), id(doc))

    def preview_is_current(self) -> bool:
        """True when Apply can add the previewed result as it is: same style, settings,
        document, target area and pixels as when it was made."""
        r, doc = self.result, self.doc
        if r is None or doc is None or self.result_doc is not doc or \
                self._result_key != self._key():
            return False
        req: Any = r.request
        if int(getattr(req, "revision", -1)) == doc.revision:
            return True
        stamp = (id(r), doc.revision, self._result_key)
        if self._fresh is not None and self._fresh[0] == stamp:
            return bool(self._fresh[1])
        try:  # the area as it is now (no style picture needed to compare it)
            now: Any = make_request(doc, STYLE, target=self.controls.current_target(),
                                    style="Style 0", **self.controls.params())
        except AiError:
            same = False
        else:
            same = now.rect == req.rect and _same(now.image, req.image) and \
                _same(now.mask, req.mask)
        self._fresh = (stamp, same)
        return same

    # ---- the dock's actions --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._job is not None

    def preview(self) -> JobHandle | None:
        """Style the target with the picked style on the worker; the job (None: refused, with
        the reason shown). A preview already running for this panel is replaced."""
        return self._submit(apply=False)

    def apply_style(self) -> Layer | None:
        """Apply the current preview as a new layer (returned). With none, style first and
        apply when the job is done (then returns None); a preview of these settings already
        running is applied when it ends instead of being started again."""
        if self.preview_is_current():
            return self._apply_result()
        if self._running_same():
            self._apply_when_done = True
            self._sync()
            return None
        self._submit(apply=True)
        return None

    def enter(self) -> Layer | None:
        """What Enter does in the dock: apply the current preview; with none, run the preview
        (or, with one of these settings running, apply it when it ends)."""
        if self.preview_is_current() or self._running_same():
            return self.apply_style()
        self.preview()
        return None

    def _running_same(self) -> bool:
        doc = self.doc
        return bool(self._job) and self._job_doc is doc and doc is not None and \
            self._job_key == self._key() and self._job_revision == doc.revision

    def _submit(self, apply: bool) -> JobHandle | None:
        self._auto.stop()
        doc, style = self.doc, self.current_style()
        if doc is None:
            return None
        if style is None:
            self._show_error("Pick a style first: one of the built-in styles or your own.")
            return None
        if self._job:  # replaced: cancelled, and nothing more of it reaches us
            self._listen(self._job, False)
            self._job.cancel()
            self._job = None
        elif self.worker.busy:
            self._show_error("The AI worker is busy with another job (the AI panel). Wait "
                             "for it, or cancel it there, then try again.")
            return None
        try:
            request = self._make_request(doc, *style)
        except AiError as exc:
            self._show_error(str(exc))
            return None
        self._show_error("")
        self._note = ""
        self._job_doc, self._job_key, self._apply_when_done = doc, self._key(), apply
        self._job_revision = doc.revision
        self._t0 = time.perf_counter()
        self._job = job = self.worker.submit(request)
        self._listen(job, True)
        self.meter.start(style[0], work_pixels(request, style[0]))
        self.run_row.show()
        self.running_changed.emit(True)
        self._sync()
        return job

    def _listen(self, job: JobHandle, on: bool) -> None:
        """Connect our slots to `job`'s signals, or (off) disconnect them: a disconnected
        handle's signals, even those already on their way, no longer reach us."""
        for signal, slot in ((job.progress, self._on_progress), (job.finished, self._on_finished),
                             (job.failed, self._on_failed), (job.cancelled, self._on_cancelled)):
            if on:
                signal.connect(slot)
            else:
                signal.disconnect(slot)

    def _make_request(self, doc: Document, kind: str, key: str, name: str) -> StyleRequest:
        params = self.controls.params()
        target = self.controls.current_target()
        if kind == "user":
            req = make_request(doc, STYLE, target=target, style=name,
                               style_image=self.library.pixels(key), **params)
        else:
            req = make_request(doc, STYLE, target=target, style=key, **params)
        assert isinstance(req, StyleRequest)
        return req

    def cancel(self) -> None:
        if self._job:
            self._job.cancel()
            self._note = "Cancelling…"
            self._sync()

    def discard(self) -> None:
        """Drop the preview; the picture was never changed by it."""
        had = self.result is not None
        self.result, self.result_doc, self._result_key = None, None, None
        self._set_preview(None, None)
        if had:
            self._note = "Preview discarded; the picture is unchanged."
        self._sync()

    # ---- the running job's signals (connected to its handle only) ------------------------------
    def _on_progress(self, step: int, total: int, _image: object) -> None:
        self.meter.tiles(min(step, total), total)

    def _end_job(self, finished: bool = False) -> Document | None:
        self._took = self.meter.finish(finished)
        doc = self._job_doc
        self._job, self._job_doc = None, None
        self.run_row.hide()
        self.running_changed.emit(False)
        return doc

    def _ended(self, how: str) -> None:
        self._sync()
        self.job_ended.emit(how)

    def _on_finished(self, result: AiResult) -> None:
        apply, key = self._apply_when_done, self._job_key
        doc = self._end_job(finished=True)
        if doc is not self.doc:
            self._ended("finished")
            return
        self.result, self.result_doc, self._result_key = result, doc, key
        self._fresh = None
        self._restore_preview()
        self._note = f"Styled in {self._took:.1f} s."
        if apply:
            self._apply_result()
        self._ended("finished")

    def _on_failed(self, message: str) -> None:
        self._end_job()
        self._show_error(message[:1].upper() + message[1:])
        self._note = "Styling failed; nothing was changed."
        self.message.emit(f"Style: {message}")
        self._ended("failed")

    def _on_cancelled(self) -> None:
        self._end_job()
        self._note = "Cancelled; nothing was changed."
        self.message.emit("Style transfer cancelled")
        self._ended("cancelled")

    def _apply_result(self) -> Layer | None:
        from ...ai.apply import apply_result

        r, doc = self.result, self.doc
        if r is None or doc is None or self.result_doc is not doc:
            return None
        name = f"Style: {builtin_name(getattr(r.request, 'style', '') or 'image')}"
        try:
            layer = apply_result(doc, r, 0, name=name)
        except AiError as exc:
            self._show_error(str(exc))
            return None
        self.result, self.result_doc, self._result_key = None, None, None
        self._applied = (layer, doc)
        self._note = ""
        self._set_preview(None, None)
        self.message.emit(f"Style: added layer “{layer.name}”")
        self.applied.emit(layer)
        self._sync()
        return layer

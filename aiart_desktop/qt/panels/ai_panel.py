"""The AI dock: form, Generate / Cancel, progress with a live preview, variations, Apply.

The UI thread only copies the region into a frozen request (`ai.capture.make_request`), hands
it to the `AiWorker`, and applies the chosen variation (`ai.apply.apply_result`: one undo step)
when the result comes back by queued signal. It never waits on the worker. The panel listens to
the `JobHandle` of its own running job (`job`), never to the worker's other jobs. The document
may change while a job runs: the request holds a copy, and applying uses the result's own rect.

Layout: the form scrolls; the run button, progress, status and the variations sit below it,
outside the scroll area, so they are always in view however short the dock is.

The life of a result: a finished job's variations fill the strip and the picked one is previewed
on the canvas ("not applied yet"); Apply puts it on a layer once — the strip marks it applied,
and applying it again does nothing while that layer is in the document (after Ctrl+Z it can be
applied again). A cancelled or failed job leaves no preview behind. The status line is derived
from that state (`_describe`) whenever it changes: a pick, an apply, an undo, a discard.

`preview_changed(QImage | None, Rect | None)` tells the canvas what to show over the picture:
the live preview while a job runs, then the picked variation (blended through its mask), in
document coordinates of the canvas as it is now.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QHideEvent, QImage, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ...ai.composite import variant_layer
from ...ai.errors import AiError
from ...ai.training import duration_text
from ...core.geometry import Rect
from ..convert import array_to_qimage
from .ai_form import MODEL_FREE, AiForm
from .ai_preview import LiveMask, canvas_rect, live_rect
from .interpolation import ExploreMixin, InterpolationStrip
from .messages import short_message
from .variations import VariationsBox
from .widgets import guard_wheel, scroll_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from ...ai.models.source import ModelSource
    from ...ai.requests import AiRequest, AiResult
    from ...core.document import Document
    from ...core.layer import Layer, Node
    from ..worker import AiWorker, JobHandle

log = logging.getLogger(__name__)
PREVIEW_SIDE = 96
# The Detail pass (hands, faces): Refine the selection at the model's own size, with these.
DETAIL_STRENGTH = 0.45   # redraws the shapes, keeps the pose and colours
DETAIL_STEPS = 25        # at least, for a model that takes 20-50 steps...
FEW_STEPS = 8            # ... a model run at this many or fewer (Turbo, LCM) keeps its own
TYPING = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox)


def in_document(doc: Document, node: Node) -> bool:
    """`node` is in `doc`'s layer tree (a removed layer, or one in a removed group, is not)."""
    n = node
    while n.parent is not None:
        n = n.parent
    return n is doc.root


class AiPanel(ExploreMixin, QWidget):
    preview_changed = Signal(object, object)   # QImage | None, Rect | None
    message = Signal(str)                      # a line for the status bar
    applied = Signal(object)                   # the new Layer
    running_changed = Signal(bool)
    job_ended = Signal(object, str)            # JobHandle, "finished" | "failed" | "cancelled"

    def __init__(self, worker: AiWorker, registry: ModelSource | None = None,
                 settings: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AiPanel")
        self.worker = worker
        self.settings = settings
        self._registry = registry
        self.doc: Document | None = None
        self.result: AiResult | None = None
        self.result_doc: Document | None = None
        self._job: JobHandle | None = None     # the running job (its signals reach us)
        self._detail = False                   # the request being made is a Detail pass
        self._natives: dict[str, int] = {}     # model id -> its native size (refine tiles)
        self._step_s: dict[str, float] = {}    # model id -> seconds per 512² step, measured
        self._job_doc: Document | None = None
        self._job_request: AiRequest | None = None
        # in-betweens of (result, a, b): of the running job, and of the job that just ended
        self._job_between: tuple[AiResult, int, int] | None = None
        self._ended_between: tuple[AiResult, int, int] | None = None
        self._t0 = 0.0
        self._live_mask: LiveMask | None = None
        self._preview: tuple[QImage, Rect] | None = None
        self._previewing = False            # the canvas shows the picked variation
        self._applied: list[tuple[AiResult, int, Layer]] = []   # (result, variation, layer)
        self._headline = ""                 # "2 results in 1.3 s (model)"
        self._phase = ""                    # what the running job is doing
        self._placement_note: tuple[Layer | None, str] = (None, "")  # the last apply's note
        # Asked before a job is handed to the worker (the plain-http warning of a remote
        # server, qt/remote_servers.py); False: the job is not sent.
        self.confirm_send: Callable[[AiRequest], bool] | None = None
        self._build()

    # ---- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        self.form = AiForm()
        self.form.op_changed.connect(lambda _op: self._sync())
        self.form.model_changed.connect(self._model_picked)
        for sig in (self.form.op_changed, self.form.model_changed,
                    self.form.area.currentIndexChanged, self.form.steps.valueChanged,
                    self.form.strength.value_changed):
            sig.connect(lambda *_a: self.describe_tiles())
        # Control layers and LoRAs ask the panel's model source what is installed.
        self.form.controls_section.set_source(lambda: self.registry)
        self.form.loras_section.set_source(lambda: self.registry)
        self.run_button = QPushButton("Fill selection")
        self.run_button.setDefault(True)
        self.run_button.setMinimumHeight(30)
        self.run_button.setStyleSheet("QPushButton { font-weight: 600; }")
        self.run_button.clicked.connect(self.generate)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc); nothing is changed")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m")
        self.progress.setMaximumHeight(18)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff8a80;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.live = QLabel()
        self.live.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.live.setFixedHeight(PREVIEW_SIDE)
        self.live.setFrameShape(QFrame.Shape.StyledPanel)
        self.live.setToolTip("Live preview of the running job (also shown on the canvas)")
        self.results = VariationsBox()
        self.strip = self.results.strip
        self.apply_button = self.results.apply_button
        self.regen_button = self.results.regen_button
        self.discard_button = self.results.discard_button
        self.strip.picked.connect(self._picked)
        self.strip.apply_requested.connect(self.apply)
        self.apply_button.clicked.connect(lambda: self.apply())
        self.regen_button.clicked.connect(self.regenerate)
        self.discard_button.clicked.connect(self.discard)
        self.strip.itemSelectionChanged.connect(self._sync)
        self.results.between_button.clicked.connect(lambda: self.in_between())
        self.results.more_button.clicked.connect(lambda: self.more_like_this())
        self.interp = InterpolationStrip()
        self.interp.frame_picked.connect(self._frame_picked)
        self.interp.apply_requested.connect(self.apply_frame)
        self.interp.closed.connect(self.close_between)
        self.interp.regen_button.clicked.connect(self.regenerate)

        # The form scrolls ...
        inner = QWidget()
        lay = QVBoxLayout(inner)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.form)
        lay.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setMinimumHeight(90)
        # ... the run button and the results stay in view below it.
        bottom = QWidget()
        bottom.setObjectName("aiPanelActions")
        lay = QVBoxLayout(bottom)
        lay.setContentsMargins(6, 4, 6, 6)
        lay.setSpacing(4)
        row = QHBoxLayout()
        row.addWidget(self.run_button, 1)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.error)
        lay.addWidget(self.live)
        lay.addWidget(self.results)
        lay.addWidget(self.interp)
        self.actions_box = bottom
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.scroll, 1)
        outer.addWidget(line)
        outer.addWidget(bottom)
        self.live.hide()
        self.interp.hide()
        self.error.hide()
        self.progress.hide()
        # A very short dock (a small screen at 150 %): the whole panel scrolls rather than
        # forcing the window taller than the screen. Any taller, only the form scrolls.
        scroll_body(self)
        guard_wheel(self)
        self._sync()

    # ---- models ----------------------------------------------------------------------------
    @property
    def registry(self) -> ModelSource:
        """The models the picker offers (a `ModelSource`: listing never imports torch)."""
        if self._registry is None:
            from ...ai.models.registry import ModelRegistry

            self._registry = ModelRegistry()  # the settings' models folder, as it changes
        return self._registry

    def set_registry(self, registry: ModelSource) -> None:
        """Pick from `registry` from now on (Settings › Where AI runs: the local models plus
        the servers' listed ones), and re-read it into the picker."""
        self._registry = registry
        self.refresh_models()

    def refresh_models(self) -> None:
        """Re-read the installed models (and the remote ones listed) into the picker."""
        try:
            models = self.registry.models()
        except (AiError, OSError) as exc:
            log.warning("could not list the installed models: %s", exc)
            models = []
        kinds = {"sd": "SD", "sdxl": "SDXL"}
        where = getattr(self.registry, "where", None)   # a remote model: its servers

        def label(m: Any) -> str:
            text = f"{m.name}  ({kinds.get(m.arch, m.arch)}{' inpaint' if m.facts.inpaint else ''})"
            on = where(m.id) if callable(where) and m.source == "remote" else ""
            return f"{text} \u2014 on {on}" if on else text

        items = [(m.id, label(m)) for m in models]
        last = getattr(self.settings, "last_model", "") or ""
        try:
            lama = self.registry.lama() is not None
            migan = self.registry.migan() is not None
        except (AiError, OSError):
            lama = migan = False
        self._natives = {m.id: int(m.native) for m in models}
        self.form.set_models(items, last, lama, migan)
        self.form.loras_section.refresh()   # LoRAs added or removed in the model manager
        self.form.controls_section.refresh_notes()   # ... control models, detectors
        self._sync()

    def _model_picked(self, model: str) -> None:
        if self.settings is not None and model and model not in MODEL_FREE:
            self.settings.last_model = model
        from ...ai.models.catalogue import catalogue_entry

        entry = catalogue_entry(model)
        if entry is not None and entry.defaults:
            self.form.apply_defaults(entry.defaults)
        arch = ""
        if model and model not in MODEL_FREE:
            try:
                arch = self.registry.resolve(model).arch
            except (AiError, OSError):
                arch = ""
        self.form.set_arch(arch)   # which LoRAs and control models fit
        self._sync()

    # ---- document --------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        if doc is self.doc:
            return
        if self.doc is not None:
            self.doc.active_changed.disconnect(self._active_changed)
            self.doc.structure_changed.disconnect(self._structure_changed)
            self.doc.size_changed.disconnect(self._doc_resized)
        if self._job:
            self._job.cancel()
        self.doc = doc
        self.form.controls_section.set_document(doc)
        if doc is not None:
            doc.active_changed.connect(self._active_changed)
            doc.structure_changed.connect(self._structure_changed)
            doc.size_changed.connect(self._doc_resized)
        self.describe_tiles()
        self.discard()

    def _active_changed(self, _node: object) -> None:
        self._sync()

    def _structure_changed(self) -> None:
        """Layers came or went (an apply, an undo, a redo): the strip's marks and the status
        line follow."""
        if self.result is None and not self._applied:
            return
        self._mark_applied()
        if not self._job:
            self._describe()
        self._sync()

    # ---- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._job is not None

    @property
    def job(self) -> JobHandle | None:
        """The running job (None: none)."""
        return self._job

    @property
    def job_document(self) -> Document | None:
        """The document the running job was taken from."""
        return self._job_doc

    def generate(self) -> JobHandle | None:
        """Copy the region into a request and hand it to the worker; the job (None: refused,
        with the reason shown)."""
        if self._job or self.doc is None:
            return None
        reason = self.form.blocked_reason() or self._selection_reason(self.form.current_op())
        if reason:
            self._show_error(reason)
            return None
        try:
            request = self._make_request(self.doc)
        except AiError as exc:
            self._show_error(str(exc))
            return None
        return self._submit(request)

    def _selection_reason(self, op: str) -> str:
        """Why `op` cannot run on the document's selection as it is ("" when it can)."""
        if op == "inpaint" and self.doc is not None and self.doc.selection is None:
            return ("Nothing is selected. Select what to fill first (rectangle M, lasso L, "
                    "wand W), then press Fill selection.")
        return ""

    def run_record(self, rec: dict[str, Any], model: str) -> JobHandle | None:
        """Run a provenance record's settings on the current selection with `model`, without
        touching the form (Re-run in the Generations dock); the job, None when refused (the
        reason is shown)."""
        if self._job or self.doc is None:
            return None
        from ...ai.capture import make_request, params_from_record

        try:
            op, params = params_from_record(rec, model, self.doc)
            reason = self._selection_reason(op)
            if reason:
                self._show_error(reason)
                return None
            request = make_request(self.doc, op, **params)
        except AiError as exc:
            self._show_error(str(exc))
            return None
        return self._submit(request)

    def _submit(self, request: AiRequest, between: tuple[AiResult, int, int] | None = None
                ) -> JobHandle | None:
        if self.confirm_send is not None and not self.confirm_send(request):
            return None
        self._show_error("")
        self._job_between = between
        self._job_doc, self._job_request = self.doc, request
        self._live_mask = LiveMask(request)
        self._t0 = time.perf_counter()
        self._previewing = False
        self._phase = ""
        self._job = job = self.worker.submit(request)
        job.started.connect(self._on_started)
        job.status.connect(self._on_status)
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self.progress.setRange(0, 0)
        self.progress.setFormat("")
        self.progress.show()
        self.status.setText("Waiting for the AI worker…")
        self.running_changed.emit(True)
        self._sync()
        return job

    def _doc_resized(self, *_: object) -> None:
        self.describe_tiles()

    def _learn_speed(self, result: AiResult) -> None:
        """Seconds per denoising step of a 512² picture with this model, from a finished job
        (the refine in tiles' estimate)."""
        model = result.info.get("model_id")
        gen = (result.info.get("timings") or {}).get("generate_s")
        if not model or not gen:
            return
        req = result.request
        strength = float(req.strength) if req.op == "img2img" else 1.0
        steps = max(1, round(int(req.steps) * strength)) * max(1, len(result.images))
        w, h = result.size
        self._step_s[str(model)] = float(gen) / steps / max(0.05, w * h / (512 * 512))
        self.describe_tiles()

    def describe_tiles(self) -> str:
        """The tile grid a refine in tiles would run on the picture as it is now, with a time
        estimate once this model has run here (shown under the Area list); "" otherwise."""
        f = self.form
        doc = self.doc
        show = doc is not None and f.current_op() == "img2img" and \
            f.area.currentData() == "tiles" and f.paints()
        text = ""
        if show and doc is not None:
            from ...ai import upscale as up

            model = f.current_model()
            tile = self._natives.get(model) or 512
            n = len(up.tile_grid(doc.height, doc.width, tile, min(64, tile // 4)))
            steps = max(1, round(f.steps.value() * f.strength.value() / 100.0))
            text = (f"{doc.width} × {doc.height} px: {n} tile{'s' * (n != 1)} of {tile} px, "
                    f"each one run of the model ({steps} step{'s' * (steps != 1)}).")
            per_step = self._step_s.get(model)
            if per_step:
                total = per_step * steps * n * (tile * tile) / (512 * 512)
                text += f" About {duration_text(total)} here."
            else:
                text += " The time shows after this model's first run here."
        f.tiles_hint.setText(text)
        f.tiles_hint.setVisible(bool(text))
        return text

    def detail_pass(self) -> JobHandle | None:
        """The Detail pass (hands, faces): Refine the selection at the model's own size with
        settings made for it — `DETAIL_STRENGTH`, at least `DETAIL_STEPS` steps (a few-step
        model keeps its own), a wider context (`detail_margin`) — set in the form, where the
        artist sees them, then run. None (and why, shown) when it cannot run."""
        if self._job or self.doc is None:
            return None
        if self.doc.selection is None:
            self._show_error("Detail pass: select the hand, face or small part to redo first "
                             "(lasso L, Select Object O), then run it again.")
            return None
        f = self.form
        f.set_op("img2img")
        f.area.setCurrentIndex(f.area.findData("selection"))
        f.strength.set_value(DETAIL_STRENGTH * 100)
        if f.steps.value() > FEW_STEPS:        # SD-Turbo / LCM stay at their few steps
            f.steps.setValue(max(f.steps.value(), DETAIL_STEPS))
        self._detail = True
        try:
            return self.generate()
        finally:
            self._detail = False

    def _make_request(self, doc: Document) -> AiRequest:
        from ...ai.capture import make_request

        op, params = self.form.current_op(), self.form.params()
        if self._detail and op == "img2img" and doc.selection is not None:
            from ...ai.region import detail_margin

            return make_request(doc, op, margin=detail_margin(doc.selection), **params)
        if op == "img2img" and self.form.area.currentData() == "tiles":
            # Refine in tiles (after an upscale): the whole picture, tile by tile at the
            # model's own size; one result, no control layers.
            params.update(batch_size=1, tiled=True)
            params.pop("controls", None)
            params.pop("mix", None)
            return make_request(doc, op, target="image", margin=0, **params)
        if op == "img2img" and self.form.area.currentData() == "layer":
            # Refine the whole active layer: its area, masked by its paint, no context margin.
            return make_request(doc, op, target="layer", margin=0, **params)
        return make_request(doc, op, **params)

    def cancel(self) -> None:
        if self._job:
            self._job.cancel()
            self.status.setText("Cancelling…")

    # ---- the running job's signals (connected to its handle only) --------------------------
    def _on_started(self) -> None:
        self.status.setText("Working…")

    def _on_status(self, phase: str) -> None:
        self._phase = phase
        self.status.setText(phase[:1].upper() + phase[1:] + "…")

    def _on_progress(self, step: int, total: int, image: QImage | None) -> None:
        if total <= 0:          # a step of unknown length (loading a model): busy bar
            self.progress.setRange(0, 0)
            self.progress.setFormat("")
        else:
            self.progress.setRange(0, total)
            self.progress.setValue(min(step, total))
            # Checking the model reads its weights: the bar counts megabytes, not steps.
            self.progress.setFormat("%v / %m MB" if self._phase.startswith("checking")
                                    else "%v / %m")
        if image is not None and self._job_request is not None and self._live_mask:
            self.live.setPixmap(QPixmap.fromImage(image).scaled(
                PREVIEW_SIDE * 2, PREVIEW_SIDE - 6, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
            self.live.show()
            self._set_preview(self._live_mask.apply(image), live_rect(self._job_request))

    def _end_job(self, how: str) -> tuple[Document | None, float]:
        job, doc, dt = self._job, self._job_doc, time.perf_counter() - self._t0
        self._job, self._job_doc, self._job_request = None, None, None
        self._job_between, between = None, self._job_between
        self._ended_between = between
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.hide()
        self.live.hide()
        self.running_changed.emit(False)
        self.job_ended.emit(job, how)
        self._sync()
        return doc, dt

    def _on_finished(self, result: AiResult) -> None:
        doc, dt = self._end_job("finished")
        if doc is not self.doc:
            self._set_preview(None, None)
            return
        if self._ended_between is not None:
            self._show_between(result, dt)
            return
        self.close_between()
        self._learn_speed(result)
        self.result, self.result_doc = result, doc
        self.form.show_seed(result.seeds[0])
        n = len(result.images)
        how = "classical fill" if result.backend == "classical" else result.model_name
        self._headline = f"{n} result{'s' * (n != 1)} in {dt:.1f} s ({how})."
        self.message.emit(f"AI: {self._headline}")
        take_focus = self._focus_is_free()
        self.strip.set_result(result)   # picks the first: previewed on the canvas
        self._mark_applied()
        if take_focus:
            self.strip.setFocus(Qt.FocusReason.OtherFocusReason)
        self._describe()
        self._sync()

    def _focus_is_free(self) -> bool:
        """The strip may take the keyboard focus (so ← → pick at once): unless the user is
        typing in a field outside this panel."""
        focus = QApplication.focusWidget()
        return focus is None or self.isAncestorOf(focus) or not isinstance(focus, TYPING)

    def _on_failed(self, message: str) -> None:
        job = self._job
        self._end_job("failed")
        log.warning("AI job %s failed: %s", job.id if job is not None else "?", message)
        self._show_error(short_message(message[:1].upper() + message[1:]))
        self._set_preview(None, None)
        self.status.setText("Failed; nothing was changed.")
        self.message.emit(f"AI: {short_message(message, 1)}")

    def _on_cancelled(self) -> None:
        self._end_job("cancelled")
        self._set_preview(None, None)   # no preview left behind, none brought back
        self.status.setText("Cancelled; nothing was changed.")
        self.message.emit("AI job cancelled")

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    # ---- results ---------------------------------------------------------------------------
    def applied_layer(self, result: AiResult | None, index: int) -> Layer | None:
        """The layer variation `index` of `result` was applied as, while it is in the
        document (None: not applied, or undone)."""
        doc = self.doc
        if result is None or doc is None:
            return None
        for r, i, layer in self._applied:
            if r is result and i == index and in_document(doc, layer):
                return layer
        return None

    def _mark_applied(self) -> None:
        r = self.result
        marks = {i for i in range(len(r.images)) if self.applied_layer(r, i) is not None} \
            if r is not None else set()
        self.strip.set_applied(marks)

    def _picked(self, index: int) -> None:
        self._show_picked(index)
        if not self._job:
            self._describe()
        self._sync()

    def _show_picked(self, index: int | None = None) -> None:
        """Preview the picked variation on the canvas, unless it is applied already (then the
        canvas shows it as a layer) or a job is running (its live preview shows)."""
        if self._job:
            return
        r = self.result
        i = self.strip.chosen() if index is None else index
        if r is None or i < 0 or self.applied_layer(r, i) is not None:
            self._previewing = False
            self._set_preview(None, None)
            return
        img = array_to_qimage(variant_layer(r, i))
        self._previewing = True
        self._set_preview(img, canvas_rect(r.request, r.rect))

    def _describe(self) -> None:
        """The status line for the variations, from their state now (two short lines; how
        long the job took, and with which model, in its tooltip)."""
        r, i = self.result, self.strip.chosen()
        if r is None:
            return
        n = len(r.images)
        focus = self.strip.hasFocus()
        layer = self.applied_layer(r, i) if i >= 0 else None
        if i < 0:
            text = "Click a variation to preview it on the canvas."
        elif layer is not None:
            placed, note = self._placement_note
            text = (f"Variation {i + 1} is on the layer “{layer.name}”; Ctrl+Z removes it."
                    + (f" {note}" if placed is layer and note else ""))
        elif self._previewing:
            keys = "← → pick, Enter applies." if focus and n > 1 else (
                "Enter or Apply adds it as a layer." if focus else "Apply adds it as a layer.")
            text = f"Variation {i + 1} of {n} is previewed on the canvas, not applied yet. {keys}"
        else:
            text = (f"Variation {i + 1} is not on the canvas (undone). Apply adds it again; "
                    "click one to preview it.")
        self.status.setText(text)
        self.status.setToolTip(self._headline)
    def apply(self, index: int | None = None) -> Layer | None:
        """Put variation `index` (default: the picked one) on a new layer: one undo step. A
        variation already applied (and not undone) is not added again: its layer is
        returned."""
        r, doc = self.result, self.doc
        i = self.strip.chosen() if index is None else int(index)
        if r is None or doc is None or i < 0:
            return None
        if self.result_doc is not doc:
            self._show_error("These variations belong to another document.")
            return None
        done = self.applied_layer(r, i)
        if done is not None:
            self.status.setText(f"Variation {i + 1} is already on the layer “{done.name}”.")
            return done
        layer = self._apply_one(r, i)
        if layer is not None:
            self.message.emit(f"AI: added layer “{layer.name}”")
        return layer

    def _apply_one(self, r: AiResult, i: int) -> Layer | None:
        from ...ai.apply import apply_result, placement

        assert self.doc is not None
        try:
            note = placement(self.doc, r).note
            layer = apply_result(self.doc, r, i)
        except AiError as exc:
            self._show_error(str(exc))
            return None
        self._applied.append((r, i, layer))
        self._placement_note = (layer, note)
        self._show_error("")
        self._previewing = False
        self._set_preview(None, None)
        self._mark_applied()
        if r is self.result:
            self._describe()
        self._sync()
        self.applied.emit(layer)
        return layer

    def regenerate(self) -> bool:
        """Load the picked variation's settings (or the active AI layer's) into the form."""
        rec = self._source_record()
        if rec is None:
            self._show_error("Nothing to load: make variations first, or select a layer the "
                             "AI made.")
            return False
        self.form.fill_from_record(rec)
        self._show_error("")
        self.status.setText(f"Settings of seed {rec.get('seed')} loaded into the form, seed "
                            "locked: tweak them and run again.")
        self.form.prompt.setFocus()
        return True

    def _source_record(self) -> dict[str, Any] | None:
        f = self.interp.chosen_frame() if not self.interp.isHidden() else None
        if f is not None:
            return f.result.record(f.index)
        if self.result is not None and self.strip.chosen() >= 0:
            return self.result.record(self.strip.chosen())
        layer = self.doc.active_layer if self.doc is not None else None
        prov = getattr(layer, "provenance", None)
        if isinstance(prov, dict) and prov.get("op"):
            return prov
        return None

    def discard(self) -> None:
        self.close_between()
        had = self.result is not None
        self.result, self.result_doc = None, None
        self._applied.clear()
        self._previewing = False
        self.strip.set_result(None)
        if not self._job:
            self._set_preview(None, None)
            if had:
                self.status.setText("Variations discarded.")
        self._sync()

    # ---- canvas preview --------------------------------------------------------------------
    @property
    def preview(self) -> tuple[QImage, Rect] | None:
        return self._preview

    def preview_caption(self) -> str:
        """A short caption for the canvas preview (what it is, how to keep it)."""
        if self._job:
            if self.progress.maximum() <= 0:
                return "AI preview"
            return f"AI preview · step {self.progress.value()}/{self.progress.maximum()}"
        f = self.interp.chosen_frame() if self.interp.isVisibleTo(self) else None
        if f is not None:
            return (f"In-between t = {f.t:.2f} · not applied yet — Apply frame adds it as a "
                    "layer")
        i = self.strip.chosen()
        if self.result is not None and i >= 0 and self._previewing:
            enter = "Enter or Apply" if self.strip.hasFocus() else "Apply"
            return (f"Preview {i + 1}/{len(self.result.images)} · not applied yet — "
                    f"{enter} adds it as a layer")
        return ""

    def _set_preview(self, image: QImage | None, rect: Rect | None) -> None:
        self._preview = None if image is None or rect is None else (image, rect)
        if self.isVisible() or image is None:
            self.preview_changed.emit(image, rect)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.form.model.count() <= 1:
            self.refresh_models()
        if self._preview is not None:
            self.preview_changed.emit(*self._preview)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if not event.spontaneous():
            self.preview_changed.emit(None, None)  # no stray overlay while the dock is away

    # ---- enabled states --------------------------------------------------------------------
    def _sync(self) -> None:
        running = bool(self._job)
        self.run_button.setText(self.form.run_label())
        self.run_button.setToolTip(self.form.blocked_reason() or "Run (Ctrl+Enter)")
        self.run_button.setEnabled(not running and self.doc is not None)
        self.cancel_button.setEnabled(running)
        i = self.strip.chosen()
        has = self.result is not None and i >= 0
        self.apply_button.setEnabled(has and self.applied_layer(self.result, i) is None)
        self.apply_button.setText("Applied" if has and not self.apply_button.isEnabled()
                                  else "Apply")
        self.discard_button.setEnabled(self.result is not None)
        source = self._source_record() is not None
        self.regen_button.setEnabled(not running and source)
        self.regen_button.setVisible(self.result is not None or source)
        diffusion = (self.result is not None and self.result.backend == "diffusers"
                     and self.result.request.mix is None)
        self.results.show_results(self.result is not None, explore=diffusion)
        ends = self.strip.endpoints()
        self.results.between_button.setEnabled(not running and diffusion and ends is not None)
        self.results.between_button.setToolTip(
            "Frames between the two selected variations: their noise is slerped, their "
            "prompts blended" if ends is not None else
            "Select two variations first: click one, Ctrl+click the other")
        self.results.more_button.setEnabled(not running and diffusion and has)

"""The AI form's "Control layers" section: layers (or groups) the model follows.

    section = ControlsSection()              # in the AI form, folded by default
    section.set_document(doc)                # the panel's document
    section.add_active()                     # the active layer or group becomes a row
    section.control_layers()                 # -> [ControlLayer(...)] for the request

Each row names its layer and has a type (`CONTROL_KINDS`, labelled by `CONTROL_LABELS`), a
strength, the part of the steps it acts on, a remove button and a thumbnail of the processed
control picture: what the model will see over the region the request will cover, worked out
on a copy at most `SOURCE_SIDE` pixels wide (`ai.controls.preprocess`: numpy / OpenCV) a
moment after the layer's pixels, the type or the region change, on a thread of its own from a
copy of the layer (`clone_node`: its tiles are shared, never changed in place), so painting
never waits for a thumbnail (`busy` says one is due). Depth and Pose need a
detector model: the row then shows the layer itself and says what runs when the job does (or
what to install). A row follows its layer's renames; a removed layer's row says so and is left
out of the request until the layer comes back (Ctrl+Z).

The section is disabled, with a tooltip saying why, for the classical fill (controls steer a
diffusion model). It reads the document, never edits it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from ...ai.conditioning import CONTROL_LABELS, MAX_CONTROLS
from ...ai.errors import AiError
from ...core.geometry import Rect
from ...core.layer import clone_node
from ..ui_thread import call_on_ui
from .ai_control_row import MUTED_STYLE, ControlRow, FoldSection, control_picture
from .widgets import guard_wheel

if TYPE_CHECKING:
    from ...core.document import Document
    from ...core.layer import Node

log = logging.getLogger(__name__)
DEBOUNCE_MS = 180
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The one thread that works out control thumbnails (numpy and OpenCV release the GIL,
    so the UI thread never waits for them)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="control-thumbnails")
    return _POOL


def region_rect(doc: Document, op: str, area: str = "selection", direction: str = "right",
                pixels: int = 256) -> Rect:
    """The canvas area a request of `op` will cover as the document is now (the picture the
    controls are cropped to): the selection grown by its context margin (txt2img: none), the
    active layer's for a whole-layer Refine, the canvas when nothing fits."""
    from ...ai.capture import request_rect

    layer = op == "img2img" and area == "layer"   # as AiPanel._make_request asks for it
    if op == "img2img" and area == "tiles":       # the whole picture, tile by tile
        return doc.rect
    try:
        return request_rect(doc, op, target="layer" if layer else "selection",
                            margin=0 if layer else None, direction=direction, pixels=pixels)
    except AiError:
        return doc.rect


def in_document(doc: Document, node: Node) -> bool:
    n = node
    while n.parent is not None:
        n = n.parent
    return n is doc.root


# ---- the section ---------------------------------------------------------------------------
class ControlsSection(FoldSection):
    """The form's control layers (see the module's notes)."""

    changed = Signal()          # rows came or went, or one changed
    manage_models = Signal()    # a note's "Models…" link

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Control layers",
                         "Layers the model follows: your line art, a sketch, edges, depth or "
                         "pose, each with a strength", parent)
        self.doc: Document | None = None
        self.rows: list[ControlRow] = []
        self._region: tuple[str, str, str, int] = ("inpaint", "selection", "right", 256)
        self._arch = ""
        self._source: Callable[[], Any] | None = None
        self._pending: set[int] = set()        # ids of rows whose thumbnail is out of date
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh_pending)
        self._working = 0                      # thumbnails on the thumbnail thread
        self.add_button = QPushButton("Add control")
        self.add_button.setToolTip("Add the active layer (or group) as a control layer; add "
                                   "several for several controls")
        self.add_button.clicked.connect(lambda: self.add_active())
        self.hint = QLabel("Add a layer with your line art or sketch (or any picture): the "
                           "model follows its lines, edges, depth or pose.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(MUTED_STYLE)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.rows_box = QVBoxLayout()
        self.rows_box.setContentsMargins(0, 0, 0, 0)
        self.rows_box.setSpacing(4)
        self.body_layout.addLayout(self.rows_box)
        self.body_layout.addWidget(self.hint)
        self.body_layout.addWidget(self.add_button)
        self._disabled_reason = ""
        self._sync()

    # ---- wiring ----------------------------------------------------------------------------
    def set_source(self, source: Callable[[], Any] | None) -> None:
        """`source()` -> the model source asked which control models and detectors are
        installed (None: nothing is checked); asked when the model or a type changes."""
        self._source = source

    def set_arch(self, arch: str) -> None:
        """The picked model's architecture ("sd", "sdxl"; "" for none): which control models
        fit."""
        if arch != self._arch:
            self._arch = arch
            self.refresh_notes()

    def set_region(self, op: str, area: str, direction: str = "right", pixels: int = 256
                   ) -> None:
        """The form's operation, area (Refine) and growth (Expand canvas): the controls are
        cropped to what the request will cover."""
        region = (op, area, direction, int(pixels))
        if region != self._region:
            self._region = region
            self.schedule()

    def set_disabled_reason(self, reason: str) -> None:
        """Disable the section, saying why in its tooltip ("" enables it)."""
        self._disabled_reason = reason
        self.body.setEnabled(not reason)
        self.toggle.setToolTip(reason or "Layers the model follows: your line art, a sketch, "
                                         "edges, depth or pose, each with a strength")
        self.body.setToolTip(reason)
        self._sync()

    def set_document(self, doc: Document | None) -> None:
        if doc is self.doc:
            return
        if self.doc is not None:
            old = self.doc
            old.pixels_changed.disconnect(self._pixels_changed)
            old.structure_changed.disconnect(self._structure_changed)
            old.node_changed.disconnect(self._node_changed)
            old.active_changed.disconnect(self._active_changed)
            old.selection_changed.disconnect(self._region_changed)
            old.size_changed.disconnect(self._region_changed)
        for row in list(self.rows):
            self._drop(row)
        self.doc = doc
        if doc is not None:
            doc.pixels_changed.connect(self._pixels_changed)
            doc.structure_changed.connect(self._structure_changed)
            doc.node_changed.connect(self._node_changed)
            doc.active_changed.connect(self._active_changed)
            doc.selection_changed.connect(self._region_changed)
            doc.size_changed.connect(self._region_changed)
        self._sync()

    # ---- rows ------------------------------------------------------------------------------
    def add_active(self, kind: str = "lineart") -> ControlRow | None:
        """Add the active layer or group as a control of `kind` (None: nothing active, or
        the section is full or disabled)."""
        doc = self.doc
        if doc is None or doc.active is None or len(self.rows) >= MAX_CONTROLS \
                or self._disabled_reason:
            return None
        return self.add_node(doc.active, kind)

    def add_node(self, node: Node, kind: str = "lineart") -> ControlRow:
        row = ControlRow(node, kind)
        row.changed.connect(lambda r=row: self._row_changed(r))
        row.kind.currentIndexChanged.connect(lambda *_, r=row: self._kind_changed(r))
        row.remove_requested.connect(self.remove_row)
        row.note.linkActivated.connect(lambda _link: self.manage_models.emit())
        self.rows.append(row)
        self.rows_box.addWidget(row)
        guard_wheel(row)
        self.set_open(True)
        self._note(row)
        self.refresh(row)
        self._sync()
        self.changed.emit()
        return row

    def remove_row(self, row: ControlRow) -> None:
        self._drop(row)
        self._sync()
        self.changed.emit()

    def set_from_record(self, controls: list[Any]) -> None:
        """Rows for a record's controls (Load settings): each on the document's layer of the
        same name, with its type, strength and range; one whose layer is not found is left
        out (a record keeps the layer's name, not its pixels)."""
        for row in list(self.rows):
            self._drop(row)
        doc = self.doc
        nodes = doc.root.walk() if doc is not None else []
        for c in controls:
            if not isinstance(c, dict) or len(self.rows) >= MAX_CONTROLS:
                continue
            node = next((n for n in reversed(nodes) if n.name == c.get("layer")), None)
            kind = str(c.get("type", ""))
            if node is None or kind not in CONTROL_LABELS:
                continue
            row = self.add_node(node, kind)
            try:
                row.strength.set_value(float(c.get("strength", 1.0)) * 100.0)
                row.set_range(float(c.get("start", 0.0)), float(c.get("end", 1.0)))
            except (TypeError, ValueError):
                continue
        self._sync()
        self.changed.emit()

    def _drop(self, row: ControlRow) -> None:
        if row in self.rows:
            self.rows.remove(row)
        self._pending.discard(id(row))
        row.hide()
        row.setParent(None)
        row.deleteLater()

    def active_rows(self) -> list[ControlRow]:
        """The rows whose layer is in the document (the ones the request takes)."""
        return [r for r in self.rows if not r.removed]

    def control_layers(self) -> list[Any]:
        """`ai.controls.ControlLayer`s for the request: one per row whose layer is in the
        document (none when the section is disabled)."""
        if self._disabled_reason:
            return []
        from ...ai.controls import ControlLayer

        out = []
        for r in self.active_rows():
            start, end = r.range()
            out.append(ControlLayer(layer_uid=r.node.uid, kind=r.current_kind(),
                                    strength=round(r.strength.value() / 100.0, 4),
                                    start=start, end=end))
        return out

    def _sync(self) -> None:
        n = len(self.active_rows())
        self.set_count(n)
        full = len(self.rows) >= MAX_CONTROLS
        active = self.doc.active if self.doc is not None else None
        self.add_button.setEnabled(active is not None and not full
                                   and not self._disabled_reason)
        if self._disabled_reason:
            tip = self._disabled_reason
        elif full:
            tip = f"At most {MAX_CONTROLS} control layers at once: remove one first"
        elif active is None:
            tip = "Pick a layer (or group) in the Layers panel first"
        else:
            tip = f"Add “{active.name}” as a control layer"
        self.add_button.setToolTip(tip)
        self.add_button.setText(f"Add “{_short(active.name)}”" if active is not None
                                else "Add control")
        self.hint.setVisible(not self.rows)

    # ---- document events -------------------------------------------------------------------
    def _active_changed(self, _node: object) -> None:
        self._sync()
        if self._region[:2] == ("img2img", "layer"):
            self.schedule()

    def _node_changed(self, node: object) -> None:
        for r in self.rows:
            if r.node is node:
                r.show_name()
                self.schedule(r)   # its visibility or opacity may have changed
        self._sync()

    def _structure_changed(self) -> None:
        doc = self.doc
        if doc is None:
            return
        changed = False
        for r in self.rows:
            gone = not in_document(doc, r.node)
            if gone != r.removed:
                r.removed = gone
                r.show_name()
                changed = True
                if not gone:
                    self.schedule(r)
        self.schedule()   # a group's children may have moved
        self._sync()
        if changed:
            self.changed.emit()

    def _pixels_changed(self, rect: object) -> None:
        """Paint changed in `rect`: the rows whose region it touches are worked out again."""
        for r in self.rows:
            if r.source_rect is None or not isinstance(rect, Rect) \
                    or not r.source_rect.intersect(rect).empty:
                self.schedule(r)

    def _region_changed(self, *_a: object) -> None:
        if self.rows:
            self.schedule()

    def _row_changed(self, row: ControlRow) -> None:
        self.changed.emit()

    def _kind_changed(self, row: ControlRow) -> None:
        self._note(row)
        self.schedule(row)

    # ---- thumbnails ------------------------------------------------------------------------
    def schedule(self, row: ControlRow | None = None) -> None:
        """Bring the thumbnail of `row` (None: every row) up to date a moment from now."""
        for r in [row] if row is not None else self.rows:
            self._pending.add(id(r))
        if self._pending:
            self._timer.start()

    def refresh_pending(self) -> None:
        pending, self._pending = self._pending, set()
        for r in self.rows:
            if id(r) in pending:
                self.refresh(r)

    @property
    def busy(self) -> bool:
        """Thumbnails are due or being worked out."""
        return self._timer.isActive() or self._working > 0

    def refresh(self, row: ControlRow) -> None:
        """Work out `row`'s control picture on a copy of its layer over the region at most
        `SOURCE_SIDE` pixels wide, on the thumbnail thread; it shows when ready (`busy`)."""
        doc = self.doc
        row.token += 1
        if doc is None or row.removed:
            row.processed = None
            row.set_thumbnail(None, "The layer is not in the document")
            return
        rect = region_rect(doc, *self._region)
        row.source_rect = rect
        kind, token = row.current_kind(), row.token
        copy = clone_node(row.node)   # cheap: tiles are shared, never changed in place
        self._working += 1

        def work() -> None:
            try:
                out: tuple[Any, ...] = control_picture(copy, rect, kind)
            except Exception:  # a thumbnail never takes the panel down
                log.exception("the %s control picture of %s failed", kind, copy.name)
                out = (None, None, "The control picture could not be made (see the log)")
            call_on_ui(self, self._show, row, token, (kind, rect, *out))

        _pool().submit(work)

    def _show(self, row: ControlRow, token: int, result: tuple[Any, ...]) -> None:
        self._working -= 1
        if row not in self.rows or token != row.token:
            return   # an older picture, or a row removed meanwhile
        kind, rect, processed, src, error = result
        label, name = CONTROL_LABELS[kind], row.node.name
        row.processed = processed
        if error:
            row.set_thumbnail(None, error)
            row.set_note(error)
        elif processed is None:
            row.set_thumbnail(src, f"The layer “{name}” over the region: its {label.lower()} "
                                   "map is worked out when the job runs")
        else:
            row.set_thumbnail(processed, f"What the model sees: {label} of “{name}” over the "
                                         f"region ({rect.w}×{rect.h} px)")

    # ---- missing models --------------------------------------------------------------------
    def refresh_notes(self) -> None:
        """Say again what each row's type needs (models were added or removed)."""
        for r in self.rows:
            self._note(r)

    def _note(self, row: ControlRow) -> None:
        row.set_note(self.missing_model(row.current_kind()))

    def missing_model(self, kind: str) -> str:
        """What `kind` needs that is not installed, as a short note with a link to the model
        manager ("" when nothing is missing, or nothing can be asked)."""
        source = self._source() if self._source is not None else None
        if source is None or not self._arch:
            return ""
        from ...ai.controls import needs_detector
        from ...ai.models.catalogue import control_entry, detector_entry

        label = CONTROL_LABELS[kind]
        link = "<a href='models'>Models…</a>"
        if needs_detector(kind) and _asks(source, "detector", kind):
            entry = detector_entry(kind)
            name = entry.name.split(" (")[0] if entry is not None else f"{label} detector"
            return f"{label} needs the {name} model: {link} (Model Manager) offers it."
        if _asks(source, "control_model_for", kind, self._arch):
            arch = {"sd": "SD 1.5", "sdxl": "SDXL"}.get(self._arch, self._arch)
            entry = control_entry(kind, self._arch)
            offer = (f"{link} (Model Manager) offers {entry.name}" if entry is not None
                     else f"add one in {link} (Model Manager)")
            return f"No {label} control model for {arch} is installed: {offer}."
        return ""


def _asks(source: Any, method: str, *args: Any) -> bool:
    """`source.method(*args)` says something is missing (raises an AiError); False when it
    is there, or the source has no such method."""
    ask = getattr(source, method, None)
    if ask is None:
        return False
    try:
        ask(*args)
    except (AiError, OSError):
        return True
    except Exception:  # a broken models folder: say nothing here, the job will
        log.exception("asking %s%r failed", method, args)
        return False
    return False


def _short(name: str, n: int = 12) -> str:
    return name if len(name) <= n else name[:n - 1] + "…"

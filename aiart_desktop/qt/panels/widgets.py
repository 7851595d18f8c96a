"""Small shared widgets."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

STEPS = 1000
WHEEL_FIELDS = (QAbstractSpinBox, QComboBox, QSlider)   # not scroll bars


class _WheelGuard(QObject):
    """Wheel events over a spin box, combo box or slider that does not have keyboard focus go
    to the panel behind it (which scrolls), instead of changing the value under the pointer.
    A field the user clicked into (focus) still takes the wheel, as in Krita."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, WHEEL_FIELDS):
            return False
        if obj.hasFocus() or (isinstance(obj, QComboBox) and obj.view().isVisible()):
            return False
        event.ignore()   # Qt passes an ignored wheel event on to the parent: the scroll area
        return True


_GUARD: _WheelGuard | None = None


def guard_wheel(root: QWidget) -> None:
    """Make every spin box, combo box and slider inside `root` (now) ignore the wheel unless
    it has focus; focus then comes by click or Tab only, never by the wheel. Call it again
    after adding fields."""
    global _GUARD
    if _GUARD is None:
        _GUARD = _WheelGuard()
    for w in root.findChildren(QWidget):
        if isinstance(w, WHEEL_FIELDS):
            w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)   # not WheelFocus
            w.removeEventFilter(_GUARD)
            w.installEventFilter(_GUARD)


class SliderSpin(QWidget):
    """A label, a slider and a spin box showing one value (optionally on a log scale)."""

    value_changed = Signal(float)

    def __init__(self, label: str, lo: float, hi: float, *, decimals: int = 0,
                 suffix: str = "", log: bool = False, tooltip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lo, self.hi, self.log = lo, hi, log
        self._syncing = False
        self.label = QLabel(label)
        self.label.setMinimumWidth(72)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(lo, hi)
        self.spin.setDecimals(decimals)
        self.spin.setSuffix(suffix)
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(78)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        if tooltip:
            for w in (self.label, self.slider, self.spin):
                w.setToolTip(tooltip)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def _to_pos(self, v: float) -> int:
        v = min(self.hi, max(self.lo, v))
        if self.log:
            t = math.log(v / self.lo) / math.log(self.hi / self.lo)
        else:
            t = (v - self.lo) / (self.hi - self.lo)
        return round(t * STEPS)

    def _from_pos(self, pos: int) -> float:
        t = pos / STEPS
        if self.log:
            return self.lo * (self.hi / self.lo) ** t
        return self.lo + (self.hi - self.lo) * t

    def value(self) -> float:
        return self.spin.value()

    def set_value(self, v: float) -> None:
        """Show `v` without emitting value_changed."""
        self._syncing = True
        try:
            self.spin.setValue(v)
            self.slider.setValue(self._to_pos(v))
        finally:
            self._syncing = False

    def _from_slider(self, pos: int) -> None:
        if self._syncing:
            return
        v = self._from_pos(pos)
        self._syncing = True
        try:
            self.spin.setValue(v)
        finally:
            self._syncing = False
        self.value_changed.emit(self.spin.value())

    def _from_spin(self, v: float) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.slider.setValue(self._to_pos(v))
        finally:
            self._syncing = False
        self.value_changed.emit(v)


class _PlainLayout(QVBoxLayout):
    """A box layout that does not report height-for-width (see `scroll_body`)."""

    def hasHeightForWidth(self) -> bool:
        return False


class BodyScroll(QScrollArea):
    """A vertical scroll area whose minimum width follows its content's (so a dock never
    clips its content sideways) and whose minimum height is small (so it never forces the
    window taller)."""

    def __init__(self, body: QWidget, min_height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min_h = min_height
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()   # the content's minimum width may have changed
        return super().eventFilter(obj, event)

    def minimumSizeHint(self) -> QSize:
        body = self.widget()
        w = body.minimumSizeHint().width() if body is not None else 0
        if self.verticalScrollBar().isVisible():
            w += self.verticalScrollBar().sizeHint().width()
        return QSize(w, self._min_h)


def scroll_body(panel: QWidget, min_height: int = 60) -> QScrollArea:
    """Move `panel`'s layout into a vertical scroll area that becomes its only child, so the
    panel (a dock's content) can be shorter than its content: a scroll bar appears instead of
    the dock forcing a taller window. Wide content is never scrolled sideways: the dock keeps
    the content's minimum width. Returns the scroll area (`panel.body_scroll` too)."""
    content = QWidget()
    content.setObjectName(f"{panel.objectName() or 'panel'}Body")
    old = panel.layout()
    if old is not None:
        content.setLayout(old)   # takes the layout (and its widgets) over from the panel
    # The scroll area sizes a height-for-width body (word-wrapped labels) to its preferred
    # height, never less: then a stretching part (a scrolling form) could not shrink and the
    # whole panel would scroll. Between the two, a layout that does not ask for it.
    body = QWidget()
    wrap = _PlainLayout(body)
    wrap.setContentsMargins(0, 0, 0, 0)
    wrap.addWidget(content)
    area = BodyScroll(body, min_height, panel)
    lay = QVBoxLayout(panel)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(area)
    panel.body_scroll = area  # type: ignore[attr-defined]
    return area


class _Done(QObject):
    finished = Signal()


def run_off_ui(fn: Callable[..., Any], *args: Any, busy: QWidget | None = None) -> Any:
    """`fn(*args)` on a thread of its own while the UI thread keeps painting and answering
    (a local event loop, as a modal dialog runs one); its result, or its exception re-raised
    here. `busy` is disabled meanwhile (the button that started it), so it cannot start twice.
    For file work that takes a moment: copying and hashing a LoRA or a model the user adds."""
    import threading

    from PySide6.QtCore import QEventLoop

    out: dict[str, Any] = {}
    done = _Done()
    loop = QEventLoop()
    done.finished.connect(loop.quit, Qt.ConnectionType.QueuedConnection)

    def work() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller, on its thread
            out["error"] = exc
        finally:
            done.finished.emit()

    if busy is not None:
        busy.setEnabled(False)
    thread = threading.Thread(target=work, name="aiart-file-work", daemon=True)
    try:
        thread.start()
        loop.exec()
        thread.join()
    finally:
        if busy is not None:
            busy.setEnabled(True)
    if "error" in out:
        raise out["error"]
    return out.get("value")


def add_tabbed_dock(win: Any, name: str, title: str, widget: QWidget) -> QDockWidget:
    """`widget` in a new dock `name` of `win`, tabbed with the AI dock (or the Layers dock):
    where the painter left it last time when the window's saved layout knows it, without
    switching the tab the painter is looking at; listed in `win.docks` and View › Panels."""
    dock = QDockWidget(title, win)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    dock.setMinimumWidth(300)
    docks: dict[str, QDockWidget] = getattr(win, "docks", {})
    anchor = docks.get("aiDock") or docks.get("layersDock")
    if win.restoreDockWidget(dock):
        pass  # where the painter left it last time (the window's saved layout)
    elif anchor is not None:
        shown = [d for d in [anchor, *win.tabifiedDockWidgets(anchor)]
                 if not d.visibleRegion().isEmpty()]
        win.tabifyDockWidget(anchor, dock)
        if shown:  # installing must not switch the tab the painter is looking at
            shown[0].raise_()
    else:
        win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    if isinstance(getattr(win, "docks", None), dict):
        win.docks[name] = dock
    if getattr(win, "panels_menu", None) is not None:
        win.panels_menu.addAction(dock.toggleViewAction())
    return dock

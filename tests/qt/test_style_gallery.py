"""The Style dock in a real window, through the window's one AI worker: pick → preview on the
canvas → Apply as one layer (styled inside the selection, bit-identical outside, one undo step);
the layer and whole-picture targets; cancel with Esc; a busy worker; the user's pictures
dropped in, refused when corrupt, renamed, removed and used as a style."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QProgressBar,
    QScrollBar,
    QWidget,
)

from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.ai.styles.library import StyleLibrary
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.qt.ai_dock import install_ai_dock
from aiart_desktop.qt.convert import qimage_to_array
from aiart_desktop.qt.panels.style_gallery import install_style_gallery

WAIT = 30_000


def painting(w: int = 96, h: int = 80) -> Document:
    doc = Document.new(w, h, (235, 230, 220, 255))
    yy, xx = np.mgrid[0:h, 0:w]
    px = np.dstack([40 + xx * 180 // w, 60 + yy * 160 // h, 200 - xx * 100 // w,
                    np.full((h, w), 255)]).astype(np.uint8)
    doc.put_pixels(doc.layers[0], 0, 0, px)
    doc.history.clear()
    return doc


def gallery_window(win, stop_workers, tmp_path: Path, doc: Document | None = None):
    install_ai_dock(win, engine=default_engine(device="cpu"))
    stop_workers.append(win.ai_worker)
    gallery = install_style_gallery(win, library=StyleLibrary(tmp_path / "styles"))
    win.set_document(doc or painting())
    QApplication.processEvents()
    dock = win.docks["styleDock"]
    dock.show()
    dock.raise_()
    QApplication.processEvents()
    return gallery


def test_install_adds_a_tabbed_dock_menu_action_and_shares_the_worker(
        qtbot, win, stop_workers, tmp_path) -> None:
    layers = win.docks["layersDock"]
    g = gallery_window(win, stop_workers, tmp_path)
    dock = win.docks["styleDock"]
    assert win.style_gallery is g and g.worker is win.ai_worker is win.ai_panel.worker
    assert dock in win.tabifiedDockWidgets(win.docks["aiDock"]) and layers.isVisible()
    ai_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&AI")
    texts = [a.text() for a in ai_menu.actions()]
    assert "&Style Transfer\u2026" in texts and "&Run AI" in texts
    layers.raise_()
    win.style_actions["open"].trigger()
    assert not dock.visibleRegion().isEmpty()
    with pytest.raises(RuntimeError):
        install_style_gallery(win)
    assert g.builtin_grid.count() == 26 and g.user_grid.count() == 0
    qtbot.waitUntil(lambda: g.builtins_ready, timeout=WAIT)  # rendered off the UI thread
    item = g.builtin_grid.find_key("Style 7")
    icon = item.icon().pixmap(64, 64).toImage()
    colours = {icon.pixel(x, y) for x in range(8, 56, 6) for y in range(8, 56, 6)}
    assert len(colours) > 20  # a real rendered thumbnail, not the flat placeholder
    # Named by what they look like, painterly ones first; the id stays "Style N".
    assert item.text() == "Bold primaries" and "Style 7" in item.toolTip()
    names = [g.builtin_grid.item(i).text() for i in range(26)]
    assert names[0] == "Starry swirls" and names[-1] == "Brick mosaic"
    assert not any(n.startswith("Style ") for n in names)
    # Using a picture of one's own is in sight, with its hint.
    assert g.add_button.text() == "Your picture…" and g.add_button.isVisible()
    assert g.picture_hint.isVisible() and "drop" in g.picture_hint.text()


def test_pick_previews_on_the_canvas_then_apply_adds_one_layer(qtbot, win, stop_workers,
                                                                tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path)
    doc = win.doc
    doc.set_selection(sel.ellipse_mask(96, 80, 20, 14, 76, 66))
    mask, before, undo0 = doc.selection.copy(), doc.flatten().copy(), doc.history.undo_count
    with qtbot.waitSignal(g.job_ended, timeout=WAIT):
        g.pick("Style 3")   # auto preview
    assert g.result is not None and g.preview_image is not None
    assert win.style_canvas_preview.isVisible() and "not applied" in g.preview_caption()
    assert np.array_equal(doc.flatten(), before) and doc.history.undo_count == undo0
    assert not win.ai_panel.running  # the AI panel ignored our job
    g.builtin_grid.setFocus()
    QTest.keyClick(g.builtin_grid, Qt.Key.Key_Return)   # Enter applies the preview
    assert doc.history.undo_count == undo0 + 1
    layer = doc.active_layer
    assert layer.name == "Style: Neon scribble" and layer.provenance["op"] == "style"
    assert layer.provenance["style"] == "Style 3"   # the stable id, as old records have it
    assert layer.provenance["strength"] == 0.85 and layer.provenance["preserve_colors"]
    after = doc.flatten()
    out, inside = mask == 0, mask == 255
    assert np.array_equal(after[out], before[out])                     # untouched outside
    assert np.abs(after[inside].astype(int) - before[inside].astype(int)).mean() > 10
    assert not win.style_canvas_preview.isVisible() and g.result is None
    win.undo()
    assert layer not in doc.layers and np.array_equal(doc.flatten(), before)


def test_apply_without_preview_runs_first_and_targets_layer_or_whole_picture(
        qtbot, win, stop_workers, tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path)
    g.auto_preview.setChecked(False)
    doc = win.doc
    square = np.zeros((30, 30, 4), np.uint8)
    square[...] = (200, 40, 30, 255)
    top = doc.add_layer("Square", pixels=square, x=40, y=30)
    before = doc.flatten().copy()
    g.pick("Style 11")
    g.controls.set_target("layer")
    g.controls.strength.setValue(80)
    assert g.result is None and g.running is False  # no auto preview
    with qtbot.waitSignal(g.applied, timeout=WAIT) as blocker:
        assert g.apply_style() is None  # runs first, applies when done
    layer = blocker.args[0]
    assert layer.provenance["strength"] == pytest.approx(0.8)
    after = doc.flatten()
    painted = np.zeros((80, 96), bool)
    painted[30:60, 40:70] = True
    assert np.array_equal(after[~painted], before[~painted])  # only where the layer has paint
    assert np.abs(after[painted].astype(int) - before[painted].astype(int)).mean() > 5
    # An empty active layer is refused with a reason; the whole picture needs no selection.
    doc.add_layer("Empty")
    assert g.preview() is None and "“Empty” is empty" in g.error.text()
    doc.set_active(top)
    g.controls.set_target("image")
    doc.set_selection(sel.rect_mask(96, 80, sel_rect_small()))
    with qtbot.waitSignal(g.job_ended, timeout=WAIT):
        assert g.preview() is not None
    assert g.result is not None, (g.status.text(), g.error.text())
    assert (g.result.rect.w, g.result.rect.h) == (96, 80)
    assert g.error.isHidden()


def sel_rect_small():
    from aiart_desktop.core.geometry import Rect

    return Rect(4, 4, 10, 10)


def test_cancel_with_esc_changes_nothing_and_a_busy_worker_is_respected(
        qtbot, win, stop_workers, tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path, painting(800, 600))
    g.auto_preview.setChecked(False)
    g.controls.scale.setValue(0.5)  # styled at 1600 x 1200: a dozen tiles, time to cancel
    doc = win.doc
    before, undo0 = doc.flatten().copy(), doc.history.undo_count
    g.pick("Style 2")
    # Another panel's job holds the worker: the gallery says so and queues nothing.
    other = make_request(painting(1024, 1024), "style", style="Style 1", tile=128, overlap=8)
    other_job = win.ai_worker.submit(other)
    assert g.preview() is None and "busy" in g.error.text() and not g.running
    other_job.cancel()
    qtbot.waitUntil(lambda: not win.ai_worker.busy, timeout=WAIT)
    # Our own job, cancelled with Esc at once.
    assert win.style_actions["cancel"].isEnabled() is False
    with qtbot.waitSignal(g.job_ended, timeout=WAIT,
                          check_params_cb=lambda how: how == "cancelled"):
        assert g.preview() is not None and g.running
        assert win.style_actions["cancel"].isEnabled() and g.cancel_button.isEnabled()
        QTest.keyClick(win, Qt.Key.Key_Escape)
    assert not g.running and "Cancelled" in g.status.text()
    assert g.result is None and g.preview_image is None
    assert np.array_equal(doc.flatten(), before) and doc.history.undo_count == undo0
    # The worker is still there for the next job (a small one).
    g.controls.scale.setValue(1.0)
    doc.set_selection(sel.rect_mask(800, 600, sel_rect_small()))
    with qtbot.waitSignal(g.job_ended, timeout=WAIT):
        g.preview()
    assert g.result is not None


def _drop(widget, paths: list[Path]) -> None:
    """What a drag from the desktop delivers: enter, move, drop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    for ev in (QDragEnterEvent(QPoint(20, 20), *args), QDragMoveEvent(QPoint(22, 22), *args),
               QDropEvent(QPointF(22, 22), *args)):
        QApplication.sendEvent(widget, ev)
        assert ev.isAccepted(), ev


def test_dropped_pictures_become_styles_corrupt_ones_are_refused(qtbot, win, stop_workers,
                                                                   tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path)
    g.auto_preview.setChecked(False)
    a = np.zeros((64, 64, 3), np.uint8)
    a[:, ::8] = (250, 210, 20)
    a[::8, :] = (20, 40, 220)
    src = tmp_path / "blue gold grid.png"
    Image.fromarray(a).save(src)
    with qtbot.waitSignal(g.imported, timeout=WAIT) as blocker:
        _drop(g.user_grid.viewport(), [src])
    entry = blocker.args[0]
    assert entry.path.read_bytes() == src.read_bytes() and entry.name == "blue gold grid"
    assert g.user_grid.count() == 1 and g.current_style() == ("user", entry.id, entry.name)
    # A truncated file: a clear message naming it, nothing added.
    bad = tmp_path / "broken.png"
    bad.write_bytes(src.read_bytes()[:60])
    with qtbot.waitSignal(g.imported, timeout=WAIT) as blocker:
        g.import_files([str(bad)])
    assert isinstance(blocker.args[0], str) and "broken.png" in g.error.text()
    assert g.user_grid.count() == 1
    # Rename in place, then style the selection with the picture through the worker.
    assert g.rename_style(entry.id, "Grid")
    assert g.library.get(entry.id).name == "Grid" and g.user_grid.item(0).text() == "Grid"
    doc = win.doc
    doc.set_selection(sel.rect_mask(96, 80, sel_rect_small().expanded(20)))
    before = doc.flatten().copy()
    g.pick(entry.id)
    with qtbot.waitSignal(g.applied, timeout=WAIT) as blocker:
        g.apply_button.click()
    layer = blocker.args[0]
    assert layer.name == "Style: Grid" and layer.provenance["style_kind"] == "image"
    assert layer.provenance["style"] == "Grid" and layer.provenance["style_sha256"]
    out = doc.selection == 0
    assert np.array_equal(doc.flatten()[out], before[out])
    # Remove asks first; "no" keeps it, "yes" removes the copy (not the original).
    g.confirm = lambda title, text: False
    assert not g.remove_style(entry.id) and g.user_grid.count() == 1
    g.confirm = lambda title, text: True
    assert g.remove_style(entry.id) and g.user_grid.count() == 0
    assert not entry.path.exists() and src.exists()


def test_a_preview_never_lands_on_another_document(qtbot, win, stop_workers, tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path)
    with qtbot.waitSignal(g.job_ended, timeout=WAIT):
        g.pick("Style 8")
    old_doc, old_result = win.doc, g.result
    assert old_result is not None and g.preview_image is not None
    new_doc = painting(64, 48)
    win.set_document(new_doc)
    g.set_document(new_doc)     # what MainWindow.set_document tells the gallery
    assert g.result is None and g.preview_image is None
    assert not win.style_canvas_preview.isVisible()
    # Apply styles the document shown now, sized to it, and leaves the old one alone.
    with qtbot.waitSignal(g.applied, timeout=WAIT) as blocker:
        g.apply_style()
    assert blocker.args[0] in new_doc.layers and len(old_doc.layers) == 1
    assert (g.doc.width, g.doc.height) == (64, 48)


def test_your_picture_button_and_a_drop_on_the_panel_add_styles(qtbot, win, stop_workers,
                                                                 tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path)
    g.auto_preview.setChecked(False)
    pics = []
    for i, colour in enumerate(((250, 210, 20), (30, 160, 90))):
        a = np.zeros((48, 48, 3), np.uint8)
        a[:, i::6] = colour
        pics.append(tmp_path / f"mine {i}.png")
        Image.fromarray(a).save(pics[-1])
    asked: list[bool] = []
    g.ask_files = lambda: asked.append(True) or [str(pics[0])]
    with qtbot.waitSignal(g.imported, timeout=WAIT) as blocker:
        QTest.mouseClick(g.add_button, Qt.MouseButton.LeftButton)
    assert asked and blocker.args[0].name == "mine 0" and g.user_grid.count() == 1
    with qtbot.waitSignal(g.imported, timeout=WAIT) as blocker:
        _drop(g, [pics[1]])          # anywhere on the panel, not only on the grid
    assert blocker.args[0].name == "mine 1" and g.user_grid.count() == 2


def _with_generations(win, tmp_path: Path):
    """The Generations dock as the real window has it: it notes every finished job in the
    document's metadata, which moves the document's revision without touching a pixel."""
    from aiart_desktop.ai.records import gen_history as gh
    from aiart_desktop.qt.panels.generation_history import install_generation_history

    return install_generation_history(win, user_store=gh.UserHistory(tmp_path / "user"))


def test_apply_after_a_preview_applies_it_without_styling_again(qtbot, win, stop_workers,
                                                                 tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path)
    gen = _with_generations(win, tmp_path)
    try:
        g.auto_preview.setChecked(False)
        doc = win.doc
        doc.set_selection(sel.rect_mask(96, 80, sel_rect_small().expanded(16)))
        started: list[object] = []   # every job submitted to the worker
        win.ai_worker.submitted.connect(started.append)
        g.pick("Starry swirls")
        with qtbot.waitSignal(gen.recorded, timeout=WAIT):
            assert g.preview() is not None
        qtbot.waitUntil(lambda: not g.running, timeout=WAIT)
        revision = g.result.request.revision
        assert doc.revision != revision        # the history note moved it: not a pixel
        assert g.preview_is_current() and "not applied yet" in g.status.text()
        shown, rect = qimage_to_array(g.preview_image[0].copy()), g.preview_image[1]
        before = doc.flatten().copy()
        layer = g.apply_style()                # at once: no second job
        assert layer is not None and len(started) == 1 and not g.running
        # The layer holds exactly what the preview showed.
        inside = shown[..., 3] > 0
        assert inside.sum() > 100
        assert np.array_equal(layer.read(rect)[inside], shown[inside])
        assert "Added layer “Style: Starry swirls”" in g.status.text()
        win.undo()
        qtbot.waitUntil(lambda: "Ctrl+Z" not in g.status.text(), timeout=WAIT)
        assert "removed" in g.status.text() and np.array_equal(doc.flatten(), before)

        # Another selection, other settings or other pixels: Apply styles again.
        for change in (lambda: doc.set_selection(sel.rect_mask(96, 80, sel_rect_small())),
                       lambda: g.controls.strength.setValue(40),
                       lambda: doc.put_pixels(doc.active_layer, 6, 6,    # on top
                                              np.full((4, 4, 4), 255, np.uint8))):
            with qtbot.waitSignal(g.job_ended, timeout=WAIT):
                g.preview()
            assert g.preview_is_current()
            change()
            assert not g.preview_is_current()
            qtbot.waitUntil(lambda: "no longer matches" in g.status.text(), timeout=WAIT)
            n, layers = len(started), len(doc.layers)
            with qtbot.waitSignal(g.applied, timeout=WAIT):
                assert g.apply_style() is None   # runs first
            assert len(started) == n + 1 and len(doc.layers) == layers + 1
    finally:
        gen.shutdown()


def test_discard_and_cancel_leave_status_lines_that_are_true(qtbot, win, stop_workers,
                                                              tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path)
    g.auto_preview.setChecked(False)
    g.pick("Style 12")                         # an old id still picks (and shows the name)
    assert "Soft impressionist" in g.status.text()
    with qtbot.waitSignal(g.job_ended, timeout=WAIT):
        g.preview()
    assert "not applied yet" in g.status.text() and g.discard_button.isVisible()
    QTest.mouseClick(g.discard_button, Qt.MouseButton.LeftButton)
    assert g.result is None and g.preview_image is None
    assert "not applied" not in g.status.text() and "discarded" in g.status.text()
    assert not g.discard_button.isVisible()
    # Picking another style says what Enter and the buttons do now.
    g.pick("Style 14")
    assert "Cool watercolour" in g.status.text() and "Preview (Enter)" in g.status.text()


def test_enter_previews_then_applies_from_any_field_of_the_dock(qtbot, win, stop_workers,
                                                                 tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path)
    g.auto_preview.setChecked(False)
    doc = win.doc
    doc.set_selection(sel.rect_mask(96, 80, sel_rect_small().expanded(12)))
    g.pick("Style 24")
    layers = len(doc.layers)
    for field in (g.controls.scale, g.controls.strength, g.builtin_grid):
        field.setFocus()
        # First Enter: no preview yet, so it previews (nothing is added).
        with qtbot.waitSignal(g.job_ended, timeout=WAIT):
            QTest.keyClick(field, Qt.Key.Key_Return)
        assert g.result is not None and len(doc.layers) == layers
        # Second Enter: applies that preview, at once.
        with qtbot.waitSignal(g.applied, timeout=1000):
            QTest.keyClick(field, Qt.Key.Key_Enter)
        layers += 1
        assert len(doc.layers) == layers and not g.running and g.result is None
        win.undo()
        layers -= 1
    # Enter on a grid item applies once (the list's own activation does not apply twice).
    with qtbot.waitSignal(g.job_ended, timeout=WAIT):
        g.preview()
    QTest.keyClick(g.builtin_grid, Qt.Key.Key_Return)
    qtbot.wait(200)
    assert len(doc.layers) == layers + 1 and not g.running


def _in_view(w) -> bool:
    """Every pixel of `w` is on screen in its dock (not clipped, not scrolled away)."""
    return w.isVisible() and w.visibleRegion().boundingRect() == w.rect()


def _nothing_cut_sideways(g) -> None:
    content = g.scroll.widget()
    assert content.width() >= content.minimumSizeHint().width()
    assert not g.scroll.horizontalScrollBar().isVisible()
    for w in g.findChildren(QWidget):
        if not w.isVisible() or isinstance(w, QScrollBar):
            continue
        if isinstance(w, QAbstractButton | QComboBox | QAbstractSpinBox | QProgressBar) or (
                isinstance(w, QLabel) and not w.wordWrap()):
            assert w.width() >= w.minimumSizeHint().width(), (w, w.width())
            right = w.mapTo(g, QPoint(w.width(), 0)).x()
            assert right <= g.width(), (w, right, g.width())


@pytest.mark.parametrize("size", [QSize(1350, 680), QSize(1400, 900)])
def test_the_style_dock_keeps_its_buttons_in_view_at_laptop_sizes(
        qtbot, win, stop_workers, tmp_path, size: QSize) -> None:
    """1350×680 is a 1366×768 screen less the task bar and the window frame."""
    g = gallery_window(win, stop_workers, tmp_path, painting(800, 600))
    gen = _with_generations(win, tmp_path)
    try:
        g.auto_preview.setChecked(False)
        win.showNormal()
        win.resize(size)
        dock = win.docks["styleDock"]
        dock.show()
        dock.raise_()
        QApplication.processEvents()
        assert (win.width(), win.height()) == (size.width(), size.height())
        assert _in_view(g.apply_button) and _in_view(g.preview_button)
        assert _in_view(g.add_button) and _in_view(g.picture_hint)
        _nothing_cut_sideways(g)
        # While a job runs: progress and Cancel too.
        g.pick("Style 2")
        g.controls.scale.setValue(0.5)        # a dozen tiles: it runs a while
        with qtbot.waitSignal(g.job_ended, timeout=WAIT):
            assert g.preview() is not None
            QApplication.processEvents()
            for w in (g.apply_button, g.preview_button, g.progress, g.cancel_button,
                      g.status):
                assert _in_view(w), w
            _nothing_cut_sideways(g)
            g.cancel()
        # With an error shown and a preview to discard, the buttons stay in view.
        g.controls.scale.setValue(1.0)
        win.doc.set_selection(sel.rect_mask(800, 600, sel_rect_small()))
        with qtbot.waitSignal(g.job_ended, timeout=WAIT):
            g.preview()
        other = win.ai_worker.submit(make_request(painting(1024, 1024), "style", tile=128,
                                                  overlap=8))
        g.controls.strength.setValue(30)       # stale now: Preview must run, and is refused
        assert g.preview() is None and g.error.isVisible()
        QApplication.processEvents()
        for w in (g.apply_button, g.preview_button, g.discard_button, g.error, g.status):
            assert _in_view(w), w
        other.cancel()
        qtbot.waitUntil(lambda: not win.ai_worker.busy, timeout=WAIT)
    finally:
        gen.shutdown()


def _wheel(widget, dy: int = -120):
    """A wheel notch over the middle of `widget`, delivered as Qt delivers a real one: to the
    widget, then to each parent while it is ignored (QApplication only propagates spontaneous
    wheel events, which a test cannot make). Returns the widget that took it."""
    centre = widget.rect().center()
    w = widget
    while w is not None:
        local = QPointF(w.mapFrom(widget, centre))
        ev = QWheelEvent(local, QPointF(widget.mapToGlobal(centre)), QPoint(0, 0),
                         QPoint(0, dy), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                         Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(w, ev)
        if ev.isAccepted():
            return w
        if w.isWindow():
            return None
        w = w.parentWidget()
    return None


def test_the_wheel_over_a_field_without_focus_scrolls_the_dock(qtbot, win, stop_workers,
                                                                tmp_path) -> None:
    g = gallery_window(win, stop_workers, tmp_path)
    g.auto_preview.setChecked(False)
    g.scroll.setFixedHeight(120)                 # a short dock: the panel scrolls
    QApplication.processEvents()
    bar = g.scroll.verticalScrollBar()
    assert bar.maximum() > 0
    c = g.controls
    for field, value in ((c.strength, c.strength.value), (c.scale, c.scale.value),
                         (c.target, c.target.currentIndex)):
        bar.setValue(bar.maximum() // 2)
        start, before = bar.value(), value()
        assert not field.hasFocus()
        assert _wheel(field, -120) is g.scroll.viewport(), field
        assert value() == before, field                  # the value did not change ...
        assert bar.value() > start, field                # ... the panel scrolled
    # A field the painter clicked into (focus) takes the wheel, as in Krita.
    c.scale.setFocus()
    before = c.scale.value()
    assert _wheel(c.scale, 120) is c.scale and c.scale.value() > before

"""The live frame on the real canvas, driven with QTest mouse events: a corner handle resizes it
to the expected document rectangle at zoom 1, at zoom 2 and scrolled; the grip and the outline
move it; a brush stroke inside it paints and leaves it alone; it stays on the canvas, whole
pixels, at least MIN_SIDE; moving it is no document edit; a resize while a frame is in flight
cancels that frame and the next one is made in the new frame; the cursor says what a press
would do."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from aiart_desktop.core.geometry import Rect
from aiart_desktop.qt.live_frame import MIN_SIDE, clamp_move, clamp_resize
from tests.support.dock import make_doc
from tests.support.live import Gate, live_panel
from tests.support.window_helpers import mouse_stroke, tablet_stroke, view_pos

WAIT = 60_000
FRAME = Rect(100, 80, 128, 96)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
Left = Qt.MouseButton.LeftButton
NoMod = Qt.KeyboardModifier.NoModifier


def _frame_panel(win, stop_workers, registry, engine, frame: Rect | None = FRAME):
    live = live_panel(win, stop_workers, registry, engine, make_doc(640, 480, selection=None))
    live.region.setCurrentIndex(live.region.findData("frame"))
    if frame is not None:
        live.set_frame(frame)
    return live, win.live_frame_editor


def _drag(win, points: list[QPoint]) -> None:
    vp = win.canvas.viewport()
    QTest.mousePress(vp, Left, NoMod, points[0])
    for p in points[1:]:
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, Left, NoMod, points[-1])


def _grip_centre(editor) -> QPoint:
    g = editor.grip_rect()
    return QPoint(round(g.center().x()), round(g.center().y()))


@pytest.mark.parametrize("zoom, ox, oy", [(1.0, 40.0, 30.0), (2.0, 40.0, 30.0),
                                          (2.0, -90.0, -70.0)])
def test_a_corner_handle_resizes_the_frame(qtbot, win, stop_workers, tiny_registry,
                                           tiny_engine, zoom, ox, oy) -> None:
    live, editor = _frame_panel(win, stop_workers, tiny_registry, tiny_engine)
    win.canvas.set_view(zoom, ox, oy)
    assert editor.isVisible() and editor.frame == FRAME
    pushed: list = []
    editor.changed.connect(pushed.append)
    # The bottom-right corner, 32 × 16 document pixels further out.
    vp = win.canvas.viewport()
    QTest.mousePress(vp, Left, NoMod, view_pos(win, FRAME.right, FRAME.bottom))
    QTest.mouseMove(vp, view_pos(win, FRAME.right + 20, FRAME.bottom + 10))
    QTest.mouseMove(vp, view_pos(win, FRAME.right + 32, FRAME.bottom + 16))
    # While dragging, the outline follows; the frame (and the session) wait for the release.
    assert editor.dragging and editor.shown_rect() == Rect(100, 80, 160, 112)
    assert editor.frame == FRAME and pushed == []
    QTest.mouseRelease(vp, Left, NoMod, view_pos(win, FRAME.right + 32, FRAME.bottom + 16))
    want = Rect(100, 80, 160, 112)
    assert editor.frame == want and live.frame_rect == want and live.settings().frame == want
    assert pushed == [want]   # once, on release
    # The top-left corner, inwards by 10 × 6.
    _drag(win, [view_pos(win, 100, 80), view_pos(win, 105, 83), view_pos(win, 110, 86)])
    assert editor.frame == Rect(110, 86, 150, 106) == live.settings().frame
    # The middle of the left side moves only that side.
    r = editor.frame
    _drag(win, [view_pos(win, r.x, r.y + r.h / 2), view_pos(win, r.x - 30, r.y + r.h / 2 + 9)])
    assert editor.frame == Rect(80, 86, 180, 106)


def test_a_pen_drags_a_handle_too(qtbot, win, stop_workers, tiny_registry,
                                   tiny_engine) -> None:
    live, editor = _frame_panel(win, stop_workers, tiny_registry, tiny_engine)
    win.canvas.set_view(1.0, 40.0, 30.0)
    win.state.set_tool("brush")
    undo = win.doc.history.undo_count
    r = FRAME
    tablet_stroke(win, [(r.right, r.bottom), (r.right + 10, r.bottom + 5),
                        (r.right + 20, r.bottom + 10)], 0.8)
    assert editor.frame == Rect(100, 80, 148, 106) and win.doc.history.undo_count == undo
    tablet_stroke(win, [(130, 110), (150, 120), (170, 130)], 0.8)   # inside: it paints
    assert win.doc.history.undo_count == undo + 1 and editor.frame == Rect(100, 80, 148, 106)


@pytest.mark.parametrize("zoom", [1.0, 2.0])
def test_the_grip_and_the_outline_move_the_frame(qtbot, win, stop_workers, tiny_registry,
                                                 tiny_engine, zoom) -> None:
    live, editor = _frame_panel(win, stop_workers, tiny_registry, tiny_engine)
    win.canvas.set_view(zoom, 20.0, 40.0)
    start = _grip_centre(editor)
    assert editor.grip_rect().bottom() <= win.canvas.doc_rect_to_view(FRAME).top() + 0.5
    _drag(win, [start, start + QPoint(30, 10), start + QPoint(60, 20)])
    moved = FRAME.translated(round(60 / zoom), round(20 / zoom))
    assert editor.frame == moved and live.settings().frame == moved
    # The outline's band (a couple of screen pixels outside the bottom line) moves it too.
    v = win.canvas.doc_rect_to_view(moved)
    p = QPoint(round(v.left() + v.width() / 4), round(v.bottom()) + 2)   # not a handle
    _drag(win, [p, p + QPoint(-40, 0)])
    assert editor.frame == moved.translated(-round(40 / zoom), 0)


def test_a_stroke_inside_the_frame_paints_and_leaves_the_frame(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live, editor = _frame_panel(win, stop_workers, tiny_registry, tiny_engine)
    win.canvas.set_view(1.0, 40.0, 30.0)
    doc = win.doc
    for tool in ("brush", "eraser"):
        win.state.set_tool(tool)
        before = doc.flatten(FRAME).copy()
        undo = doc.history.undo_count
        mouse_stroke(win, [(130, 110), (150, 120), (170, 130)])
        assert doc.history.undo_count == undo + 1, tool
        assert not np.array_equal(doc.flatten(FRAME), before), tool
        assert editor.frame == FRAME and not editor.dragging, tool
    # A rectangle selection drawn inside the frame is a selection, not a frame move.
    win.state.set_tool("rect_select")
    mouse_stroke(win, [(120, 100), (160, 140)])
    assert doc.selection is not None and editor.frame == FRAME


def test_the_frame_stays_on_the_canvas_and_keeps_its_minimum_side(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live, editor = _frame_panel(win, stop_workers, tiny_registry, tiny_engine)
    win.canvas.set_view(0.5, 200.0, 150.0)   # the whole 640 × 480 canvas in view
    start = _grip_centre(editor)
    _drag(win, [start, start + QPoint(-400, -400)])
    assert editor.frame == Rect(0, 0, FRAME.w, FRAME.h)
    start = _grip_centre(editor)
    _drag(win, [start, start + QPoint(900, 900)])
    assert editor.frame == Rect(640 - FRAME.w, 480 - FRAME.h, FRAME.w, FRAME.h)
    # The top-left corner dragged past the bottom-right one: MIN_SIDE is left.
    r = editor.frame
    _drag(win, [view_pos(win, r.x, r.y), view_pos(win, r.right + 50, r.bottom + 50)])
    assert editor.frame == Rect(640 - MIN_SIDE, 480 - MIN_SIDE, MIN_SIDE, MIN_SIDE)
    # ... and pulled out past the canvas' corner, it stops at the edge.
    r = editor.frame
    _drag(win, [view_pos(win, r.x, r.y), view_pos(win, -100, -100)])
    assert editor.frame == Rect(0, 0, 640, 480)
    # The rules themselves: whole pixels, a small canvas' side as the least.
    assert clamp_move(Rect(0, 0, 64, 64), 10.4, 20.6, 640, 480) == Rect(10, 21, 64, 64)
    assert clamp_resize(Rect(0, 0, 40, 40), (1, 1), -30, -30, 40, 40) == Rect(0, 0, 40, 40)


def test_moving_the_frame_is_no_document_edit(qtbot, win, stop_workers, tiny_registry,
                                              tiny_engine) -> None:
    live, editor = _frame_panel(win, stop_workers, tiny_registry, tiny_engine)
    doc = win.doc
    doc.history.clear()
    undo, modified, revision = doc.history.undo_count, doc.modified, doc.revision
    start = _grip_centre(editor)
    _drag(win, [start, start + QPoint(25, 15)])
    _drag(win, [view_pos(win, editor.frame.right, editor.frame.bottom),
                view_pos(win, editor.frame.right + 40, editor.frame.bottom + 40)])
    assert editor.frame != FRAME
    assert doc.history.undo_count == undo and doc.modified == modified
    assert doc.revision == revision


def test_the_cursor_says_what_a_press_would_do(qtbot, win, stop_workers, tiny_registry,
                                               tiny_engine) -> None:
    live, editor = _frame_panel(win, stop_workers, tiny_registry, tiny_engine)
    win.canvas.set_view(1.0, 40.0, 30.0)
    win.state.set_tool("brush")
    vp = win.canvas.viewport()
    brush_cursor = vp.cursor().shape()
    QTest.mouseMove(vp, view_pos(win, FRAME.right, FRAME.bottom))
    assert vp.cursor().shape() == Qt.CursorShape.SizeFDiagCursor
    QTest.mouseMove(vp, view_pos(win, FRAME.right, FRAME.y + FRAME.h / 2))
    assert vp.cursor().shape() == Qt.CursorShape.SizeHorCursor
    QTest.mouseMove(vp, view_pos(win, FRAME.x + FRAME.w / 2, FRAME.y))
    assert vp.cursor().shape() == Qt.CursorShape.SizeVerCursor
    QTest.mouseMove(vp, _grip_centre(editor))
    assert vp.cursor().shape() == Qt.CursorShape.SizeAllCursor
    QTest.mouseMove(vp, view_pos(win, FRAME.x + 40, FRAME.y + 40))   # inside: painting
    assert vp.cursor().shape() == brush_cursor


def test_a_new_frame_is_centred_on_the_view(qtbot, win, stop_workers, tiny_registry,
                                            tiny_engine) -> None:
    live, editor = _frame_panel(win, stop_workers, tiny_registry, tiny_engine, frame=None)
    assert editor.frame == live.frame_rect and editor.isVisible()
    side = min(512, 640, 480)   # FRAME_SIDE, clamped to the canvas
    assert (editor.frame.w, editor.frame.h) == (side, side)
    # Scrolled to a corner at zoom 2 on a new document: the new frame is where the view is.
    from aiart_desktop.core.document import Document

    live.region.setCurrentIndex(live.region.findData("canvas"))
    assert not editor.isVisible()
    win.set_document(Document.new(2000, 1500))
    win.canvas.set_view(2.0, -2000.0, -1000.0)
    live.region.setCurrentIndex(live.region.findData("frame"))
    vp = win.canvas.viewport()
    c = win.canvas.view_to_doc(QPointF(vp.width() / 2, vp.height() / 2))
    r = editor.frame
    assert (r.w, r.h) == (512, 512)
    assert abs(r.x + r.w / 2 - c.x()) <= 1 and abs(r.y + r.h / 2 - c.y()) <= 1
    # The Live dock hidden (another tab in front) hides it, unless Live is on.
    win.docks["liveDock"].hide()
    assert not editor.isVisible()
    win.docks["liveDock"].show()
    assert editor.isVisible() and editor.frame == r


def test_a_resize_while_a_frame_is_in_flight_cancels_it(
        qtbot, win, stop_workers, tiny_registry, tiny_engine) -> None:
    live, editor = _frame_panel(win, stop_workers, tiny_registry, tiny_engine)
    win.canvas.set_view(1.0, 40.0, 30.0)
    jobs: list = []
    frames: list = []
    win.ai_worker.submitted.connect(jobs.append)
    live.session.frame.connect(frames.append)
    gate = Gate(tiny_engine)
    try:
        live.set_live(True)
        assert live.session.state == "running" and len(jobs) == 1
        assert jobs[0].request.rect == FRAME
        # A drag sends nothing until the release ...
        vp = win.canvas.viewport()
        QTest.mousePress(vp, Left, NoMod, view_pos(win, FRAME.right, FRAME.bottom))
        QTest.mouseMove(vp, view_pos(win, FRAME.right - 20, FRAME.bottom - 8))
        QTest.mouseMove(vp, view_pos(win, FRAME.right - 40, FRAME.bottom - 16))
        assert len(jobs) == 1
        QTest.mouseRelease(vp, Left, NoMod, view_pos(win, FRAME.right - 40, FRAME.bottom - 16))
        # ... then the stale frame is cancelled and one frame of the new rectangle starts.
        want = Rect(100, 80, 88, 80)
        assert len(jobs) == 2 and jobs[1].request.rect == want
        gate.open.set()
        qtbot.waitUntil(lambda: bool(frames) and jobs[0].done and not win.ai_worker.busy,
                        timeout=WAIT)
        assert jobs[0].state == "cancelled" and frames[-1].rect == want
        assert live.overlay.rect_doc == want
    finally:
        gate.close()
        live.set_live(False)
        qtbot.waitUntil(lambda: not win.ai_worker.busy, timeout=WAIT)

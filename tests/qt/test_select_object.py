"""Select Object (issue 18) through the real window: a tiny random-weight Segment Anything model
(tests/support/tiny_sam.py) installed in the registry the window uses, clicks and drags on the
canvas, the masks compared with what `Segmenter.select` gives for the same prompt (random
weights: the masks' meaning is not checked), Shift / Alt combining, one undo step each, the
embedding computed once per picture off the UI thread, and the hint without a model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.segment import SEGMENT_HINT, picture_for
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.selection import Op
from aiart_desktop.qt.actions import window_menu
from aiart_desktop.qt.canvas.object_tool import READING
from tests.support.tiny_sam import build_sam
from tests.support.window_helpers import view_pos

Mod = Qt.KeyboardModifier
SHIFT, ALT, NONE = Mod.ShiftModifier, Mod.AltModifier, Mod.NoModifier


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    build_sam(root / "segmenters" / "tiny-sam")
    return root


@pytest.fixture(scope="module")
def reference(models: Path):
    from aiart_desktop.ai.backends.local_segment import Segmenter

    return Segmenter()


def _doc() -> Document:
    doc = Document.new(240, 160, (40, 110, 190, 255))
    for x, y, w, h, c in ((30, 30, 60, 50, (230, 40, 30)), (140, 70, 70, 60, (250, 220, 40))):
        block = np.zeros((h, w, 4), np.uint8)
        block[...] = (*c, 255)
        doc.put_pixels(doc.layers[0], x, y, block)
    doc.history.clear()
    return doc


@pytest.fixture
def sam_win(win, models: Path):
    win.ai_models = ModelRegistry(models)
    win.set_document(_doc())
    win.canvas.set_view(1.0, 40.0, 30.0)
    QTest.keyClick(win, Qt.Key.Key_O)
    assert win.state.tool == "select_object"
    return win


def tool(win):
    return win.canvas.tools["select_object"]


def settle(qtbot, win) -> None:
    t = tool(win)
    qtbot.waitUntil(lambda: t.idle and not t._timer.isActive(), timeout=30000)


def click(win, x: int, y: int, mods: Mod = NONE) -> None:
    QTest.mouseClick(win.canvas.viewport(), Qt.MouseButton.LeftButton, mods, view_pos(win, x, y))


def expected(win, reference, points=(), box=None) -> np.ndarray:
    doc = win.doc
    rgb, view = picture_for(doc, win.canvas.visible_doc_rect())
    folder = win.ai_models.segmenter().path
    emb = reference.embed(rgb, folder, view)
    return reference.select(emb, list(points), box, doc.width, doc.height)


def test_o_picks_the_tool_and_the_select_menu_offers_it(sam_win) -> None:
    win = sam_win
    win.state.set_tool("brush")
    QTest.keyClick(win, Qt.Key.Key_O)
    assert win.state.tool == "select_object"
    menu = window_menu(win, "Select")
    assert menu is not None and win.acts.tools["select_object"] in menu.actions()
    assert win.acts.tools["select_object"].shortcut().toString() == "O"


def test_a_click_selects_the_mask_the_segmenter_gives_in_one_undo_step(sam_win, qtbot,
                                                                       reference) -> None:
    win = sam_win
    n = len(win.doc.history.steps)
    click(win, 60, 55)
    assert win.statusBar().currentMessage() in (READING, "")
    settle(qtbot, win)
    want = expected(win, reference, [(60, 55, +1)])
    assert want.any(), "the tiny model should select something there"
    qtbot.waitUntil(lambda: win.doc.selection is not None, timeout=10000)
    assert np.array_equal(win.doc.selection, want)
    assert len(win.doc.history.steps) == n + 1
    assert win.doc.history.steps[-1] == "Select object"
    assert not win.canvas.ants.empty and win.canvas.ants.timer.isActive()   # the ants, at once
    win.undo()
    assert win.doc.selection is None


def test_shift_adds_alt_subtracts_each_one_step(sam_win, qtbot, reference) -> None:
    win = sam_win
    a, b = (60, 55), (170, 100)
    ma = expected(win, reference, [(*a, +1)])
    mb = expected(win, reference, [(*b, +1)])
    assert not np.array_equal(ma, mb)
    n = len(win.doc.history.steps)
    click(win, *a)
    settle(qtbot, win)
    assert np.array_equal(win.doc.selection, ma)
    click(win, *b, SHIFT)
    settle(qtbot, win)
    union = sel.combine(ma, mb, Op.ADD)
    assert np.array_equal(win.doc.selection, union)
    assert len(win.doc.history.steps) == n + 2
    click(win, *b, ALT)
    settle(qtbot, win)
    assert np.array_equal(win.doc.selection, sel.combine(union, mb, Op.SUBTRACT))
    assert len(win.doc.history.steps) == n + 3
    win.undo()
    assert np.array_equal(win.doc.selection, union)


def test_a_drag_is_a_box_prompt(sam_win, qtbot, reference) -> None:
    win = sam_win
    vp = win.canvas.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, NONE, view_pos(win, 25, 25))
    QTest.mouseMove(vp, view_pos(win, 60, 50))
    QTest.mouseMove(vp, view_pos(win, 95, 85))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, NONE, view_pos(win, 95, 85))
    settle(qtbot, win)
    want = expected(win, reference, box=(25.0, 25.0, 95.0, 85.0))
    assert want.any()
    assert np.array_equal(win.doc.selection, want)
    assert not np.array_equal(want, expected(win, reference, [(25, 25, +1)]))
    assert win.doc.history.steps[-1] == "Select object"


def test_the_embedding_is_computed_once_per_picture(sam_win, qtbot) -> None:
    win = sam_win
    t = tool(win)
    settle(qtbot, win)              # choosing the tool started the embedding
    assert t.embeds_computed == 1
    for x, y, mods in ((60, 55, NONE), (170, 100, SHIFT), (100, 20, SHIFT)):
        click(win, x, y, mods)
    settle(qtbot, win)
    assert t.embeds_computed == 1
    assert win.doc.selection is not None           # setting it did not re-run the encoder
    block = np.zeros((20, 20, 4), np.uint8)
    block[...] = (10, 200, 60, 255)
    win.doc.put_pixels(win.doc.layers[0], 100, 10, block)   # the picture changed
    qtbot.waitUntil(lambda: t.embeds_computed == 2, timeout=30000)
    settle(qtbot, win)
    click(win, 60, 55)
    settle(qtbot, win)
    assert t.embeds_computed == 2


def test_without_a_model_the_tool_says_what_to_install(win, qtbot, tmp_path) -> None:
    win.ai_models = ModelRegistry(tmp_path / "empty")
    QTest.keyClick(win, Qt.Key.Key_O)
    assert win.state.tool == "select_object"
    assert win.statusBar().currentMessage() == SEGMENT_HINT
    win.statusBar().clearMessage()
    n = len(win.doc.history.steps)
    click(win, 50, 50)
    QTest.qWait(50)
    assert win.doc.selection is None and len(win.doc.history.steps) == n
    assert win.statusBar().currentMessage() == SEGMENT_HINT
    assert len(SEGMENT_HINT.splitlines()) <= 2
    assert tool(win).embeds_computed == 0
    win.state.set_tool("brush")
    assert win.statusBar().currentMessage() == ""


def test_the_model_manager_says_select_object_can_use_a_downloaded_sam(qtbot, tmp_path) -> None:
    from aiart_desktop.qt.dialogs.model_manager import ModelManagerDialog

    dlg = ModelManagerDialog(ModelRegistry(tmp_path / "models"))
    qtbot.addWidget(dlg)
    dlg._download_done("sam-vit-base", "")
    text = dlg.message.text()
    assert "Select Object (O) can use it now" in text and "AI panel" not in text
    assert len(text.splitlines()) <= 2


def _hold(t):
    """Block the tool's background thread until the returned event is set."""
    import threading

    gate = threading.Event()
    t._submit(gate.wait, 30)
    return gate


def test_a_click_waits_for_the_embedding_and_a_stale_one_is_skipped(sam_win, qtbot,
                                                                      reference) -> None:
    win = sam_win
    t = tool(win)
    settle(qtbot, win)
    assert t.embeds_computed == 1
    gate = _hold(t)
    block = np.zeros((20, 20, 4), np.uint8)
    block[...] = (10, 200, 60, 255)
    win.doc.put_pixels(win.doc.layers[0], 100, 10, block)      # picture 2: queued, then stale
    assert t.refresh(now=True) is not None
    block[...] = (200, 10, 160, 255)
    win.doc.put_pixels(win.doc.layers[0], 180, 20, block)      # picture 3: the newest
    click(win, 60, 55)                                         # queued behind the embedding
    assert win.statusBar().currentMessage() == READING
    QTest.qWait(30)
    assert win.doc.selection is None                           # the click waits
    gate.set()
    settle(qtbot, win)
    assert t.embeds_computed == 2                              # picture 2 was never embedded
    assert np.array_equal(win.doc.selection, expected(win, reference, [(60, 55, +1)]))
    assert win.statusBar().currentMessage() == ""


def test_the_visible_part_of_a_zoomed_canvas_is_what_is_segmented(sam_win, qtbot,
                                                                   reference) -> None:
    win = sam_win
    win.canvas.set_view(4.0, -200.0, -120.0)                    # about x 50.., y 30.. shown
    vis = win.canvas.visible_doc_rect()
    assert vis.w < win.doc.width and vis.h < win.doc.height
    x, y = vis.x + vis.w // 2, vis.y + vis.h // 2
    click(win, x, y)
    settle(qtbot, win)
    want = expected(win, reference, [(x, y, +1)])
    assert np.array_equal(win.doc.selection, want)
    outside = np.ones_like(want, bool)
    outside[vis.slices()] = False
    assert not want[outside].any()                             # nothing beyond what is seen


def test_the_picture_read_in_bands_matches_one_read() -> None:
    from PIL import Image

    from aiart_desktop.ai.segment import picture_steps
    from aiart_desktop.core.geometry import Rect

    doc = _doc()
    rect = Rect(10, 5, 220, 150)
    steps = picture_steps(doc, rect, max_side=100, band=16)
    n = 0
    while True:
        try:
            next(steps)
            n += 1
        except StopIteration as done:
            rgb, view = done.value
            break
    assert n > 3 and rgb.shape == (68, 100, 3) and (view.x, view.y) == (10, 5)
    whole = np.asarray(Image.fromarray(doc.flatten(rect)[..., :3]).resize(
        (100, 68), Image.Resampling.BOX)).astype(int)
    assert np.abs(whole - rgb.astype(int)).max() <= 40 and \
        np.abs(whole - rgb.astype(int)).mean() < 1.0

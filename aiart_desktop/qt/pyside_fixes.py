"""Work-arounds for defects in the installed PySide6, applied when `aiart_desktop.qt` loads.

PySide6 6.12.0 returns `True` from `SignalInstance.emit()` without taking a reference. On
CPython < 3.12 (where True is not immortal) every emit from Python therefore lowers True's
reference count by one, and after a few thousand emits (a minute of painting: every mouse
move emits) the interpreter aborts with "bool_dealloc: deallocating True or False".
6.11.x does not have the defect. When we detect it, we make True and False effectively
immortal, which is exactly what CPython 3.12+ does by design.

Also: on the offscreen platform an image left on the clipboard crashes the interpreter at exit;
an atexit hook empties it first (see `_release_offscreen_clipboard`).
"""
from __future__ import annotations

import atexit
import ctypes
import platform
import sys

from PySide6.QtCore import QObject, Signal

_PROBES = 16
_applied = False
_atexit_registered = False


class _Probe(QObject):
    ping = Signal()


def emit_drops_bool_references() -> bool:
    """Whether `Signal.emit()` loses a reference to its (bool) result on this install."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.ping.emit()
    return sys.getrefcount(True) <= before - _PROBES // 2


def make_bools_immortal() -> None:
    """Add 2**40 references to True and False (CPython stores ob_refcnt first)."""
    for obj in (True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40


def _release_offscreen_clipboard() -> None:
    """On the offscreen platform (tests, CI, the self-test), a QMimeData left on the clipboard
    makes the interpreter crash at exit (PySide6 6.11, seen with Qt's offscreen clipboard; the
    xcb, Windows and macOS clipboards are fine). Empty it while the application still exists.
    Real desktops keep the user's clipboard across exit."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is not None and QGuiApplication.platformName() == "offscreen":
        QGuiApplication.clipboard().clear()


def apply() -> bool:
    """Apply the work-arounds this PySide6 needs; True when one was applied."""
    global _applied, _atexit_registered
    if not _atexit_registered:
        atexit.register(_release_offscreen_clipboard)
        _atexit_registered = True
    if _applied or sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False
    if emit_drops_bool_references():
        make_bools_immortal()
        _applied = True
    return _applied

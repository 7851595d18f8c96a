"""Optional JIT-compiled pixel loops (numba) for the hot compositing paths.

numba is imported lazily, in a background thread (`warm_up()`), so neither start-up nor the
first paint pays for it. Until the kernels are ready, and wherever numba is unavailable or
AIART_NO_JIT=1 is set, callers use the equivalent numpy code in blend.py. Both paths give the
same bytes (tests check), so which one ran is never visible to the user.
"""
from __future__ import annotations

import os
import threading
from types import ModuleType
from typing import Any

_lock = threading.Lock()
_ready: dict[str, Any] | None = None
_thread: threading.Thread | None = None
_failed: str | None = None
_enabled = os.environ.get("AIART_NO_JIT", "") not in ("1", "true", "yes")

# Separable blend modes handled by the kernel, in the kernel's numbering.
MODE_IDS = {
    "multiply": 1, "screen": 2, "overlay": 3, "darken": 4, "lighten": 5, "color-dodge": 6,
    "color-burn": 7, "hard-light": 8, "soft-light": 9, "difference": 10, "exclusion": 11,
}


def get() -> dict[str, Any] | None:
    """The compiled kernels when ready, else None (use numpy)."""
    return _ready if _enabled else None


def set_enabled(on: bool) -> None:
    global _enabled
    _enabled = on


def failure() -> str | None:
    return _failed


def warm_up(block: bool = False) -> None:
    """Import numba and compile (or load from cache) the kernels, in the background."""
    global _thread
    if not _enabled or _ready is not None or _failed is not None:
        return
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_build, name="jit-warm-up", daemon=True)
            _thread.start()
    if block:
        _thread.join()


def _build() -> None:
    global _ready, _failed
    try:
        from . import _jit

        mod: ModuleType = _jit
        mod.warm()
        _ready = {"over": mod.over_u8, "blend": mod.blend_u8,
                  "straight": mod.to_straight, "premul": mod.to_premul}
    except Exception as exc:  # numba missing or broken: numpy stays in charge
        _failed = f"{type(exc).__name__}: {exc}"

"""A file the current user really cannot read, even when the tests run as root.

`with unreadable(path):` takes every permission off `path`; as root (whom permissions do not
stop) it also drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from this thread's effective
capabilities, so the kernel refuses the read with EACCES exactly as it does for a user. Both
are restored on exit.
"""
from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_VERSION_3 = 0x20080522
_DAC = (1 << 1) | (1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


@contextmanager
def _without_dac_override() -> Iterator[None]:
    libc = ctypes.CDLL(None, use_errno=True)
    header = _Header(_VERSION_3, 0)  # pid 0: this thread
    data = (_Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    saved = (_Data * 2)()
    ctypes.memmove(saved, data, ctypes.sizeof(data))
    data[0].effective &= ~_DAC
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    try:
        yield
    finally:
        libc.capset(ctypes.byref(header), saved)


@contextmanager
def unreadable(path: Path) -> Iterator[None]:
    mode = path.stat().st_mode
    path.chmod(0)
    try:
        if os.geteuid() == 0:
            with _without_dac_override():
                yield
        else:
            yield
    finally:
        path.chmod(mode)

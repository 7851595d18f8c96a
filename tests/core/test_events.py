from __future__ import annotations

import gc

import pytest

from aiart_desktop.core.events import Signal


class Thing:
    changed = Signal(object)


class Listener:
    def __init__(self) -> None:
        self.got: list[object] = []

    def on(self, v: object) -> None:
        self.got.append(v)


def test_connect_emit_disconnect_per_instance() -> None:
    a, b = Thing(), Thing()
    seen: list[object] = []
    a.changed.connect(seen.append)
    a.changed.emit(1)
    b.changed.emit(2)
    assert seen == [1]
    a.changed.disconnect(seen.append)
    a.changed.emit(3)
    assert seen == [1]
    with pytest.raises(ValueError):
        a.changed.disconnect(seen.append)


def test_bound_methods_are_weak_and_blocking_works() -> None:
    t = Thing()
    listener = Listener()
    t.changed.connect(listener.on)
    with t.changed.blocked():
        t.changed.emit("hidden")
    t.changed.emit("x")
    assert listener.got == ["x"]
    del listener
    gc.collect()
    t.changed.emit("y")  # no error: the dead listener is dropped
    assert len(t.changed) == 0

"""Minimal evented signals for the headless core (no Qt, cheap to import).

    class Document:
        pixels_changed = Signal(object)

    doc.pixels_changed.connect(callback)
    doc.pixels_changed.emit(rect)

Bound methods are held weakly, so a panel that goes away stops receiving events without
having to disconnect; plain functions and lambdas are held strongly.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class SignalInstance:
    __slots__ = ("_slots", "_blocked", "name")

    def __init__(self, name: str = "") -> None:
        self._slots: list[Callable[[], Callable[..., Any] | None]] = []
        self._blocked = False
        self.name = name

    def connect(self, slot: Callable[..., Any]) -> Callable[..., Any]:
        if hasattr(slot, "__self__") and hasattr(slot, "__func__"):
            ref: Callable[[], Callable[..., Any] | None] = weakref.WeakMethod(slot)
        else:
            def ref(s: Callable[..., Any] = slot) -> Callable[..., Any]:
                return s
        self._slots.append(ref)
        return slot

    def disconnect(self, slot: Callable[..., Any]) -> None:
        for i, ref in enumerate(self._slots):
            if ref() == slot:
                del self._slots[i]
                return
        raise ValueError(f"slot {slot!r} is not connected to {self.name}")

    def emit(self, *args: Any) -> None:
        if self._blocked:
            return
        dead = False
        for ref in list(self._slots):
            fn = ref()
            if fn is None:
                dead = True
                continue
            fn(*args)
        if dead:
            self._slots = [r for r in self._slots if r() is not None]

    @contextmanager
    def blocked(self) -> Iterator[None]:
        old, self._blocked = self._blocked, True
        try:
            yield
        finally:
            self._blocked = old

    def __len__(self) -> int:
        return sum(1 for r in self._slots if r() is not None)


class Signal:
    """Class attribute that gives each instance its own SignalInstance."""

    def __init__(self, *types: Any) -> None:
        self.types = types
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        inst = obj.__dict__.get(self.name)
        if inst is None:
            inst = obj.__dict__[self.name] = SignalInstance(self.name)
        return inst

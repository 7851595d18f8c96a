from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.history import Command, CommandStack


class Append(Command):
    def __init__(self, log: list[int], v: int, size: int = 0) -> None:
        self.log, self.v, self.size, self.text = log, v, size, f"append {v}"

    def redo(self) -> None:
        self.log.append(self.v)

    def undo(self) -> None:
        assert self.log.pop() == self.v

    @property
    def nbytes(self) -> int:
        return self.size


def test_undo_redo_and_redo_cleared_by_new_push() -> None:
    log: list[int] = []
    s = CommandStack()
    for v in (1, 2, 3):
        s.push(Append(log, v))
    assert log == [1, 2, 3] and s.undo() and s.undo() and log == [1]
    assert s.redo() and log == [1, 2] and s.can_redo
    s.push(Append(log, 9))
    assert not s.can_redo and log == [1, 2, 9]
    assert s.steps == ["append 1", "append 2", "append 9"]


def test_counts_and_last_command_follow_undo_redo_macros_and_merges() -> None:
    log: list[int] = []
    s = CommandStack()
    assert (s.undo_count, s.redo_count, s.last_command) == (0, 0, None)
    first, second = Append(log, 1), Append(log, 2)
    s.push(first)
    s.push(second)
    assert (s.undo_count, s.redo_count) == (2, 0) and s.last_command is second
    s.undo()
    assert (s.undo_count, s.redo_count) == (1, 1) and s.last_command is first
    with s.macro("two more"):
        s.push(Append(log, 3))
        s.push(Append(log, 4))
        assert s.undo_count == 1  # the open macro is not a step yet
    assert (s.undo_count, s.redo_count) == (2, 0) and s.last_command is not None
    assert s.last_command.text == "two more" and log == [1, 3, 4]
    s.undo()
    s.undo()
    assert (s.undo_count, s.redo_count, s.last_command) == (0, 2, None) and log == []


def test_memory_budget_drops_oldest_steps() -> None:
    log: list[int] = []
    s = CommandStack(budget_bytes=1000)
    for v in range(10):
        s.push(Append(log, v, size=300))
    assert s.nbytes <= 1000 and s.dropped == 7
    while s.undo():
        pass
    assert log == [0, 1, 2, 3, 4, 5, 6]  # the three newest steps were undoable


def test_macro_is_one_step_and_failure_rolls_back() -> None:
    log: list[int] = []
    s = CommandStack()
    with s.macro("both"):
        s.push(Append(log, 1))
        s.push(Append(log, 2))
    assert s.steps == ["both"]
    s.undo()
    assert log == []
    with pytest.raises(RuntimeError), s.macro("broken"):
        s.push(Append(log, 5))
        raise RuntimeError("boom")
    assert log == [] and s.steps == ["both"]


def test_clean_state_tracks_save_point() -> None:
    log: list[int] = []
    s = CommandStack()
    s.push(Append(log, 1))
    s.set_clean()
    assert s.is_clean
    s.push(Append(log, 2))
    assert not s.is_clean
    s.undo()
    assert s.is_clean


def test_property_edits_merge_until_broken() -> None:
    doc = Document.new(32, 32)
    layer = doc.layers[0]
    doc.history.break_merge()
    for v in (0.9, 0.7, 0.5):  # one slider drag
        doc.set_props(layer, opacity=v, mergeable=True)
    assert doc.history.steps == ["Layer opacity"] and layer.opacity == 0.5
    doc.history.break_merge()  # a new drag
    doc.set_props(layer, opacity=0.2, mergeable=True)
    assert len(doc.history.steps) == 2
    doc.history.undo()
    assert layer.opacity == 0.5
    doc.history.undo()
    assert layer.opacity == 1.0


def test_pixel_undo_restores_exact_bytes_and_stores_only_changed_tiles() -> None:
    rng = np.random.default_rng(3)
    doc = Document.new(1024, 1024)
    layer = doc.layers[0]
    before = layer.read(doc.rect)
    patch = rng.integers(0, 256, (10, 10, 4), dtype=np.uint8)
    doc.put_pixels(layer, 500, 500, patch)
    cmd = doc.history.last_command
    assert cmd.nbytes == 2 * 64 * 64 * 4  # one tile before, one after — not the layer
    doc.history.undo()
    assert np.array_equal(layer.read(doc.rect), before)
    doc.history.redo()
    assert np.array_equal(layer.read(Rect(500, 500, 10, 10)), patch)

"""Undo/redo: commands, a memory-bounded command stack, merging and macros."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .events import Signal

DEFAULT_BUDGET = 1 << 30  # 1 GiB of undo data


class Command:
    """One undoable edit. Subclasses implement redo/undo and report their memory."""

    text: str = "Edit"

    def redo(self) -> None:
        raise NotImplementedError

    def undo(self) -> None:
        raise NotImplementedError

    @property
    def nbytes(self) -> int:
        return 0

    def merge(self, other: Command) -> bool:
        """Absorb `other` (already applied) into self. Return True when merged."""
        return False


class MacroCommand(Command):
    """Several commands that undo and redo as one step."""

    def __init__(self, text: str, children: list[Command] | None = None) -> None:
        self.text = text
        self.children: list[Command] = list(children or [])

    def redo(self) -> None:
        for c in self.children:
            c.redo()

    def undo(self) -> None:
        for c in reversed(self.children):
            c.undo()

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.children)


class CommandStack:
    """Linear undo history with a memory budget; the oldest steps are dropped beyond it."""

    changed = Signal()

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.budget_bytes = budget_bytes
        self._undo: list[Command] = []
        self._redo: list[Command] = []
        self._macros: list[MacroCommand] = []
        self._merge_open = False
        self._clean: int | None = 0  # len(_undo) at the last save; None if unreachable
        self.dropped = 0  # how many old steps the budget has discarded

    # ---- state ----------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and not self._macros

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and not self._macros

    @property
    def undo_text(self) -> str:
        return self._undo[-1].text if self._undo else ""

    @property
    def redo_text(self) -> str:
        return self._redo[-1].text if self._redo else ""

    @property
    def index(self) -> int:
        return len(self._undo)

    @property
    def undo_count(self) -> int:
        """How many steps `undo` can take back (the steps of an open macro not counted)."""
        return len(self._undo)

    @property
    def redo_count(self) -> int:
        return len(self._redo)

    @property
    def last_command(self) -> Command | None:
        """The command the next `undo` reverts; None when there is none."""
        return self._undo[-1] if self._undo else None

    @property
    def steps(self) -> list[str]:
        """Names of all steps, oldest first: the undo part then the redo part."""
        return [c.text for c in self._undo] + [c.text for c in reversed(self._redo)]

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self._undo) + sum(c.nbytes for c in self._redo)

    @property
    def is_clean(self) -> bool:
        return self._clean == len(self._undo)

    def mark_dirty(self) -> None:
        """Treat the document as modified even though no step was taken (e.g. recovered)."""
        self._clean = None
        self.changed.emit()

    def set_clean(self) -> None:
        self._clean = len(self._undo)
        self.changed.emit()

    # ---- editing ---------------------------------------------------------------------------
    def push(self, cmd: Command, *, applied: bool = False, mergeable: bool = False) -> None:
        """Record `cmd` (running it first unless `applied`). Clears the redo list.

        With `mergeable`, the command may fold into the previous step if that one was also
        pushed mergeable and nothing broke the chain (see `break_merge`).
        """
        if not applied:
            cmd.redo()
        if self._macros:
            self._macros[-1].children.append(cmd)
            return
        if self._redo:
            self._redo.clear()
            if self._clean is not None and self._clean > len(self._undo):
                self._clean = None
        merged = (
            mergeable and self._merge_open and bool(self._undo)
            and self._clean != len(self._undo) and self._undo[-1].merge(cmd)
        )
        if not merged:
            self._undo.append(cmd)
        self._merge_open = mergeable
        self._enforce_budget()
        self.changed.emit()

    def break_merge(self) -> None:
        """The next mergeable push starts a new step (e.g. a new slider drag began)."""
        self._merge_open = False

    @contextmanager
    def macro(self, text: str) -> Iterator[MacroCommand]:
        """Group everything pushed inside the block into one undo step."""
        m = MacroCommand(text)
        self._macros.append(m)
        try:
            yield m
        except BaseException:
            self._macros.pop()
            m.undo()
            raise
        self._macros.pop()
        if m.children:
            self.push(m, applied=True)

    def undo(self) -> bool:
        if not self.can_undo:
            return False
        cmd = self._undo.pop()
        cmd.undo()
        self._redo.append(cmd)
        self._merge_open = False
        self.changed.emit()
        return True

    def redo(self) -> bool:
        if not self.can_redo:
            return False
        cmd = self._redo.pop()
        cmd.redo()
        self._undo.append(cmd)
        self._merge_open = False
        self.changed.emit()
        return True

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._clean = 0
        self._merge_open = False
        self.changed.emit()

    def _enforce_budget(self) -> None:
        total = self.nbytes
        while total > self.budget_bytes and len(self._undo) > 1:
            old = self._undo.pop(0)
            total -= old.nbytes
            self.dropped += 1
            if self._clean is not None:
                self._clean = self._clean - 1 if self._clean > 0 else None

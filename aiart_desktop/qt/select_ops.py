"""Select menu commands: all / deselect / reselect / invert, grow / shrink / feather / border
by N pixels, alpha to selection, colour range, fill the selection, quick mask.

Each change of the selection is one undo step through `Document.set_selection`; the numbers
are asked through the window's `prompts` object, so tests answer without a dialog.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..core import selection as sel
from ..core.brush import apply_coverage
from ..core.document import Document
from ..core.layer import Layer
from . import edit_ops

if TYPE_CHECKING:
    from .main_window import MainWindow


class SelectOps:
    """The Select menu's commands for one window; remembers the last selection (Reselect)
    and the last number given to each command."""

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.last: np.ndarray | None = None    # the last non-empty selection
        self._doc: Document | None = None
        self.amounts = {"grow": 4, "shrink": 4, "feather": 8, "border": 4, "fuzziness": 40}

    # ---- the document ----------------------------------------------------------------------
    def attach(self, doc: Document | None) -> None:
        if self._doc is not None:
            try:
                self._doc.selection_changed.disconnect(self._remember)
            except ValueError:
                pass
        self._doc = doc
        self.last = doc.selection if doc is not None else None
        if doc is not None:
            doc.selection_changed.connect(self._remember)

    def _remember(self, _rect: object = None) -> None:
        if self._doc is not None and self._doc.selection is not None:
            self.last = self._doc.selection

    def _ready(self) -> Document | None:
        """The document, with any tool work ended and quick mask applied (these commands
        act on the real selection)."""
        win = self.win
        if win.doc is None:
            return None
        win.canvas.finish_tool()
        win.canvas.quick_mask.leave()
        return win.doc

    def _tell(self, text: str) -> None:
        self.win.statusBar().showMessage(text, 4000)

    # ---- whole-selection commands ------------------------------------------------------------
    def select_all(self) -> None:
        doc = self._ready()
        if doc is not None:
            edit_ops.select_all(doc)

    def deselect(self) -> None:
        doc = self._ready()
        if doc is not None:
            edit_ops.deselect(doc)

    def reselect(self) -> None:
        """Bring back the last selection there was (Ctrl+Shift+D)."""
        doc = self._ready()
        if doc is None:
            return
        last = self.last
        if last is None or last.shape != (doc.height, doc.width):
            self._tell("Reselect: there is no earlier selection")
            return
        if doc.selection is not last:
            doc.set_selection(last, "Reselect")

    def invert(self) -> None:
        doc = self._ready()
        if doc is not None:
            edit_ops.invert_selection(doc)

    # ---- by N pixels -------------------------------------------------------------------------
    def _modify(self, key: str, title: str, label: str,
                fn: Callable[[np.ndarray, float], np.ndarray], maximum: int = 500) -> None:
        doc = self._ready()
        if doc is None:
            return
        if doc.selection is None:
            self._tell(f"{title}: nothing is selected")
            return
        n = self.win.prompts.ask_int(title, label, self.amounts[key], 1, maximum)
        if n is None:
            return
        self.amounts[key] = n
        doc.set_selection(fn(doc.selection, n), title)

    def grow(self) -> None:
        self._modify("grow", "Grow selection", "Grow by (pixels):", sel.grow)

    def shrink(self) -> None:
        self._modify("shrink", "Shrink selection", "Shrink by (pixels):", sel.shrink)

    def feather(self) -> None:
        self._modify("feather", "Feather selection", "Feather radius (pixels):", sel.feather)

    def border(self) -> None:
        self._modify("border", "Border selection", "Border width (pixels):", sel.border)

    # ---- from pixels -------------------------------------------------------------------------
    def alpha_to_selection(self) -> None:
        """The active layer's opacity becomes the selection (Krita's Select Opaque)."""
        doc = self._ready()
        if doc is None:
            return
        layer = doc.active_layer
        if layer is None:
            self._tell("Alpha to selection: select a paint layer first")
            return
        mask = sel.from_alpha(layer.read(doc.rect)[..., 3])
        if not mask.any():
            self._tell(f"Alpha to selection: \u201c{layer.name}\u201d is empty")
        doc.set_selection(mask, "Alpha to selection")

    def color_range(self) -> None:
        """Select the foreground colour across the visible picture, softly (fuzziness)."""
        doc = self._ready()
        if doc is None:
            return
        fuzz = self.win.prompts.ask_int("Colour range", "Fuzziness (the foreground colour, "
                                        "give or take):", self.amounts["fuzziness"], 0, 255)
        if fuzz is None:
            return
        self.amounts["fuzziness"] = fuzz
        mask = sel.color_range(doc.flatten(), self.win.state.foreground, fuzz)
        if not mask.any():
            self._tell("Colour range: no pixel is near the foreground colour")
        doc.set_selection(mask, "Colour range")

    # ---- editing pixels through the selection --------------------------------------------------
    def _paint_layer(self, what: str) -> tuple[Document, Layer] | None:
        doc = self._ready()
        if doc is None:
            return None
        layer = doc.active_layer
        if layer is None or layer.locked:
            self._tell(f"{what}: select an unlocked paint layer first")
            return None
        return doc, layer

    def fill_foreground(self) -> None:
        """Fill the selection (softly) or the whole layer with the foreground colour."""
        got = self._paint_layer("Fill")
        if got is None:
            return
        doc, layer = got
        rect = sel.bounds(doc.selection) if doc.selection is not None else doc.rect
        if rect.empty:
            return
        mask = doc.selection_mask(rect)
        cover = np.ones((rect.h, rect.w), np.float32) if mask is None else mask
        out = apply_coverage(layer.read(rect), cover, self.win.state.foreground,
                             alpha_lock=layer.alpha_lock)
        doc.put_pixels(layer, rect.x, rect.y, out, "Fill with foreground")

    def clear(self) -> None:
        """Delete: erase the selection (softly) on the active layer, or all of it."""
        got = self._paint_layer("Clear")
        if got is not None:
            got[0].clear_layer(got[1])

    # ---- quick mask ----------------------------------------------------------------------------
    def toggle_quick_mask(self) -> None:
        win = self.win
        if win.doc is None:
            return
        win.canvas.finish_tool()
        win.canvas.quick_mask.toggle(win.doc)

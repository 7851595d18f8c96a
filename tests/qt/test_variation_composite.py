"""One picture of "a variation over the original" (ai/composite.py), on a real window: for a
real classical-fill result and a real outpaint, the canvas preview, the strip's thumbnail, the
Generations dock's thumbnail and the layer Apply adds all come from `variant_layer` /
`variant_over_original`, and agree on pixels with what the document shows once applied."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from aiart_desktop.ai.composite import original_rgb, variant_layer, variant_over_original
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.records import gen_history as gh
from aiart_desktop.ai.requests import OutpaintRequest
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.qt.convert import qimage_to_array
from aiart_desktop.qt.panels.generation_history import install_generation_history
from aiart_desktop.qt.panels.variations import THUMB, _pixmap
from tests.support.dock import SELECTION, dock_window

WAIT = 30_000


def _icon_image(item) -> QImage:
    icon = item.icon()
    return icon.pixmap(icon.availableSizes()[0]).toImage().convertToFormat(
        QImage.Format.Format_RGB32)


@pytest.mark.parametrize("op", ["inpaint", "outpaint"])
def test_preview_strip_history_and_apply_share_one_composite(
        op: str, qtbot, win, stop_workers, tmp_path: Path) -> None:
    empty = ModelRegistry(tmp_path / "no-models", allow_pickle=False)
    ai = dock_window(win, empty, default_engine(empty, device="cpu"))
    stop_workers.append(ai.worker)
    gen = install_generation_history(win, user_store=gh.UserHistory(tmp_path / "user"))
    try:
        doc = win.doc
        ai.form.set_op(op)
        ai.form.batch.setValue(2)
        if op == "outpaint":   # grow on the left: the content shifts, the preview must not
            ai.form.direction.setCurrentIndex(ai.form.direction.findData("left"))
            ai.form.pixels.setValue(32)
        size0, before = (doc.width, doc.height), doc.flatten()
        with qtbot.waitSignal(gen.recorded, timeout=WAIT):
            assert ai.generate() is not None
        qtbot.waitUntil(lambda: not ai.running and ai.strip.count() == 2, timeout=WAIT)
        r = ai.result
        assert r is not None and r.backend == "classical"
        [entry] = gh.entries(doc)
        req = r.request
        for i in range(2):
            layer_px, shown = variant_layer(r, i), variant_over_original(r, i)
            assert layer_px.shape == (r.rect.h, r.rect.w, 4) and shown.shape[2] == 3
            # The fill really changed the picture: the red square is gone / the strip is new.
            if op == "inpaint":
                inside = shown[SELECTION.translated(-r.rect.x, -r.rect.y).slices()]
                assert inside[..., 0].mean() < 120 and inside[..., 2].mean() > 150
            else:
                assert isinstance(req, OutpaintRequest)
                new = shown[req.layout.area.slices(r.rect.x, r.rect.y)]
                assert np.abs(new.astype(int) - 255).mean() > 40   # not the white base
            # The canvas preview: variant_layer, where the canvas is before it grows.
            ai.strip.setCurrentRow(i)
            assert ai.preview is not None
            image, rect = ai.preview
            assert np.array_equal(qimage_to_array(image), layer_px)
            if op == "outpaint":
                assert rect == r.rect.translated(-32, 0) and rect.x == -32 + r.rect.x
            else:
                assert rect == r.rect
            # The strip's thumbnail and the history's: variant_over_original.
            assert _icon_image(ai.strip.item(i)) == _pixmap(shown, THUMB).toImage()\
                .convertToFormat(QImage.Format.Format_RGB32)
            assert entry.thumbnails[i] == gh.thumbnail_png(shown)
            # Apply adds exactly variant_layer; the document then shows variant_over_original.
            layer = ai.apply(i)
            assert layer is not None
            assert np.array_equal(layer.read(r.rect), layer_px)
            after = doc.flatten(r.rect)
            assert after[..., 3].min() == 255
            assert np.abs(after[..., :3].astype(int) - shown.astype(int)).max() <= 1
            # Outside the variation's alpha the thumbnail is the original picture, exactly.
            off = r.alpha == 0
            assert off.any() and np.array_equal(shown[off], original_rgb(r)[off])
            win.undo()
            assert (doc.width, doc.height) == size0 and np.array_equal(doc.flatten(), before)
    finally:
        gen.shutdown()

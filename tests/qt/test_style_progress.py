"""The Style dock's live progress: the bar follows the expected time of a job (work pixels /
the speed measured on earlier jobs), tiles pin it, it never claims to be done early, and a
finished job teaches the speed. Time is a controlled clock here: no real waiting."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QProgressBar

from aiart_desktop.ai.backends.style import CONTEXT_MARGIN
from aiart_desktop.ai.capture import make_request
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.qt.panels import style_progress as sp


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(sp.time, "perf_counter", lambda: now[0])
    return now


def test_the_bar_moves_with_the_expected_time_and_learns_the_speed(qtbot, clock) -> None:
    bar = QProgressBar()
    qtbot.addWidget(bar)
    meter = sp.StyleProgress(bar)
    meter.rates["builtin"] = 1e6                 # a million network pixels a second
    meter.start("builtin", 3e6)                  # a 3 s job
    assert meter.estimate_s == pytest.approx(3.0) and bar.value() == 0
    assert "about 3 s left" in bar.format()
    clock[0] += 1.5
    meter._tick()
    assert bar.value() == pytest.approx(sp.STEPS // 2, abs=2) and "about 2 s left" in bar.format()
    clock[0] += 10.0                             # slower than expected: it waits at 95 %
    meter._tick()
    assert bar.value() == int(0.95 * sp.STEPS) and bar.format() == "almost done"
    took = meter.finish(True)
    assert took == pytest.approx(11.5) and bar.value() == sp.STEPS
    assert meter.rates["builtin"] == pytest.approx(0.5 * 1e6 + 0.5 * 3e6 / 11.5)
    # Tiles pin the bar: 2 of 4 done is at least half, whatever the clock says.
    meter.start("builtin", 4e6)
    meter.tiles(2, 4)
    assert bar.value() >= sp.STEPS // 2
    meter.finish(False)                          # cancelled: teaches nothing
    assert meter.rates["builtin"] == pytest.approx(0.5 * 1e6 + 0.5 * 3e6 / 11.5)


def test_work_pixels_are_what_the_engine_styles() -> None:
    doc = Document.new(800, 600, (200, 200, 200, 255))
    doc.set_selection(sel.rect_mask(800, 600, Rect(250, 200, 300, 200)))
    req = make_request(doc, "style", style="Style 1")
    side = (300 + 2 * CONTEXT_MARGIN, 200 + 2 * CONTEXT_MARGIN)
    assert sp.work_pixels(req, "builtin") == side[0] * side[1]
    half = make_request(doc, "style", style="Style 1", style_scale=2.0)
    assert sp.work_pixels(half, "builtin") == pytest.approx(side[0] * side[1] / 4, rel=0.02)
    pic = make_request(doc, "style", style="mine", style_image=np.full((32, 32, 3), 9, np.uint8))
    assert sp.work_pixels(pic, "user") == 384 * 384   # one fixed-size tile

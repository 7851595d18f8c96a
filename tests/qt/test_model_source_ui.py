"""The UI thread never imports torch for the model list: an allowed pickle checkpoint is read
once, on a thread of the model manager's own, and afterwards the AI panel lists it from the
registry's cache (checked in a fresh process, where sys.modules shows every import)."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aiart_desktop.ai.backends.local import pickle_facts
from aiart_desktop.ai.models.checkpoints import ModelFacts
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.qt.dialogs.model_manager import ModelManagerDialog
from tests.support.ldm_checkpoint import write_sd15_pickle

WAIT = 60_000
HEAVY = ("torch", "diffusers", "transformers")

# A fresh interpreter: the AI panel (with its worker thread) lists the models folder given as
# argv[1]; every attempt to import torch & co. is recorded (none may happen).
REFRESH = f"""
import importlib.abc, json, sys

tried = []

class Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {HEAVY!r}:
            tried.append(name)
        return None

sys.meta_path.insert(0, Spy())
from PySide6.QtWidgets import QApplication

app = QApplication([])
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.qt.panels.ai_panel import AiPanel
from aiart_desktop.qt.worker import AiWorker

worker = AiWorker(device="cpu")
panel = AiPanel(worker, registry=ModelRegistry(sys.argv[1], allow_pickle=True))
panel.refresh_models()
combo = panel.form.model
items = [[combo.itemData(i), combo.itemText(i)] for i in range(combo.count())]
worker.shutdown()
print(json.dumps({{"items": items, "tried": tried,
                  "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


@pytest.fixture(scope="module")
def pickle_ckpt(model_folders, tmp_path_factory) -> Path:
    return write_sd15_pickle(model_folders["sd"], tmp_path_factory.mktemp("pickle") / "old.ckpt")


def _refresh_elsewhere(root: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", REFRESH, str(root)], capture_output=True,
                       text=True, timeout=240, cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_model_manager_reads_a_pickle_off_the_ui_thread_then_the_panel_lists_it_without_torch(
        qtbot, tmp_path, pickle_ckpt) -> None:
    threads: list[bool] = []

    def reader(path: Path) -> ModelFacts:
        threads.append(threading.current_thread() is threading.main_thread())
        return pickle_facts(path)

    root = tmp_path / "models"
    dlg = ModelManagerDialog(ModelRegistry(root, allow_pickle=False, read_pickle=reader),
                             ask_checkpoint=lambda _parent, _allow: str(pickle_ckpt))
    qtbot.addWidget(dlg)
    dlg.allow_pickle.setChecked(True)
    with qtbot.waitSignal(dlg.models_changed, timeout=WAIT):
        assert dlg.add_checkpoint() is None  # it is read on its own thread
        assert dlg.add_thread is not None and not dlg.add_file_button.isEnabled()
        assert "old.ckpt" in dlg.message.text()
    assert dlg.add_thread is None and dlg.add_file_button.isEnabled()
    assert threads == [False]  # read once, not on the UI thread
    rows = [dlg.installed.topLevelItem(i) for i in range(dlg.installed.topLevelItemCount())]
    assert [(r.text(0), r.text(1)) for r in rows] == [("old", "SD 1.5 / 2.x")]
    assert "Added old" in dlg.message.text()
    dlg.refresh()
    assert threads == [False]  # listing again reads nothing
    # A fresh process lists it in the AI panel, and never imports torch.
    out = _refresh_elsewhere(root)
    assert out["tried"] == [] and out["loaded"] == []
    assert out["items"][0] == ["old", "old  (SD)"] and out["items"][-1][0] == "classical"


def test_without_the_cache_the_panel_still_lists_the_pickle_without_torch(
        tmp_path, pickle_ckpt) -> None:
    """A pickle added before the cache existed (or changed since): listed with provisional
    facts, nothing read; the engine reads it on the worker thread at its first job."""
    root = tmp_path / "models"
    ModelRegistry(root, allow_pickle=True).add_checkpoint(pickle_ckpt)
    (root / "file-facts.json").unlink()
    out = _refresh_elsewhere(root)
    assert out["tried"] == [] and out["loaded"] == []
    assert [i[0] for i in out["items"]] == ["old", "classical"]

"""The model manager dialog: installed models with kind and size, the catalogue with size and
licence, adding a folder or a .safetensors file, refusing pickles unless allowed, removing,
downloads on a background thread with progress / cancel / resume, and a clear offline message.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aiart_desktop.ai.models import downloads
from aiart_desktop.ai.models.catalogue import catalogue_entry
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.qt.dialogs.model_manager import ModelManagerDialog
from tests.support.dock import dock_window, set_form
from tests.support.loopback_hub import LoopbackServer, closed_port, real_hub

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
WAIT = 120_000  # an upper bound (a loaded 2-core machine is slow); a pass takes seconds


class Answers:
    def __init__(self) -> None:
        self.folder: str | None = None
        self.file: str | None = None
        self.confirm = True
        self.asked: list[tuple[str, object]] = []

    def kwargs(self) -> dict:
        return dict(ask_folder=self._folder, ask_checkpoint=self._file, confirm=self._confirm)

    def _folder(self, parent) -> str | None:
        self.asked.append(("folder", None))
        return self.folder

    def _file(self, parent, allow_pickle: bool) -> str | None:
        self.asked.append(("file", allow_pickle))
        return self.file

    def _confirm(self, parent, text: str) -> bool:
        self.asked.append(("confirm", text))
        return self.confirm


@pytest.fixture
def source(tiny_registry) -> Path:
    return tiny_registry.resolve("tiny-sd").path


def _dialog(qtbot, root: Path, answers: Answers) -> ModelManagerDialog:
    dlg = ModelManagerDialog(ModelRegistry(root, allow_pickle=False), **answers.kwargs())
    qtbot.addWidget(dlg)
    return dlg


def _rows(tree) -> list[list[str]]:
    return [[tree.topLevelItem(i).text(c) for c in range(tree.columnCount())]
            for i in range(tree.topLevelItemCount())]


def test_lists_catalogue_adds_folder_and_removes(qtbot, tmp_path, source) -> None:
    answers = Answers()
    dlg = _dialog(qtbot, tmp_path / "models", answers)
    assert dlg.installed.topLevelItemCount() == 0
    cat = _rows(dlg.catalogue)
    names = [r[0] for r in cat]
    assert "SD-Turbo" in names and any("Inpainting" in n for n in names)
    turbo = cat[names.index("SD-Turbo")]
    assert turbo[1] == "2.6 GB" and "Stability" in turbo[2] and turbo[3] == "Not downloaded"
    dlg.catalogue.setCurrentItem(dlg.catalogue.topLevelItem(names.index("SD-Turbo")))
    assert "Licence" in dlg.details.text() and dlg.download_button.isEnabled()
    changed: list[bool] = []
    dlg.models_changed.connect(lambda: changed.append(True))
    answers.folder = str(source)
    QTest.mouseClick(dlg.add_folder_button, Qt.MouseButton.LeftButton)
    rows = _rows(dlg.installed)
    assert len(rows) == 1 and rows[0][1] == "SD 1.5 / 2.x" and rows[0][3] == str(source)
    assert rows[0][2].endswith(("KB", "MB")) and changed
    # A missing folder: a clear message naming it, nothing added.
    answers.folder = str(tmp_path / "nowhere")
    dlg.add_folder()
    assert "nowhere" in dlg.message.text() and dlg.installed.topLevelItemCount() == 1
    dlg.installed.setCurrentItem(dlg.installed.topLevelItem(0))
    QTest.mouseClick(dlg.remove_button, Qt.MouseButton.LeftButton)
    assert dlg.installed.topLevelItemCount() == 0 and source.exists()  # files left alone


def test_safetensors_added_pickles_refused_unless_allowed(qtbot, tmp_path, source) -> None:
    answers = Answers()
    dlg = _dialog(qtbot, tmp_path / "models", answers)
    ckpt = tmp_path / "dream.ckpt"
    ckpt.write_bytes(b"not really a pickle")
    answers.file = str(ckpt)
    assert dlg.add_checkpoint() is None
    assert answers.asked[-1] == ("file", False)
    assert "Refused" in dlg.message.text() and "pickle" in dlg.message.text()
    dlg.allow_pickle.setChecked(True)
    dlg.add_checkpoint()  # allowed now (read on a thread), but not a checkpoint: a clear error
    assert answers.asked[-1] == ("file", True) and dlg.add_thread is not None
    qtbot.waitUntil(lambda: dlg.add_thread is None, timeout=WAIT)
    assert "“dream.ckpt”" in dlg.message.text() and "not a checkpoint" in dlg.message.text()
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 4)
    answers.file = str(bad)
    assert dlg.add_checkpoint() is None and "broken.safetensors" in dlg.message.text()
    assert dlg.installed.topLevelItemCount() == 0


class _FakeHub:
    """Stands in for the Hugging Face hub (there is no network here): serves a local folder's
    files through huggingface_hub's tqdm_class protocol, in small chunks."""

    def __init__(self, source: Path, fail: Exception | None = None) -> None:
        self.source, self.fail = source, fail

    def snapshot_download(self, repo_id: str, local_dir: str, dry_run: bool) -> list:
        if self.fail:
            raise self.fail
        return [SimpleNamespace(filename=str(p.relative_to(self.source)),
                                file_size=p.stat().st_size)
                for p in sorted(self.source.rglob("*")) if p.is_file()]

    def hf_hub_download(self, repo_id: str, filename: str, local_dir: str, tqdm_class) -> str:
        data = (self.source / filename).read_bytes()
        out = Path(local_dir) / filename
        out.parent.mkdir(parents=True, exist_ok=True)
        bar = tqdm_class(total=len(data), initial=0)
        with open(out, "wb") as f:
            for i in range(0, len(data), 16384):
                f.write(data[i:i + 16384])
                bar.update(len(data[i:i + 16384]))
        return str(out)


def test_download_progress_cancel_resume(qtbot, tmp_path, source, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(downloads, "_hub", lambda: _FakeHub(source))
    answers = Answers()
    dlg = _dialog(qtbot, tmp_path / "models", answers)
    names = [r[0] for r in _rows(dlg.catalogue)]
    dlg.catalogue.setCurrentItem(dlg.catalogue.topLevelItem(names.index("SD-Turbo")))
    seen: list[int] = []

    def progress(done: int, total: int, name: str) -> None:
        seen.append(done)
        if len(seen) == 5:
            dlg.cancel_download()

    dlg.download_thread = None
    assert dlg.download_selected()
    dlg.download_thread.progress.connect(progress)
    assert not dlg.download_button.isEnabled() and dlg.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dlg.download_thread is None, timeout=WAIT)
    assert "cancelled" in dlg.message.text() and "resumes" in dlg.message.text()
    assert _rows(dlg.catalogue)[names.index("SD-Turbo")][3] == "Partly downloaded"
    assert ["SD-Turbo", "partly downloaded"] == _rows(dlg.installed)[0][:2]
    # Resume to the end: verified, listed as installed.
    assert dlg.download_selected()
    qtbot.waitUntil(lambda: dlg.download_thread is None, timeout=WAIT)
    assert "downloaded and verified" in dlg.message.text() and dlg.progress.value() == 1000
    assert _rows(dlg.catalogue)[names.index("SD-Turbo")][3] == "Installed"
    assert "SD-Turbo" in [r[0] for r in _rows(dlg.installed)]
    # Deleting a download asks first.
    row = [r[0] for r in _rows(dlg.installed)].index("SD-Turbo")
    dlg.installed.setCurrentItem(dlg.installed.topLevelItem(row))
    answers.confirm = False
    assert not dlg.remove_selected()
    answers.confirm = True
    assert dlg.remove_selected() and not (tmp_path / "models" / "sd-turbo").exists()


def _plain(text: str) -> None:
    """At most two short lines, no Python exception names, no URL."""
    lines = text.splitlines()
    assert 1 <= len(lines) <= 2 and all(len(line) <= 130 for line in lines), text
    assert not re.search(r"[a-z][A-Z]\w*(Error|Exception)\b|Traceback|http", text), text


def _download(qtbot, dlg: ModelManagerDialog, name: str) -> None:
    names = [r[0] for r in _rows(dlg.catalogue)]
    dlg.catalogue.setCurrentItem(dlg.catalogue.topLevelItem(names.index(name)))
    QTest.mouseClick(dlg.download_button, Qt.MouseButton.LeftButton)
    assert dlg.download_thread is not None
    qtbot.waitUntil(lambda: dlg.download_thread is None, timeout=WAIT)


def test_offline_download_says_so_in_words_and_leaves_no_entry(qtbot, tmp_path, monkeypatch
                                                               ) -> None:
    dlg = _dialog(qtbot, tmp_path / "models", Answers())
    dlg.show()
    # Nothing installed: the table's place says what to do.
    assert dlg.empty_hint.isVisible() and not dlg.installed.isVisible()
    hint = dlg.empty_hint.text()
    assert "Download one of the recommended models" in hint and ".safetensors" in hint
    assert dlg.add_file_button.text() in hint and dlg.add_folder_button.text() in hint
    _download(qtbot, dlg, "SD-Turbo")  # HF_HUB_OFFLINE=1, as in every test
    assert "offline mode is on" in dlg.message.text()
    _plain(dlg.message.text())
    # The real hub client, no server reachable: what a user without a connection sees.
    real_hub(monkeypatch, closed_port())
    _download(qtbot, dlg, "SD-Turbo")
    text = dlg.message.text()
    _plain(text)
    assert text.startswith("Cannot download SD-Turbo: no internet connection")
    assert "DryRun" not in text and "token" not in text
    # How to use a model the user already has, naming the buttons that do it.
    assert dlg.add_file_button.text() in text and dlg.add_folder_button.text() in text
    # No phantom: nothing listed, nothing left on disk, still "Not downloaded".
    assert dlg.installed.topLevelItemCount() == 0 and dlg.empty_hint.isVisible()
    assert not (tmp_path / "models" / "sd-turbo").exists()
    names = [r[0] for r in _rows(dlg.catalogue)]
    assert _rows(dlg.catalogue)[names.index("SD-Turbo")][3] == "Not downloaded"
    # The message sits under the tables, not in a column.
    assert dlg.message.isVisible()
    assert dlg.message.geometry().top() > dlg.installed_stack.geometry().bottom()
    # A server refusing (a gated model): said as such, not as "no connection".
    with LoopbackServer(401, {"X-Error-Code": "GatedRepo"}) as server:
        real_hub(monkeypatch, server.url)
        _download(qtbot, dlg, "SD-Turbo")
    _plain(dlg.message.text())
    assert "needs a Hugging Face login" in dlg.message.text()


def test_partial_download_listed_and_explained_under_the_table(qtbot, tmp_path, source,
                                                                monkeypatch) -> None:
    models = tmp_path / "models"
    # A real partial download of SD-Turbo (one finished file), and an empty folder an older
    # version left for the preview decoder: only the first is listed.
    shutil.copytree(source / "unet", models / "sd-turbo" / "unet")
    (models / "taesd" / ".cache" / "huggingface").mkdir(parents=True)
    dlg = _dialog(qtbot, models, Answers())
    dlg.show()
    rows = _rows(dlg.installed)
    assert len(rows) == 1 and dlg.installed.isVisible() and not dlg.empty_hint.isVisible()
    name, kind, size, where = rows[0]
    assert (name, kind, where) == ("SD-Turbo", "partly downloaded", str(models / "sd-turbo"))
    assert size.endswith(("KB", "MB"))
    cat = {r[0]: r[3] for r in _rows(dlg.catalogue)}
    assert cat["SD-Turbo"] == "Partly downloaded"
    assert cat[catalogue_entry("taesd").name] == "Not downloaded"
    assert "cannot be used yet" in dlg.installed_note.text()
    dlg.installed.setCurrentItem(dlg.installed.topLevelItem(0))
    note = dlg.installed_note.text()
    assert dlg.installed_note.isVisible() and "Download to resume" in note
    _plain(note)
    # A broken added checkpoint: its row names it and where it is; the reason is the note.
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 64)
    (models / "registry.json").write_text(json.dumps({"version": 1, "models": [
        {"id": "broken", "name": "broken", "path": str(bad), "source": "checkpoint"}]}))
    dlg.refresh()
    row = [r[0] for r in _rows(dlg.installed)].index("broken")
    assert _rows(dlg.installed)[row] == ["broken", "cannot be used", "", str(bad)]
    dlg.installed.setCurrentItem(dlg.installed.topLevelItem(row))
    assert "\u201cbroken.safetensors\u201d is not a valid .safetensors" in dlg.installed_note.text()
    _plain(dlg.installed_note.text())


def test_manager_from_the_dock_refreshes_the_model_picker(qtbot, win, tmp_path, source
                                                         ) -> None:
    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.qt.ai_dock import open_model_manager

    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    panel = dock_window(win, reg, default_engine(reg, device="cpu"))
    try:
        assert panel.form.model.count() == 1 and panel.form.no_model.isVisible()
        dlg = open_model_manager(win, panel)
        copy = tmp_path / "mine"
        shutil.copytree(source, copy)
        dlg.ask_folder = lambda parent: str(copy)
        dlg.add_folder()
        assert panel.form.model.count() == 2 and not panel.form.no_model.isVisible()
        assert panel.form.current_model() == "mine"
        dlg.close()
    finally:
        panel.worker.shutdown()
    assert not panel.worker.running


# ---- IP-Adapter: offered, downloaded and added here; its strength shows in the AI form ----------
def _hub_folder(tmp_path: Path, source: Path) -> Path:
    """The tiny adapter in the h94/IP-Adapter layout, plus files the app must not fetch."""
    from tests.support.tiny_ip_adapter import build_ip_adapter

    hub = build_ip_adapter(tmp_path / "hub", source)
    shutil.copy(hub / "models" / "ip-adapter_sd15.safetensors",
                hub / "models" / "ip-adapter-plus_sd15.safetensors")
    (hub / "models" / "ip-adapter_sd15.bin").write_bytes(b"pickle, never fetched")
    (hub / "models" / "image_encoder" / "pytorch_model.bin").write_bytes(b"never fetched")
    return hub


def test_ip_adapter_offered_downloaded_and_added_but_never_a_model(
        qtbot, tmp_path, source, monkeypatch) -> None:
    hub = _hub_folder(tmp_path, source)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(downloads, "_hub", lambda: _FakeHub(hub))
    answers = Answers()
    dlg = _dialog(qtbot, tmp_path / "models", answers)
    cat = _rows(dlg.catalogue)
    names = [r[0] for r in cat]
    sd15 = cat[names.index("IP-Adapter SD 1.5")]
    assert sd15[1:] == ["2.6 GB", "Apache-2.0", "Not downloaded"]
    assert cat[names.index("IP-Adapter SDXL")][1] == "4.4 GB"
    dlg.catalogue.setCurrentItem(dlg.catalogue.topLevelItem(names.index("IP-Adapter SD 1.5")))
    assert "Works with: SD 1.5 models" in dlg.details.text()
    assert dlg.download_selected()
    qtbot.waitUntil(lambda: dlg.download_thread is None, timeout=WAIT)
    assert "downloaded and verified" in dlg.message.text() and "AI panel" in dlg.message.text()
    folder = tmp_path / "models" / "ip-adapter-sd15"
    fetched = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                     if p.is_file() and ".cache" not in p.parts)
    assert fetched == ["models/image_encoder/config.json",
                       "models/image_encoder/model.safetensors",
                       "models/ip-adapter_sd15.safetensors"]
    assert _rows(dlg.catalogue)[names.index("IP-Adapter SD 1.5")][3] == "Installed"
    rows = _rows(dlg.installed)
    assert rows[0][:2] == ["IP-Adapter SD 1.5", "IP-Adapter (cross-attention 32)"]
    assert dlg.registry.diffusion_models() == []  # an add-on, never a model to paint with
    # A folder of the user's: added (and refused with its name when it is not an adapter).
    answers_folder = tmp_path / "mine"
    shutil.copytree(hub / "models", answers_folder)
    dlg.ask_adapter = lambda parent: str(tmp_path / "models")
    assert dlg.add_ip_adapter() is None and "Could not add the IP-Adapter" in dlg.message.text()
    dlg.ask_adapter = lambda parent: str(answers_folder)
    info = dlg.add_ip_adapter()
    assert info is not None and info.encoder == "image_encoder"
    assert "cross-attention 32" in dlg.message.text()
    assert [r[0] for r in _rows(dlg.installed)] == ["IP-Adapter SD 1.5", "mine"]
    # Removing: the download's files are deleted (asked first), the added folder is kept.
    for row in (1, 0):
        dlg.installed.setCurrentItem(dlg.installed.topLevelItem(row))
        assert dlg.remove_selected()
    assert dlg.installed.topLevelItemCount() == 0
    assert not folder.exists() and answers_folder.is_dir()


def test_ip_adapter_strength_in_the_ai_form_runs_records_and_comes_back(
        qtbot, win, tmp_path, source, stop_workers) -> None:
    from PIL import Image

    from aiart_desktop.ai.setup import default_engine
    from aiart_desktop.qt.ai_dock import open_model_manager
    from tests.support.tiny_ip_adapter import build_ip_adapter
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_folder(source, name="tiny-sd")
    panel = dock_window(win, reg, default_engine(reg, device="cpu"))
    stop_workers.append(panel.worker)  # install_ai_dock gave the form its IP-Adapter lookup
    f = panel.form
    set_form(panel, op="txt2img", model="tiny-sd", batch=1, steps=2)
    # No adapter yet: Generate shows no reference; Refine shows the hint, linking to the
    # model manager.
    assert not f.reference.isVisibleTo(panel) and not f.ip_scale.isVisibleTo(panel)
    f.set_op("img2img")
    assert f.ip_hint.isVisibleTo(panel) and "Models…" in f.ip_hint.text()
    assert not f.ip_scale.isVisibleTo(panel)
    asked: list[bool] = []
    f.manage_models.connect(lambda: asked.append(True))
    f.ip_hint.linkActivated.emit("models")
    assert asked
    # Installed from the model manager: the strength shows; the picker still has one model.
    dlg = open_model_manager(win, panel)
    adapter = build_ip_adapter(tmp_path / "adapter", source)
    dlg.ask_adapter = lambda parent: str(adapter)
    assert dlg.add_ip_adapter() is not None
    dlg.close()
    assert f.model.count() == 2 and f.ip_adapter_name() == "adapter"
    assert f.ip_scale.isVisibleTo(panel)
    f.set_reference("Style 2")  # a built-in style cannot drive the adapter: the hint says so
    assert "follows a picture" in f.ip_hint.text()
    p = f.params()
    assert p["style_reference"] == "Style 2" and "ip_adapter_scale" not in p
    # Generate with a reference picture at 80 %.
    ref = tmp_path / "sunset.png"
    Image.fromarray(np.tile(np.array([[[250, 120, 20]]], np.uint8), (40, 40, 1))).save(ref)
    f.set_op("txt2img")
    assert f.reference.isVisibleTo(panel) and f.ip_scale.isVisibleTo(panel)
    f.set_reference(str(ref))
    f.ip_scale.set_value(80)
    p = f.params()
    assert p["ip_adapter_scale"] == 0.8 and p["ip_adapter_image"].shape == (40, 40, 3)
    assert "style_reference" not in p
    assert panel.generate()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    assert panel.result is not None, panel.error.text()
    rec = panel.result.record(0)
    assert rec["ip_adapter"] == "adapter" and rec["ip_adapter_scale"] == 0.8
    assert rec["ip_adapter_reference"] == str(ref) and len(rec["ip_adapter_sha256"]) == 64
    # Re-generate puts the picture and the strength back.
    f.set_reference("")
    f.ip_scale.set_value(10)
    assert panel.regenerate()
    assert f.reference.currentData() == str(ref) and f.ip_scale.value() == 80
    # The classical fill offers neither the strength nor the hint.
    f.model.setCurrentIndex(f.model.findData("classical"))
    assert not f.ip_scale.isVisibleTo(panel) and not f.ip_hint.isVisibleTo(panel)



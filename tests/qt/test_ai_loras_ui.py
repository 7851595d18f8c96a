"""The AI dock's LoRAs section and the model manager's add-on tabs with real widgets, real
LoRA / embedding / ControlNet files built for the tiny models, and a real models folder: the
picker offers what fits the picked model, rows become the request's `LoraRef`s, a trigger word
goes into the prompt with one click, Add LoRA… refuses a pickle or a damaged file with two
lines naming it, and the manager lists, adds and removes LoRAs, embeddings and control
models."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aiart_desktop.ai.conditioning import LoraRef
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.requests import CLASSICAL
from aiart_desktop.ai.setup import default_engine
from tests.support.dock import dock_window, make_doc, set_form
from tests.support.tiny_loras import build_embedding, build_lora, build_pickle, tag_frequency

WAIT = 120_000  # an upper bound (a loaded 2-core machine is slow); a pass takes seconds
SDXL_META = {"ss_base_model_version": "sdxl_base_v1-0"}
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def lora_files(tmp_path_factory: pytest.TempPathFactory, tiny_registry: ModelRegistry
               ) -> dict[str, Path]:
    """LoRA files for the tiny SD model: one with trigger words (kohya layout), one saying it
    is for SDXL, one to add from the dock; a pickle and a truncated file."""
    base = tmp_path_factory.mktemp("lora-files")
    sd = tiny_registry.resolve("tiny-sd").path
    files = {
        "inkwash": build_lora(sd, base / "inkwash.safetensors", layout="kohya",
                              metadata=tag_frequency({"inkwash": 12, "sumi-e": 5, "brush": 2})),
        "xl_style": build_lora(sd, base / "xl_style.safetensors", metadata=SDXL_META),
        "new_look": build_lora(sd, base / "new_look.safetensors", seed=3,
                               metadata=tag_frequency({"newlook": 3})),
        "pickle": build_pickle(base / "old_lora.pt"),
        "embedding": build_embedding(base / "badhands.safetensors"),
    }
    data = files["new_look"].read_bytes()
    (base / "cut_short.safetensors").write_bytes(data[: len(data) // 2])
    files["cut"] = base / "cut_short.safetensors"
    return files


@pytest.fixture
def lora_registry(tmp_path: Path, tiny_registry: ModelRegistry, lora_files: dict[str, Path]
                  ) -> ModelRegistry:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    for mid in ("tiny-sd", "tiny-inpaint"):
        reg.add_folder(tiny_registry.resolve(mid).path, name=mid)
    reg.add_lora(lora_files["inkwash"])
    reg.add_lora(lora_files["xl_style"])
    return reg


def _panel(win, stop_workers, registry: ModelRegistry):
    panel = dock_window(win, registry, default_engine(registry, device="cpu"), make_doc())
    stop_workers.append(panel.worker)
    set_form(panel, op="txt2img", model="tiny-sd", batch=1, steps=1)
    return panel


def test_lora_rows_reach_the_request_and_trigger_words_the_prompt(
        qtbot, win, stop_workers, lora_registry) -> None:
    panel = _panel(win, stop_workers, lora_registry)
    section = panel.form.loras_section
    assert not section.is_open() and section.toggle.text() == "LoRAs"   # folded
    section.set_open(True)
    picker = section.picker
    texts = [picker.itemText(i) for i in range(picker.count())]
    assert texts == ["Pick a LoRA to add…", "inkwash", "xl_style (for SDXL)"]
    items = picker.model()
    assert items.item(1).isEnabled() and not items.item(2).isEnabled()
    assert section.add_lora("xl_style") is not None   # by id it is added, but left out
    assert section.lora_refs() == [] and "SDXL" in section.rows[0].note.text()
    section.remove_row(section.rows[0])
    picker.setCurrentIndex(1)
    picker.activated.emit(1)                          # picked from the list
    assert [r.lora_id for r in section.rows] == ["inkwash"]
    row = section.rows[0]
    assert row.weight.value() == 1.0 and row.weight.minimum() == -4 and row.weight.maximum() == 4
    assert not items.item(1).isEnabled()              # not twice
    row.weight.setValue(0.7)
    assert section.toggle.text() == "LoRAs (1)"
    # Its trigger words, most frequent first; one click puts one in the prompt.
    assert [b.text() for b in row.trigger_buttons] == ["inkwash", "sumi-e", "brush"]
    panel.form.prompt.setPlainText("a heron by a lake")
    QTest.mouseClick(row.trigger_buttons[0], Qt.MouseButton.LeftButton)
    assert panel.form.prompt.toPlainText() == "a heron by a lake, inkwash"
    QTest.mouseClick(row.trigger_buttons[0], Qt.MouseButton.LeftButton)   # not twice
    assert panel.form.prompt.toPlainText() == "a heron by a lake, inkwash"
    # Generate's request carries the LoRA at its weight.
    assert panel.form.params()["loras"] == (LoraRef("inkwash", 0.7),)
    assert panel.generate() is not None
    req = panel._job_request
    assert req is not None and req.loras == (LoraRef("inkwash", 0.7),)
    assert "inkwash" in req.prompt
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    # Fill selection takes it too; a record's LoRAs come back with Load settings.
    set_form(panel, op="inpaint", model="tiny-inpaint", batch=1, steps=1)
    assert panel._make_request(panel.doc).loras == (LoraRef("inkwash", 0.7),)
    rec = panel._make_request(panel.doc).to_record()
    QTest.mouseClick(row.remove, Qt.MouseButton.LeftButton)
    assert section.rows == [] and "loras" not in panel.form.params()
    panel.form.fill_from_record(rec)
    assert [(r.lora_id, r.weight.value()) for r in section.rows] == [("inkwash", 0.7)]
    # The classical fill uses none: disabled, saying why.
    panel.form.model.setCurrentIndex(panel.form.model.findData(CLASSICAL))
    assert not section.body.isEnabled() and "classical fill" in section.toggle.toolTip()
    assert "loras" not in panel.form.params()


def test_add_lora_refuses_a_pickle_and_a_damaged_file_naming_them(
        qtbot, win, prompts, stop_workers, lora_registry, lora_files) -> None:
    panel = _panel(win, stop_workers, lora_registry)
    section = panel.form.loras_section
    section.set_open(True)
    for key, name, why in (("pickle", "old_lora.pt", "pickle"),
                           ("cut", "cut_short.safetensors", "truncated")):
        prompts.addon_path = str(lora_files[key])
        QTest.mouseClick(section.add_file, Qt.MouseButton.LeftButton)
        text = section.message.text()
        assert section.message.isVisibleTo(section) and name in text and why in text, text
        assert len(text.splitlines()) <= 2 and section.rows == []
    assert prompts.asked.count("addon:lora") == 2
    assert not (lora_registry.lora_folder() / "cut_short.safetensors").exists()
    # A good file is added, picked and its trigger word offered.
    prompts.addon_path = str(lora_files["new_look"])
    QTest.mouseClick(section.add_file, Qt.MouseButton.LeftButton)
    assert [r.lora_id for r in section.rows] == ["new_look"]
    assert [b.text() for b in section.rows[0].trigger_buttons] == ["newlook"]
    assert "Added new_look" in section.message.text()
    assert "new_look" in [i.id for i in lora_registry.loras()]
    # Cancelled: nothing asked of the registry, nothing said.
    prompts.addon_path = None
    assert section.add_from_file() is None


def test_the_model_manager_lists_adds_and_removes_addons(
        qtbot, win, stop_workers, lora_registry, lora_files, tiny_registry, tmp_path) -> None:
    from aiart_desktop.qt.ai_dock import open_model_manager
    from tests.support.tiny_controlnets import build_controlnet, save_single_file

    panel = _panel(win, stop_workers, lora_registry)
    asked: list[str] = []
    answers: dict[str, str] = {}

    def ask(_parent, kind: str) -> str | None:
        asked.append(kind)
        return answers.get(kind)

    dlg = open_model_manager(win, panel)
    dlg.ask_addon, dlg.confirm = ask, (lambda _parent, _text: True)
    tabs = [dlg.tabs.tabText(i) for i in range(dlg.tabs.count())]
    assert tabs == ["Models", "LoRAs", "Embeddings", "Control models"]
    loras = dlg.addon_tabs["lora"]
    names = [loras.tree.topLevelItem(i).text(0) for i in range(loras.tree.topLevelItemCount())]
    assert sorted(names) == ["inkwash", "xl_style"]
    # An embedding from a file; a pickle refused, naming it.
    emb = dlg.addon_tabs["embedding"]
    answers["embedding"] = str(lora_files["pickle"])
    assert emb.add() is None and "old_lora.pt" in emb.message.text()
    assert len(emb.message.text().splitlines()) <= 2
    answers["embedding"] = str(lora_files["embedding"])
    assert emb.add() is not None and emb.tree.topLevelItemCount() == 1
    assert emb.tree.topLevelItem(0).text(0) == "badhands"
    # Control models: empty, a hint; the catalogue offers ControlNets and detectors.
    ctl = dlg.addon_tabs["control"]
    assert ctl.tree.topLevelItemCount() == 0 and ctl.hint.isVisibleTo(ctl)
    offered = [dlg.catalogue.topLevelItem(i).text(0)
               for i in range(dlg.catalogue.topLevelItemCount())]
    assert "ControlNet Line art (SD 1.5)" in offered
    assert any("Depth Anything" in n for n in offered)
    dlg.tabs.setCurrentWidget(ctl)    # the downloads list offers control models only
    shown = [dlg.catalogue.topLevelItem(i).text(0)
             for i in range(dlg.catalogue.topLevelItemCount())
             if not dlg.catalogue.topLevelItem(i).isHidden()]
    assert "ControlNet Union (SDXL)" in shown and "SD-Turbo" not in shown
    assert all("ControlNet" in n or "detector" in n for n in shown)
    # A line-art control row says what is missing until a control model is added.
    doc = panel.doc
    doc.add_layer("Sketch")
    row = panel.form.controls_section.add_active("lineart")
    assert row is not None and "No Line art control model" in row.note.text()
    cn = build_controlnet(tmp_path / "control_lineart_tiny",
                          tiny_registry.resolve("tiny-sd").path)
    answers["control-folder"] = str(cn)
    info = ctl.add(folder=True)
    assert info is not None and info.arch == "sd" and "lineart" in info.kinds
    assert ctl.tree.topLevelItem(0).text(1) == "SD 1.5 · Line art"
    assert row.note.text() == ""   # the panel heard the manager
    single = save_single_file(cn, tmp_path / "control_canny_tiny.safetensors")
    answers["control"] = str(single)
    assert ctl.add() is not None and ctl.tree.topLevelItemCount() == 2
    # Remove: the LoRA file is deleted, the added control model only leaves the list.
    loras.tree.setCurrentItem(next(loras.tree.topLevelItem(i)
                                   for i in range(loras.tree.topLevelItemCount())
                                   if loras.tree.topLevelItem(i).text(0) == "inkwash"))
    assert loras.remove_selected()
    assert [i.id for i in lora_registry.loras()] == ["xl_style"]
    picker = panel.form.loras_section.picker
    assert [picker.itemText(i) for i in range(picker.count())] == [
        "Pick a LoRA to add…", "xl_style (for SDXL)"]
    for _ in range(2):
        ctl.tree.setCurrentItem(ctl.tree.topLevelItem(0))
        assert ctl.remove_selected()
    assert lora_registry.control_models() == [] and cn.exists() and single.exists()
    assert asked == ["embedding", "embedding", "control-folder", "control"]
    dlg.close()

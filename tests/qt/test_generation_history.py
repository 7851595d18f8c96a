"""The Generations dock on a real window: it records real tiny-model jobs run by the AI
worker, searches, re-runs with an edited prompt, and its history survives save and reopen."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiart_desktop.ai.records import gen_history as gh
from aiart_desktop.qt.panels.generation_history import (
    ALL,
    GenerationHistoryPanel,
    install_generation_history,
)
from tests.support.dock import dock_window, set_form

WAIT = 120_000  # an upper bound (a loaded 2-core machine is slow); a pass takes seconds
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture
def gen(win, stop_workers, tiny_registry, tiny_engine, tmp_path: Path
        ) -> GenerationHistoryPanel:
    ai = dock_window(win, tiny_registry, tiny_engine)
    stop_workers.append(ai.worker)
    panel = install_generation_history(win, user_store=gh.UserHistory(tmp_path / "user"))
    dock = win.docks["generationsDock"]
    dock.show()
    dock.raise_()
    yield panel
    panel.shutdown()


def _run(qtbot, win, **form) -> None:
    set_form(win.ai_panel, **form)
    with qtbot.waitSignal(win.generations_panel.recorded, timeout=WAIT):
        assert win.ai_panel.generate()
    qtbot.waitUntil(lambda: not win.ai_panel.running, timeout=WAIT)


def test_records_a_real_job_marks_applied_and_writes_user_history(qtbot, win, gen
                                                                  ) -> None:
    doc = win.doc
    undo0 = doc.history.undo_count
    assert not doc.modified and "generationsDock" in win.docks
    assert win.docks["generationsDock"].toggleViewAction() in win.panels_menu.actions()
    _run(qtbot, win, batch=2, prompt="a red boat")
    result = win.ai_panel.result
    [entry] = gh.entries(doc)
    assert entry.prompt == "a red boat" and entry.seeds == result.seeds
    assert entry.model == "tiny-inpaint" and entry.record["model_id"] == "tiny-inpaint"
    assert len(entry.thumbnails) == 2 and entry.selection == [72, 48, 40, 32]
    # Dirty for save, no undo step; the list shows it with its thumbnail.
    assert doc.modified and doc.history.undo_count == undo0
    assert win.windowTitle().split(" ")[0].endswith("*")
    assert gen.list.count() == 1 and "a red boat" in gen.list.item(0).text()
    assert str(result.seeds[0]) in gen.list.item(0).text()
    assert not gen.list.item(0).icon().isNull()
    assert gen.details.prompt.toPlainText() == "a red boat"
    assert gen.details.variants.count() == 2
    # Applying variation 2 in the AI panel marks it in the entry.
    layer = win.ai_panel.apply(1)
    assert layer is not None
    [entry] = gh.entries(doc)
    assert entry.applied[0]["variant"] == 1 and entry.applied[0]["layer"] == layer.name
    assert "✓" in gen.details.variants.item(1).text()
    assert "✓" not in gen.details.variants.item(0).text()
    # The per-user history has it too (written off the UI thread).
    gen.flush()
    [mine] = gen.user_store.load()
    assert mine.id == entry.id and mine.thumbnails == entry.thumbnails
    gen.set_scope(ALL)
    assert gen.list.count() == 1 and gen.all_button.isChecked()


def test_search_filters_by_prompt_words(win, gen) -> None:
    png = gh.thumbnail_png(np.zeros((8, 8, 3), np.uint8))
    for i, prompt in enumerate(["A red boat", "red sky at night", "blue boat"]):
        rec = {"op": "txt2img", "prompt": prompt, "seed": i, "model": "m"}
        gh.add_to_document(win.doc, gh.GenerationEntry(gh.new_id(), 100.0 + i, rec, [i], [png]))
    gen.refresh()
    assert gen.list.count() == 3 and gen.list.item(0).text().startswith("blue boat")
    gen.search.setText("BOAT")
    assert [gen.list.item(i).text().split("\n")[0] for i in range(gen.list.count())] == [
        "blue boat", "A red boat"]
    gen.search.setText("red boat")
    assert gen.list.count() == 1
    gen.search.setText("green")
    assert gen.list.count() == 0 and gen.empty.isVisible() and "green" in gen.empty.text()
    assert not gen.details.rerun_button.isEnabled()
    gen.search.clear()
    assert gen.list.count() == 3


def test_history_survives_save_and_reopen_then_rerun_with_edited_prompt(
        qtbot, win, gen, tmp_path: Path) -> None:
    _run(qtbot, win, batch=1, prompt="a red boat")
    first = win.ai_panel.result
    path = tmp_path / "boat.ora"
    assert win.save_to(str(path)) and not win.doc.modified
    win.new_document(spec=_spec())                # "close" it: the dock follows at once
    assert gen.doc is win.doc and gen.list.count() == 0
    assert win.open_path(str(path))
    doc = win.doc
    assert gen.doc is doc
    assert gen.list.count() == 1 and gen.current_entry().prompt == "a red boat"
    # Nothing selected: Re-run brings the entry's selection back as one undo step.
    doc.set_selection(None)
    undo0 = doc.history.undo_count
    gen.details.prompt.setPlainText("a green island")
    with qtbot.waitSignal(gen.recorded, timeout=WAIT):
        job = gen.rerun()
        assert job is not None and job is win.ai_panel.job
    assert doc.history.undo_count == undo0 + 1
    assert doc.history.undo_text == "Select generation region"
    ys, xs = np.nonzero(doc.selection)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (72, 48, 112, 80)
    qtbot.waitUntil(lambda: not win.ai_panel.running, timeout=WAIT)
    again = win.ai_panel.result
    assert again.request.prompt == "a green island"
    assert again.seeds == first.seeds                   # the entry's seed, locked
    assert not np.array_equal(again.images[0], first.images[0])  # the new prompt counts
    hist = gh.entries(doc)
    assert [e.prompt for e in hist] == ["a red boat", "a green island"]
    assert gen.list.count() == 2 and doc.modified
    # The re-generated one can be applied, and the whole history saved again.
    assert win.ai_panel.apply(0) is not None
    assert win.save_to(str(path))
    assert win.open_path(str(path))
    assert [e.prompt for e in gh.entries(win.doc)] == ["a red boat", "a green island"]


def test_load_settings_copy_prompt_and_busy(qtbot, win, gen) -> None:
    from PySide6.QtGui import QGuiApplication

    rec = {"op": "img2img", "prompt": "misty hills", "negative_prompt": "text", "seed": 99,
           "model": "tiny-sd", "model_id": "tiny-sd", "steps": 5, "guidance": 6.5,
           "strength": 0.4, "batch_size": 1, "scheduler": "ddim"}
    gh.add_to_document(win.doc, gh.GenerationEntry(gh.new_id(), 100.0, rec, [99], []))
    gen.refresh()
    assert gen.load_settings()
    f = win.ai_panel.form
    assert f.current_op() == "img2img" and f.prompt.toPlainText() == "misty hills"
    assert f.negative.toPlainText() == "text" and f.seed.text() == "99"
    assert f.steps.value() == 5 and f.current_model() == "tiny-sd"
    gen.copy_prompt()
    assert QGuiApplication.clipboard().text() == "misty hills"


def _spec():
    from aiart_desktop.qt.dialogs.new_document import NewDocumentSpec

    return NewDocumentSpec(64, 48, (255, 255, 255, 255))


def test_autosave_carries_the_history_after_a_history_only_change(qtbot, tmp_path: Path
                                                                   ) -> None:
    from aiart_desktop.core.document import Document
    from aiart_desktop.core.io import load_ora
    from aiart_desktop.qt.autosave import AutosaveManager

    doc = Document.new(32, 24)
    mgr = AutosaveManager(tmp_path / "recovery", 3600)
    mgr.attach(doc, "pic.ora")
    png = gh.thumbnail_png(np.full((8, 8, 3), 200, np.uint8))
    rec = {"op": "txt2img", "prompt": "first", "seed": 1, "model": "m"}
    gh.add_to_document(doc, gh.GenerationEntry(gh.new_id(), 100.0, rec, [1], [png]))
    assert mgr.save_now() and mgr.wait(10)
    # A second entry and nothing else: still a change autosave must write.
    rec2 = {**rec, "prompt": "second"}
    gh.add_to_document(doc, gh.GenerationEntry(gh.new_id(), 200.0, rec2, [2], [png]))
    assert mgr.save_now() and mgr.wait(10)
    back = load_ora(mgr.autosave_path)
    assert back.generation_history == doc.generation_history
    assert [e.prompt for e in gh.entries(back)] == ["first", "second"]
    mgr.discard()


def test_user_history_write_failure_is_reported(qtbot, win, gen, tmp_path: Path
                                                ) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    gen.user_store = gh.UserHistory(blocker / "hist")   # mkdir fails: a file is in the way
    with qtbot.waitSignal(gen.message, timeout=5000) as sig:
        _run(qtbot, win, batch=1, prompt="a quiet pond")
        gen.flush()
    assert "Could not add to your generation history" in sig.args[0]
    assert [e.prompt for e in gh.entries(win.doc)] == ["a quiet pond"]  # the document has it


def test_c2pa_signing_dialog_checks_the_files(win, gen, tmp_path: Path) -> None:
    from aiart_desktop.qt.dialogs.c2pa_settings import C2paSettingsDialog
    from tests.support.certificates import make_chain

    ai_menu = next(m for m in win.menuBar().findChildren(type(win.panels_menu))
                   if m.title().replace("&", "") == "AI")
    assert win.c2pa_action in ai_menu.actions()
    # Panel toggles live in View › Panels only: none hides in the AI menu as a bare "AI".
    assert win.docks["generationsDock"].toggleViewAction() not in ai_menu.actions()
    assert not [a.text() for a in ai_menu.actions() if a.isCheckable()]
    cert, key, _ = make_chain(tmp_path / "pki")
    dlg = C2paSettingsDialog(win.settings, win)
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    assert ok.isEnabled() and "no C2PA manifest" in dlg.state.text()
    dlg.cert.setText(str(cert))
    assert not ok.isEnabled() and "both" in dlg.state.text()
    dlg.key.setText(str(cert))                      # the wrong file
    assert not ok.isEnabled() and "not a PEM private key" in dlg.state.text()
    dlg.key.setText(str(key))
    assert ok.isEnabled() and "Test Painter" in dlg.state.text()
    dlg.accept()
    s = win.settings
    assert (s.c2pa_cert, s.c2pa_key, s.c2pa_sign) == (str(cert), str(key), True)
    # The window's settings now sign an export (the hook the window's File › Export calls).
    from aiart_desktop.ai.records.c2pa_manifest import export_png_with_c2pa, read_manifest

    out = tmp_path / "signed.png"
    assert export_png_with_c2pa(win.doc, out, settings=s).signed
    assert read_manifest(out.read_bytes())["signature_info"]["common_name"] == "Test Painter"
    dlg.deleteLater()


def _style_dock(win, tmp_path: Path):
    from aiart_desktop.ai.styles.library import StyleLibrary
    from aiart_desktop.qt.panels.style_gallery import install_style_gallery

    style = install_style_gallery(win, library=StyleLibrary(tmp_path / "styles"))
    style.auto_preview.setChecked(False)
    return style


def test_records_the_jobs_of_every_panel_from_their_handles(qtbot, win, gen, tmp_path: Path
                                                           ) -> None:
    """Jobs of the AI panel, of the Style dock and one submitted to the worker by nobody's
    panel are all recorded, each with the document it was submitted from: the dock learns of
    them through `ai_worker.submitted`, not through another panel's fields."""
    from aiart_desktop.ai.capture import make_request
    from aiart_desktop.core import selection as sel
    from aiart_desktop.core.geometry import Rect

    style = _style_dock(win, tmp_path)
    doc = win.doc
    submitted: list = []
    win.ai_worker.submitted.connect(submitted.append)
    _run(qtbot, win, batch=1, prompt="a red boat")                    # the AI panel
    doc.set_selection(sel.rect_mask(doc.width, doc.height, Rect(8, 8, 24, 24)))
    assert style.pick("Style 2")
    with qtbot.waitSignal(gen.recorded, timeout=WAIT) as recorded:    # the Style dock
        job = style.preview()
        assert job is not None
    qtbot.waitUntil(lambda: not style.running, timeout=WAIT)
    entries = gh.entries(doc)
    assert [e.op for e in entries] == ["inpaint", "style"]
    assert recorded.args[0].id == entries[1].id and gen.list.count() == 2
    assert submitted[1] is job and [j.state for j in submitted] == ["finished", "finished"]
    # A job submitted straight to the worker, then the window shows another document before
    # it ends: it is recorded with the document it was taken from.
    request = make_request(doc, "inpaint", prompt="a late boat", model="tiny-inpaint",
                           steps=3, batch_size=1)
    with qtbot.waitSignal(gen.recorded, timeout=WAIT):
        win.ai_worker.submit(request)
        win.new_document(spec=_spec())
    assert [e.prompt for e in gh.entries(doc)][-1] == "a late boat"
    assert gh.entries(win.doc) == [] and gen.list.count() == 0
    # A cancelled job is not recorded.
    win.set_document(doc)
    cancelled = win.ai_worker.submit(request)
    cancelled.cancel()
    qtbot.waitUntil(lambda: cancelled.done, timeout=WAIT)
    assert cancelled.state == "cancelled" and len(gh.entries(doc)) == 3


def test_switching_documents_retargets_every_dock_at_once(qtbot, win, gen, tmp_path: Path
                                                          ) -> None:
    """`win.document_changed` re-targets every follower synchronously: no timer, no event
    loop between the switch and the checks, even for a hidden dock."""
    from aiart_desktop.core.document import Document

    style = _style_dock(win, tmp_path)
    first = win.doc
    other = Document.new(64, 48)
    png = gh.thumbnail_png(np.zeros((8, 8, 3), np.uint8))
    rec = {"op": "txt2img", "prompt": "a hidden harbour", "seed": 3, "model": "m"}
    gh.add_to_document(other, gh.GenerationEntry(gh.new_id(), 100.0, rec, [3], [png]))
    win.docks["generationsDock"].hide()
    seen: list = []
    win.document_changed.connect(seen.append)
    win.set_document(other)
    assert seen == [other]
    assert win.ai_panel.doc is other and style.doc is other and gen.doc is other
    assert win.layers_panel.doc is other and win.history_panel.doc is other
    assert gen.list.count() == 1 and gen.current_entry().prompt == "a hidden harbour"
    win.set_document(first)
    assert seen == [other, first] and gen.doc is first and gen.list.count() == 0
    assert win.ai_panel.doc is first and style.doc is first

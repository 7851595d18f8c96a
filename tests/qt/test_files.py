"""New / open / save / export / import through the window's real code paths, into tmp_path."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from aiart_desktop.core.io import load_document, load_image
from aiart_desktop.qt.dialogs.new_document import NewDocumentDialog, NewDocumentSpec
from aiart_desktop.qt.dialogs.prompts import SaveChoice


def _paint_two_layers(win) -> None:
    doc = win.doc
    top = win.layers_panel.add_layer()
    px = np.zeros((30, 40, 4), np.uint8)
    px[...] = (200, 40, 10, 255)
    doc.put_pixels(top, 20, 10, px)
    doc.set_props(top, name="Red box", blend_mode="multiply", opacity=0.75)


def test_save_ora_then_reopen_gives_the_same_document(win, prompts, tmp_path: Path) -> None:
    _paint_two_layers(win)
    assert win.windowTitle() == "Untitled* \u2014 AIArt Desktop"
    path = tmp_path / "picture"          # no extension: .ora is added
    assert win.save_to(str(path))
    saved = tmp_path / "picture.ora"
    assert saved.is_file()
    assert win.windowTitle() == "picture.ora \u2014 AIArt Desktop"
    assert not win.doc.modified
    assert win.settings.recent_files[0] == str(saved)
    flat = win.doc.flatten()

    win.new_document(NewDocumentSpec(64, 64, None))
    assert win.doc.width == 64
    assert win.open_path(str(saved))
    doc = win.doc
    assert [layer.name for layer in doc.layers] == ["Background", "Red box"]
    assert doc.layers[1].blend_mode == "multiply" and doc.layers[1].opacity == 0.75
    assert np.array_equal(doc.flatten(), flat)
    assert win.windowTitle() == "picture.ora \u2014 AIArt Desktop"
    model = win.layers_panel.model
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == ["Red box",
                                                                         "Background"]
    # Ctrl+S on an .ora saves in place without asking.
    doc.set_props(doc.layers[1], visible=False)
    assert win.save()
    assert "save_as" not in prompts.asked
    assert load_document(saved).layers[1].visible is False


def test_save_as_asks_for_a_path_and_refuses_non_ora(win, prompts, tmp_path: Path) -> None:
    _paint_two_layers(win)
    prompts.save_path = str(tmp_path / "asked.ora")
    assert win.save()                    # untitled: Save goes to Save As
    assert prompts.asked == ["save_as"]
    assert (tmp_path / "asked.ora").is_file()
    assert not win.save_to(str(tmp_path / "wrong.png"))
    assert prompts.errors and "Export" in prompts.errors[-1][1]
    assert not (tmp_path / "wrong.png").exists()


def test_export_png_and_jpeg_match_the_composite(win, prompts, tmp_path: Path) -> None:
    _paint_two_layers(win)
    prompts.export_path = str(tmp_path / "out.png")
    assert win.export()
    png = load_image(tmp_path / "out.png")
    assert np.array_equal(png, win.doc.flatten())
    assert win.doc.modified                       # exporting is not saving
    assert win.export_to(str(tmp_path / "out.jpg"), quality=95)
    jpg = load_image(tmp_path / "out.jpg").astype(int)
    assert np.abs(jpg - win.doc.flatten().astype(int)).max() < 24
    assert win.export_to(str(tmp_path / "noext"))
    assert (tmp_path / "noext.png").is_file()
    assert not win.export_to(str(tmp_path / "bad.xyz"))
    assert prompts.errors


def test_open_flat_images_of_every_format(win, tmp_path: Path) -> None:
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[..., 0] = np.arange(32, dtype=np.uint8)[None, :] * 8
    rgb[..., 2] = 99
    for ext in ("png", "jpg", "webp", "tif"):
        p = tmp_path / f"img.{ext}"
        Image.fromarray(rgb).save(p)
        assert win.open_path(str(p)), ext
        assert (win.doc.width, win.doc.height) == (32, 24)
        assert win.windowTitle() == f"img.{ext} \u2014 AIArt Desktop"
        got = win.doc.flatten()[..., :3].astype(int)
        tol = 0 if ext in ("png", "tif") else 40
        assert np.abs(got - rgb.astype(int)).max() <= tol, ext


def test_bad_file_shows_an_error_and_keeps_the_document(win, prompts, tmp_path: Path) -> None:
    _paint_two_layers(win)
    doc = win.doc
    bad = tmp_path / "broken.ora"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert not win.open_path(str(bad))
    assert win.doc is doc and doc.modified
    title, message = prompts.errors[-1]
    assert title == "Cannot open file"
    assert message == ("\u201cbroken.ora\u201d is damaged or not an OpenRaster file.\n"
                       "If another program made it, save it there again as .ora or PNG.")
    assert not win.open_path(str(tmp_path / "missing.png"))
    assert "does not exist" in prompts.errors[-1][1]
    # An image opened in place of the .ora: still a clear error.
    (tmp_path / "fake.png").write_bytes(b"not a png at all")
    assert not win.open_path(str(tmp_path / "fake.png"))
    assert len(prompts.errors) == 3 and win.doc is doc


def test_unsaved_changes_prompt_on_new_open_and_close(win, prompts, tmp_path: Path) -> None:
    _paint_two_layers(win)
    doc = win.doc
    other = tmp_path / "other.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(other)

    prompts.save_choice = SaveChoice.CANCEL
    assert not win.new_document(NewDocumentSpec(50, 50, (255, 255, 255, 255)))
    assert not win.open_path(str(other))
    assert not win.close()
    assert win.doc is doc and win.isVisible()
    assert prompts.asked.count("save_changes:Untitled") == 3

    prompts.save_choice = SaveChoice.SAVE
    prompts.save_path = str(tmp_path / "kept.ora")
    assert win.open_path(str(other))
    assert (tmp_path / "kept.ora").is_file()
    assert load_document(tmp_path / "kept.ora").layers[1].name == "Red box"

    # A clean document is replaced without a question.
    asked = len(prompts.asked)
    prompts.new_spec = NewDocumentSpec(40, 30, None)
    assert win.new_document()
    assert len(prompts.asked) == asked + 1 and prompts.asked[-1] == "new"
    assert (win.doc.width, win.doc.height) == (40, 30)
    assert win.doc.layers[0].tiles.is_empty()     # transparent background

    win.layers_panel.add_layer()
    prompts.save_choice = SaveChoice.DISCARD
    assert win.close()


def test_open_dialog_recent_files_and_import(win, prompts, tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(np.full((10, 12, 3), 50, np.uint8)).save(a)
    Image.fromarray(np.full((10, 12, 4), 200, np.uint8)).save(b)
    prompts.open_path = str(a)
    assert win.open_dialog()
    assert win.recent_files()[0] == str(a)
    win.fill_recent_menu()
    texts = [act.text() for act in win.recent_menu.actions()]
    assert texts == ["a.png"]
    prompts.import_path = str(b)
    assert win.import_layer()
    assert [layer.name for layer in win.doc.layers] == ["a", "b"]
    win.undo()
    assert [layer.name for layer in win.doc.layers] == ["a"]
    # The recent menu opens its file.
    win.new_document(NewDocumentSpec(20, 20, None))
    win.fill_recent_menu()
    win.recent_menu.actions()[0].trigger()
    assert win.doc.path == str(a)


def test_drop_files_onto_the_window(win, qtbot, tmp_path: Path) -> None:
    p = tmp_path / "dropped.png"
    Image.fromarray(np.full((16, 16, 3), 77, np.uint8)).save(p)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p))])

    def drop(mods: Qt.KeyboardModifier) -> None:
        # Qt delivers a drop to the widget that accepted the drag's enter event.
        enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, data,
                                Qt.MouseButton.LeftButton, mods)
        QApplication.sendEvent(win, enter)
        assert enter.isAccepted()
        ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, data,
                        Qt.MouseButton.LeftButton, mods)
        QApplication.sendEvent(win, ev)

    drop(Qt.KeyboardModifier.NoModifier)
    qtbot.waitUntil(lambda: win.doc.path == str(p))
    assert win.doc.width == 16 and len(win.doc.layers) == 1
    drop(Qt.KeyboardModifier.ShiftModifier)  # Shift-drop adds layers instead
    qtbot.waitUntil(lambda: len(win.doc.layers) == 2)
    # Files we cannot open are not accepted.
    junk = QMimeData()
    junk.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, junk,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    QApplication.sendEvent(win, enter)
    assert not enter.isAccepted()


def test_new_document_dialog_presets(qtbot) -> None:
    dlg = NewDocumentDialog(None, 800, 600)
    qtbot.addWidget(dlg)
    assert dlg.spec() == NewDocumentSpec(800, 600, (255, 255, 255, 255))
    row = dlg.preset.findText("Full HD", Qt.MatchFlag.MatchStartsWith)
    dlg.preset.setCurrentIndex(row)
    dlg.transparent.setChecked(True)
    assert dlg.spec() == NewDocumentSpec(1920, 1080, None)
    dlg.width_spin.setValue(1000)
    assert dlg.preset.currentIndex() == 0      # "Custom"
    assert "megapixels" in dlg.info.text()


def test_canvas_size(win, prompts) -> None:
    from aiart_desktop.qt.dialogs.canvas_size import anchored

    prompts.canvas_spec = anchored(240, 160, 300, 200, 0.5, 0.5)
    win.acts.canvas_size.trigger()
    assert (win.doc.width, win.doc.height) == (300, 200)
    assert win.doc.layers[0].offset == (30, 20)
    assert win.size_label.text() == "300 \u00d7 200 px"
    win.undo()
    assert (win.doc.width, win.doc.height) == (240, 160)


def test_autosave_is_attached_to_the_open_document(qtbot, tmp_path: Path, prompts) -> None:
    from aiart_desktop.qt.main_window import MainWindow
    from aiart_desktop.settings import Settings

    w = MainWindow(settings=Settings(), prompts=prompts)
    qtbot.addWidget(w)
    assert w.autosave is not None and w.autosave.doc is w.doc
    w.layers_panel.add_layer()
    assert w.autosave.save_now()
    assert w.autosave.wait(10)
    assert w.autosave.autosave_path is not None and w.autosave.autosave_path.is_file()
    assert os.path.basename(str(w.autosave.autosave_path)).endswith(".ora")
    w.close()
    assert w.autosave.doc is None


def test_create_window_opens_the_file_given_on_the_command_line(qtbot, tmp_path: Path) -> None:
    from aiart_desktop.qt.bootstrap import create_window

    p = tmp_path / "arg.png"
    Image.fromarray(np.full((12, 9, 3), 10, np.uint8)).save(p)
    w = create_window([str(p)], recover=False)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.doc.path == str(p))
    assert (w.doc.width, w.doc.height) == (9, 12)
    assert w.findChild(type(w.docks["aiDock"]), "aiDock") is w.docks["aiDock"]
    if w.autosave is not None:
        w.autosave.discard()


def test_recovered_documents_are_opened(win, monkeypatch) -> None:
    from aiart_desktop.core.document import Document
    from aiart_desktop.qt import autosave, bootstrap

    rec = Document.new(33, 22)
    monkeypatch.setattr(autosave, "check_and_offer_recovery", lambda parent: [rec])
    bootstrap.offer_recovery(win)
    assert win.doc is rec
    assert "Recovered" in win.statusBar().currentMessage()


def _shown(message: str, name: str) -> None:
    """At most two short lines, naming the file, with no Python in them."""
    lines = message.splitlines()
    assert 1 <= len(lines) <= 2 and all(len(line) < 110 for line in lines), message
    assert f"\u201c{name}\u201d" in message, message
    assert not re.search(r"Error|Exception|Errno|zip file|Traceback|/", message), message


def test_opening_what_is_not_a_picture_says_so(win, prompts, tmp_path: Path, caplog
                                              ) -> None:
    from tests.support.unreadable import unreadable

    doc = win.doc
    (tmp_path / "notes.txt").write_text("shopping: eggs, milk")
    (tmp_path / "notes.png").write_text("shopping: eggs, milk")
    (tmp_path / "x.ora").write_text("shopping: eggs, milk")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "Pictures").mkdir()
    full = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(4).integers(0, 256, (48, 48, 3), np.uint8)).save(full)
    (tmp_path / "cut.png").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    cases = {
        "notes.txt": "is not a picture AIArt Desktop can open.\n"
                     "It opens .ora, .png, .jpg, .webp and .tif files.",
        "notes.png": "is not a picture AIArt Desktop can open.",
        "x.ora": "is damaged or not an OpenRaster file.",
        "empty.png": "is empty (0 bytes)",
        "cut.png": "is cut short",
        "Pictures": "is a folder, not a picture.\nOpen a picture file inside it instead.",
    }
    with caplog.at_level(logging.WARNING, logger="aiart_desktop.qt.file_ops"):
        for name, words in cases.items():
            assert not win.open_path(str(tmp_path / name)), name
            title, message = prompts.errors[-1]
            assert title == "Cannot open file" and words in message, (name, message)
            _shown(message, name)
            assert win.doc is doc
        with unreadable(full):
            assert not win.open_path(str(full))
        _shown(prompts.errors[-1][1], "full.png")
        assert "you do not have permission" in prompts.errors[-1][1]
        # Import layer says the same.
        assert not win.import_layer(str(tmp_path / "notes.txt"))
        assert prompts.errors[-1][0] == "Cannot import file"
        _shown(prompts.errors[-1][1], "notes.txt")
    assert len(prompts.errors) == len(cases) + 2
    # The details the user was spared are in the log, with the full path.
    assert str(tmp_path / "x.ora") in caplog.text and "zip" in caplog.text
    assert "PermissionError" in caplog.text and "UnidentifiedImageError" in caplog.text
    assert win.open_path(str(full))  # and it opens once it can be read


def test_save_and_export_errors_are_plain(win, prompts, tmp_path: Path) -> None:
    _paint_two_layers(win)
    (tmp_path / "taken.ora").mkdir()  # a folder where the file should go
    assert not win.save_to(str(tmp_path / "taken.ora"))
    _shown(prompts.errors[-1][1], "taken.ora")
    assert "a folder has that name" in prompts.errors[-1][1]
    assert not win.save_to(str(tmp_path / "no" / "such" / "folder" / "a.ora"))
    _shown(prompts.errors[-1][1], "a.ora")
    assert "its folder does not exist" in prompts.errors[-1][1]
    assert not win.export_to(str(tmp_path / "bad.xyz"))
    _shown(prompts.errors[-1][1], "bad.xyz")
    assert not win.save_to(str(tmp_path / "wrong.png"))
    _shown(prompts.errors[-1][1], "wrong.png")

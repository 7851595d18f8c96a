"""Corrupt, truncated and hostile files: each raises FileFormatError naming the file and the
problem, and a failed load never touches the document that is already open."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiart_desktop.core.document import Document
from aiart_desktop.core.io import (
    FileFormatError,
    load_document,
    load_image,
    load_ora,
    open_image_document,
    safezip,
    save_ora,
)
from aiart_desktop.core.io.safezip import ZipLimits, safe_member_name

GOOD_XML = '<image w="16" h="16"><stack><layer name="a" src="data/a.png"/></stack></image>'


def png_bytes(px: np.ndarray | None = None) -> bytes:
    if px is None:
        px = np.full((16, 16, 4), 200, np.uint8)
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "PNG")
    return buf.getvalue()


def png_header_only(w: int, h: int) -> bytes:
    """A PNG that claims w x h pixels but holds (almost) no data: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def make_zip(path: Path, members: dict[str, bytes], mimetype: bytes | None = b"image/openraster",
             level: int | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        if mimetype is not None:
            z.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        for name, data in members.items():
            z.writestr(name, data)
    return path


def ora(tmp_path: Path, xml: str = GOOD_XML, extra: dict[str, bytes] | None = None,
        name: str = "bad.ora", **kw: object) -> Path:
    members = {"stack.xml": xml.encode(), "data/a.png": png_bytes(), **(extra or {})}
    return make_zip(tmp_path / name, members, **kw)  # type: ignore[arg-type]


def expect_error(path: Path, *fragments: str,
                 loader: Callable[[Path], object] = load_ora) -> FileFormatError:
    with pytest.raises(FileFormatError) as info:
        loader(path)
    err = info.value
    assert err.path == str(path) and str(path) in str(err)
    assert str(err).startswith("Cannot open ")
    for frag in fragments:
        assert frag.lower() in err.problem.lower(), (frag, err.problem)
    return err


def patch_member(path: Path, name: str, *, size: int | None = None, flags: int | None = None
                 ) -> None:
    """Rewrite a member's declared size or flags in both its local and central headers."""
    data = bytearray(path.read_bytes())
    enc = name.encode()
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) >= 0:
        if data[pos + 30:pos + 30 + len(enc)] == enc:
            if size is not None:
                data[pos + 22:pos + 26] = struct.pack("<I", size)
            if flags is not None:
                data[pos + 6:pos + 8] = struct.pack("<H", flags)
        pos += 4
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:
        if data[pos + 46:pos + 46 + len(enc)] == enc:
            if size is not None:
                data[pos + 24:pos + 28] = struct.pack("<I", size)
            if flags is not None:
                data[pos + 8:pos + 10] = struct.pack("<H", flags)
        pos += 4
    path.write_bytes(bytes(data))


def test_sanity_the_good_file_opens(tmp_path: Path) -> None:
    assert load_ora(ora(tmp_path)).layers[0].name == "a"


# ---- not an OpenRaster zip at all -------------------------------------------------------------
def test_not_a_zip_empty_missing_and_folder(tmp_path: Path) -> None:
    text = tmp_path / "text.ora"
    text.write_text("hello, I am not a zip")
    assert expect_error(text, "not a zip archive").kind == "damaged"
    empty = tmp_path / "empty.ora"
    empty.write_bytes(b"")
    assert expect_error(empty, "empty").kind == "empty"
    assert expect_error(tmp_path / "missing.ora", "does not exist").kind == "missing"
    assert expect_error(tmp_path, "folder").kind == "folder"


@pytest.mark.parametrize("cut", [0.5, 0.9, -10])
def test_truncated_archives(tmp_path: Path, cut: float) -> None:
    good = tmp_path / "good.ora"
    doc = Document.new(64, 64)
    doc.add_layer("noise", pixels=np.random.default_rng(0).integers(0, 255, (64, 64, 4),
                                                                   dtype=np.uint8))
    save_ora(doc, good)
    raw = good.read_bytes()
    bad = tmp_path / "cut.ora"
    bad.write_bytes(raw[:int(len(raw) * cut)] if cut > 0 else raw[:int(cut)])
    expect_error(bad)


def test_missing_stack_wrong_mimetype_and_corrupt_json(tmp_path: Path) -> None:
    p = make_zip(tmp_path / "nostack.ora", {"data/a.png": png_bytes()})
    expect_error(p, "stack.xml is missing")
    expect_error(ora(tmp_path, mimetype=b"application/zip", name="mime.ora"), "mimetype")
    expect_error(ora(tmp_path, extra={"aiart/document.json": b"{not json"}, name="j.ora"),
                 "document.json")
    sel = png_bytes(np.zeros((3, 3, 4), np.uint8))
    expect_error(ora(tmp_path, extra={"aiart/selection.png": sel}, name="s.ora"), "selection")


# ---- stack.xml --------------------------------------------------------------------------------
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE image [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<image w="16" h="16"><stack><layer name="&f;" src="data/a.png"/></stack></image>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE image [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<image w="16" h="16"><stack><layer name="&x;" src="data/a.png"/></stack></image>"""


@pytest.mark.parametrize("xml,fragment", [
    (BILLION_LAUGHS, "forbidden"),
    (XXE, "forbidden"),
    ('<image w="16" h="16"><stack><layer src="data/a.png"></stack>', "well-formed"),
    ("\xff\xfe garbage", "well-formed"),
    ('<svg w="16" h="16"/>', "<svg>"),
    ('<image h="16"><stack/></image>', "size"),
    ('<image w="100000" h="16"><stack/></image>', "image width"),
    ('<image w="-5" h="16"><stack/></image>', "image width"),
    ('<image w="abc" h="16"><stack/></image>', "not a number"),
    ('<image w="nan" h="16"><stack/></image>', "image width"),
    ('<image w="16" h="1e309"><stack/></image>', "image height"),
    ('<image w="16" h="16"><stack><layer src="data/a.png" x="1e9"/></stack></image>', "x"),
    ('<image w="16" h="16"><stack><layer src="data/a.png" y="up"/></stack></image>', "y"),
    ('<image w="16" h="16"><stack><layer src="data/a.png" opacity="lots"/></stack></image>',
     "opacity"),
    ('<image w="16" h="16"><stack><stack x="abc"/></stack></image>', "x"),
])
def test_bad_stack_xml(tmp_path: Path, xml: str, fragment: str) -> None:
    expect_error(ora(tmp_path, xml), fragment)


def test_absurd_nesting_and_element_counts(tmp_path: Path) -> None:
    deep = '<image w="4" h="4"><stack>' + "<stack>" * 100 + "</stack>" * 100 + "</stack></image>"
    expect_error(ora(tmp_path, deep, name="deep.ora"), "deep")
    many = '<image w="4" h="4"><stack>' + "<layer/>" * 20_001 + "</stack></image>"
    expect_error(ora(tmp_path, many, name="many.ora"), "too many")


# ---- layer sources ---------------------------------------------------------------------------
@pytest.mark.parametrize("src", [
    "../../etc/passwd", "/etc/passwd", "../evil.png", "data/../../evil.png",
    "..\\..\\evil.png", "C:\\Windows\\evil.png", "C:/evil.png",
])
def test_path_traversal_in_src(tmp_path: Path, src: str) -> None:
    xml = f'<image w="16" h="16"><stack><layer name="x" src="{src}"/></stack></image>'
    # the archive really holds a member by that name (a "zip slip"): still refused
    p = ora(tmp_path, xml, extra={src: png_bytes()})
    expect_error(p, "outside the archive")
    assert safe_member_name(src) is None


def test_missing_and_non_image_members(tmp_path: Path) -> None:
    def layer(src: str) -> str:
        return f'<image w="16" h="16"><stack><layer name="L" src="{src}"/></stack></image>'

    expect_error(ora(tmp_path, layer("data/none.png"), name="m.ora"), "missing")
    notes = {"data/notes.txt": b"just some notes\n" * 10}
    for src in ("stack.xml", "mimetype", "data/notes.txt"):
        err = expect_error(ora(tmp_path, layer(src), notes, name="n.ora"), "not an image")
        assert "'L'" in err.problem and src in err.problem
    broken = png_bytes()
    expect_error(ora(tmp_path, layer("data/t.png"), {"data/t.png": broken[:len(broken) // 2]},
                     name="t.ora"), "layer 'L'")
    bad_crc = bytearray(broken)
    bad_crc[40] ^= 0xFF
    expect_error(ora(tmp_path, layer("data/c.png"), {"data/c.png": bytes(bad_crc)},
                     name="c.ora"), "layer 'L'")


def test_decompression_bombs_in_layers(tmp_path: Path) -> None:
    def layer(src: str) -> str:
        return f'<image w="64" h="64"><stack><layer name="L" src="{src}"/></stack></image>'

    # absurdly larger than the canvas: refused before any pixel is inflated
    p = ora(tmp_path, layer("data/big.png"), {"data/big.png": png_header_only(9000, 9000)})
    expect_error(p, "absurdly larger", "64x64")
    p = ora(tmp_path, layer("data/huge.png"), {"data/huge.png": png_header_only(100_000, 100_000)},
            name="huge.ora")
    expect_error(p, "too large")


def test_png_text_chunk_bomb(tmp_path: Path) -> None:
    ztxt = b"parameters\x00\x00" + zlib.compress(b"a" * (8 << 20))
    good = png_bytes()
    head = good[:33]  # signature + IHDR
    chunk = (struct.pack(">I", len(ztxt)) + b"zTXt" + ztxt
             + struct.pack(">I", zlib.crc32(b"zTXt" + ztxt) & 0xFFFFFFFF))
    bomb = tmp_path / "text-bomb.png"
    bomb.write_bytes(head + chunk + good[33:])
    expect_error(bomb, "too large", loader=load_image)


# ---- zip bombs --------------------------------------------------------------------------------
def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    xml = '<image w="16" h="16"><stack><layer name="L" src="data/bomb.png"/></stack></image>'
    p = ora(tmp_path, xml, {"data/bomb.png": bytes(64 << 20)}, level=9)
    assert p.stat().st_size < 1 << 20
    expect_error(p, "zip bomb", "expands")


def test_zip_bomb_by_declared_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 4), dtype=np.uint8)
    xml = '<image w="64" h="64"><stack><layer name="L" src="data/a.png"/></stack></image>'
    p = ora(tmp_path, xml, {"data/a.png": png_bytes(noise)})
    monkeypatch.setattr(safezip, "DEFAULT_LIMITS", ZipLimits(max_member_bytes=8 << 10))
    expect_error(p, "declares", "zip bomb")
    two = ('<image w="64" h="64"><stack><layer src="data/a.png"/><layer src="data/b.png"/>'
           "</stack></image>")
    p = ora(tmp_path, two, {"data/a.png": png_bytes(noise), "data/b.png": png_bytes(noise)},
            name="two.ora")
    monkeypatch.setattr(safezip, "DEFAULT_LIMITS", ZipLimits(max_total_bytes=24 << 10))
    expect_error(p, "add up", "zip bomb")
    monkeypatch.setattr(safezip, "DEFAULT_LIMITS", ZipLimits(max_members=3))
    expect_error(p, "too many")


def test_member_lying_about_its_size(tmp_path: Path) -> None:
    p = ora(tmp_path)
    patch_member(p, "data/a.png", size=20)  # declares less than it inflates to
    expect_error(p, "data/a.png")
    p = ora(tmp_path, name="more.ora")
    real = zipfile.ZipFile(p).getinfo("data/a.png").file_size
    patch_member(p, "data/a.png", size=real + 1000)  # declares more: truncated
    expect_error(p, "data/a.png")


def test_encrypted_member(tmp_path: Path) -> None:
    p = ora(tmp_path)
    patch_member(p, "data/a.png", flags=1)
    expect_error(p, "encrypted")


# ---- flat images ---------------------------------------------------------------------------------
def test_bad_flat_images(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert expect_error(empty, "empty", loader=load_image).kind == "empty"
    fake = tmp_path / "fake.png"
    fake.write_text("<html>not a picture</html>")
    assert expect_error(fake, "not an image", loader=open_image_document).kind == "not_picture"
    good = png_bytes(np.random.default_rng(2).integers(0, 256, (64, 64, 4), dtype=np.uint8))
    cut = tmp_path / "cut.png"
    cut.write_bytes(good[: len(good) // 2])
    assert expect_error(cut, "truncated", loader=load_image).kind == "truncated"
    jpg = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(jpg, "JPEG")
    cutj = tmp_path / "cut.jpg"
    cutj.write_bytes(jpg.getvalue()[:300])
    expect_error(cutj, loader=load_image)
    gif = tmp_path / "anim.gif"
    Image.new("P", (4, 4)).save(gif)
    expect_error(gif, "supported format", loader=load_image)
    expect_error(tmp_path / "nope.png", "does not exist", loader=load_document)


def test_decompression_bombs_in_flat_images(tmp_path: Path) -> None:
    ours = tmp_path / "ours.png"
    ours.write_bytes(png_header_only(17_000, 17_000))  # over our cap, under Pillow's
    expect_error(ours, "decompression bomb", loader=load_image)
    pillows = tmp_path / "pillows.png"
    pillows.write_bytes(png_header_only(60_000, 60_000))
    expect_error(pillows, "too large", loader=open_image_document)


# ---- the open document survives --------------------------------------------------------------
def test_failed_loads_leave_the_open_document_untouched(tmp_path: Path) -> None:
    good = tmp_path / "good.ora"
    start = Document.new(32, 32)
    start.add_layer("ink", pixels=np.full((8, 8, 4), 90, np.uint8), x=4, y=4)
    save_ora(start, good)
    doc = load_document(good)
    doc.put_pixels(doc.layers[1], 0, 0, np.full((2, 2, 4), 255, np.uint8))
    revision, pixels = doc.revision, doc.flatten().copy()
    nodes, steps = [n.name for n in doc.nodes], list(doc.history.steps)
    bad = [ora(tmp_path, BILLION_LAUGHS, name="b1.ora"),
           ora(tmp_path, '<image w="1e9" h="4"><stack/></image>', name="b2.ora"),
           ora(tmp_path, GOOD_XML.replace("data/a.png", "../../etc/passwd"), name="b3.ora")]
    (tmp_path / "b4.ora").write_bytes(good.read_bytes()[:200])
    bad.append(tmp_path / "b4.ora")
    for path in bad:
        before = doc
        with pytest.raises(FileFormatError):
            doc = load_document(path)
        assert doc is before
    assert doc.revision == revision and np.array_equal(doc.flatten(), pixels)
    assert [n.name for n in doc.nodes] == nodes and doc.history.steps == steps
    assert doc.path == str(good) and doc.modified


# ---- what the user is told --------------------------------------------------------------------
CLASS_NAMES = ("Error", "Exception", "zip file", "Errno", "Traceback", "/")


def _cases(tmp_path: Path) -> list[tuple[Path, str, str]]:
    """(file, its kind, words the message must hold) for the ways a file fails to open."""
    (tmp_path / "notes.txt").write_text("shopping: eggs, milk")
    (tmp_path / "notes.png").write_text("shopping: eggs, milk")
    (tmp_path / "x.ora").write_text("shopping: eggs, milk")
    (tmp_path / "empty.png").write_bytes(b"")
    good = png_bytes(np.random.default_rng(3).integers(0, 256, (64, 64, 4), dtype=np.uint8))
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "Pictures").mkdir()
    (tmp_path / "cut.ora").write_bytes(make_zip(tmp_path / "whole.ora", {
        "stack.xml": GOOD_XML.encode(), "data/a.png": good}).read_bytes()[:300])
    return [
        (tmp_path / "notes.txt", "not_picture",
         "is not a picture AIArt Desktop can open.\nIt opens .ora, .png, .jpg, .webp and .tif"),
        (tmp_path / "notes.png", "not_picture", "is not a picture AIArt Desktop can open"),
        (tmp_path / "x.ora", "damaged", "is damaged or not an OpenRaster file"),
        (tmp_path / "cut.ora", "damaged", "is damaged or not an OpenRaster file"),
        (tmp_path / "empty.png", "empty", "is empty"),
        (tmp_path / "cut.png", "truncated", "is cut short"),
        (tmp_path / "Pictures", "folder", "is a folder, not a picture"),
        (tmp_path / "gone.png", "missing", "does not exist"),
    ]


def _check_message(err: FileFormatError, path: Path, words: str) -> None:
    text = err.message
    assert 1 <= len(text.splitlines()) <= 2 and all(len(x) < 110 for x in text.splitlines())
    assert text.startswith(f"\u201c{path.name}\u201d") or f"\u201c{path.name}\u201d" in text
    assert words in text, text
    assert not any(w in text for w in CLASS_NAMES), text


def test_failures_say_what_the_file_is_and_what_to_do(tmp_path: Path) -> None:
    for path, kind, words in _cases(tmp_path):
        with pytest.raises(FileFormatError) as info:
            load_document(path)
        assert info.value.kind == kind, (path.name, info.value.kind, info.value.problem)
        _check_message(info.value, path, words)


def test_a_file_without_read_permission(tmp_path: Path) -> None:
    from tests.support.unreadable import unreadable

    private = tmp_path / "private.png"
    Image.new("RGB", (8, 8)).save(private)
    with unreadable(private), pytest.raises(FileFormatError) as info:
        load_document(private)
    assert info.value.kind == "permission"
    _check_message(info.value, private, "you do not have permission to read it")
    assert load_document(private).width == 8  # readable again afterwards

"""OpenRaster: our own round trip, the file layout, and files shaped like Krita's, GIMP's and
MyPaint's, which must open and look the same (their own mergedimage.png is the reference)."""
from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from aiart_desktop.core.blend import BLEND_MODES
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.io import load_document, load_ora, save_ora
from aiart_desktop.core.io import ora as ora_module
from aiart_desktop.core.layer import Group, Layer, Node

RNG = np.random.default_rng(7)


def rand_rgba(h: int, w: int, opaque: bool = False) -> np.ndarray:
    px = RNG.integers(0, 256, (h, w, 4), dtype=np.uint8)
    if opaque:
        px[..., 3] = 255
    px[..., :3][px[..., 3] == 0] = 0
    return px


def png(px: np.ndarray, mode: str | None = None, **opts: Any) -> bytes:
    buf = io.BytesIO()
    im = px if isinstance(px, Image.Image) else Image.fromarray(px, mode)
    im.save(buf, "PNG", **opts)
    return buf.getvalue()


def write_ora(path: Path, stack_xml: str, members: dict[str, bytes],
              stored: bool = False) -> Path:
    comp = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", comp) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), b"image/openraster",
                   compress_type=zipfile.ZIP_STORED)
        z.writestr("stack.xml", stack_xml.encode("utf-8"))
        for name, data in members.items():
            z.writestr(name, data)
    return path


def add(parent: Group, node: Node) -> Node:
    node.parent = parent
    parent.children.append(node)
    return node


def paint(name: str, x: int, y: int, px: np.ndarray, **props: Any) -> Layer:
    layer = Layer(name=name, **props)
    layer.tiles.write(x, y, px)
    return layer


def merged(doc: Document) -> bytes:
    return png(doc.flatten())


def src_over(layers: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Independent reference: straight RGBA8 layers (bottom first) composited source-over."""
    h, w = layers[0][0].shape[:2]
    rgb, a = np.zeros((h, w, 3)), np.zeros((h, w, 1))
    for px, opacity in layers:
        sa = px[..., 3:4] / 255.0 * opacity
        rgb = px[..., :3] / 255.0 * sa + rgb * (1 - sa)  # premultiplied
        a = sa + a * (1 - sa)
    out = np.zeros((h, w, 4))
    out[..., :3] = np.divide(rgb, a, out=np.zeros_like(rgb), where=a > 0)
    out[..., 3:] = a
    return np.floor(out * 255 + 0.5).astype(np.uint8)


def place(px: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    """A layer image pasted at (x, y) on a transparent w x h canvas (clipped)."""
    out = np.zeros((h, w, 4), np.uint8)
    r = Rect(x, y, px.shape[1], px.shape[0]).intersect(Rect(0, 0, w, h))
    out[r.slices()] = px[r.slices(x, y)]
    return out


def assert_same_tree(a: Group, b: Group) -> None:
    assert len(a.children) == len(b.children), a.name
    for x, y in zip(a.children, b.children):
        assert type(x) is type(y)
        for key in ("name", "opacity", "blend_mode", "visible", "locked"):
            assert getattr(x, key) == getattr(y, key), (x.name, key)
        if isinstance(x, Layer):
            assert isinstance(y, Layer)
            assert x.alpha_lock == y.alpha_lock and x.provenance == y.provenance, x.name
            assert x.bounds() == y.bounds(), x.name
            if not x.bounds().empty:
                assert np.array_equal(x.read(x.bounds()), y.read(y.bounds())), x.name
        else:
            assert isinstance(y, Group)
            assert (x.pass_through, x.expanded) == (y.pass_through, y.expanded), x.name
            assert_same_tree(x, y)


# ---- our own round trip -----------------------------------------------------------------------
def rich_document() -> Document:
    doc = Document.new(96, 64)
    odd = doc.add_layer('Ünïcode & <sketch> "quoted"', pixels=rand_rgba(30, 40), x=-10, y=-5)
    doc.set_props(odd, opacity=0.37, alpha_lock=True, locked=True)
    for i, mode in enumerate(BLEND_MODES):
        layer = doc.add_layer(f"mode {mode}", pixels=rand_rgba(12, 14), x=(i * 5) % 80, y=i * 3)
        doc.set_props(layer, blend_mode=mode, opacity=0.5 + i / 40)
    hidden = doc.add_layer("hidden", pixels=rand_rgba(8, 8, opaque=True), x=50, y=40)
    doc.set_props(hidden, visible=False)
    outer = doc.add_group("Outer", parent=doc.root)
    doc.set_props(outer, blend_mode="multiply", opacity=0.8, expanded=False)
    inner = doc.add_group("Inner", parent=outer)
    doc.set_props(inner, pass_through=True, opacity=0.6, blend_mode="overlay")
    deep = doc.add_layer("deep", parent=inner, pixels=rand_rgba(20, 30), x=30, y=20,
                         provenance={"op": "inpaint", "seed": 12345, "strength": 0.75,
                                     "prompt": "a fox ✓", "bounds": [1, 2, 3, 4],
                                     "nested": {"none": None, "ok": True}})
    doc.set_props(deep, blend_mode="screen")
    doc.add_layer("in outer", parent=outer, pixels=rand_rgba(10, 60), x=20, y=50)
    doc.add_layer("empty", parent=doc.root)
    moved = doc.add_layer("moved", parent=doc.root, pixels=rand_rgba(9, 9), x=70, y=3)
    doc.set_props(moved, offset=(13, -7))  # part of it now hangs off the canvas
    mask = np.zeros((64, 96), np.uint8)
    mask[10:30, 20:60] = 255
    mask[30:35, 20:60] = 100
    doc.set_selection(mask)
    doc.metadata.update({"title": "Fox", "ai_history": [{"seed": 1}, {"seed": 2.5}]})
    doc.set_active(deep)
    return doc


def test_round_trip_is_exact(tmp_path: Path) -> None:
    doc = rich_document()
    p = tmp_path / "rich.ora"
    save_ora(doc, p)
    back = load_ora(p)
    assert (back.width, back.height) == (96, 64)
    assert_same_tree(doc.root, back.root)
    assert np.array_equal(back.flatten(), doc.flatten())
    assert np.array_equal(back.selection, doc.selection)
    assert back.metadata == doc.metadata
    assert back.active is not None and back.active.name == "deep"
    assert back.path == str(p) and not back.modified and not back.history.can_undo
    assert back.revision == 0
    # saving what we loaded writes the same stack again
    p2 = tmp_path / "again.ora"
    save_ora(back, p2)
    with zipfile.ZipFile(p) as a, zipfile.ZipFile(p2) as b:
        assert a.read("stack.xml") == b.read("stack.xml")
        assert a.read("aiart/document.json") == b.read("aiart/document.json")


def test_file_layout(tmp_path: Path) -> None:
    doc = Document.new(600, 300)
    doc.add_layer("patch", pixels=rand_rgba(5, 10, opaque=True), x=40, y=30)
    doc.add_layer("nothing")
    p = tmp_path / "layout.ora"
    save_ora(doc, p)
    raw = p.read_bytes()
    assert raw[30:38] == b"mimetype" and raw[38:54] == b"image/openraster"  # magic for file(1)
    with zipfile.ZipFile(p) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"image/openraster"
        image = ET.fromstring(z.read("stack.xml"))
        layers = {e.get("name"): e for e in image.iter("layer")}
        assert (image.get("w"), image.get("h")) == ("600", "300")
        patch = layers["patch"]
        assert (patch.get("x"), patch.get("y")) == ("40", "30")
        with Image.open(io.BytesIO(z.read(patch.get("src")))) as im:
            assert im.size == (10, 5)  # cropped to the painted bounds
        with Image.open(io.BytesIO(z.read(layers["nothing"].get("src")))) as im:
            assert im.size == (1, 1)
        assert [e.get("name") for e in image.iter("layer")] == ["nothing", "patch", "Background"]
        with Image.open(io.BytesIO(z.read("mergedimage.png"))) as im:
            assert im.size == (600, 300) and np.array_equal(np.asarray(im), doc.flatten())
        with Image.open(io.BytesIO(z.read("Thumbnails/thumbnail.png"))) as im:
            assert im.size == (256, 128)


def test_composite_ops_written_and_read(tmp_path: Path) -> None:
    doc = Document.new(8, 8)
    for mode in BLEND_MODES:
        doc.set_props(doc.add_layer(mode, pixels=rand_rgba(2, 2)), blend_mode=mode)
    p = tmp_path / "modes.ora"
    save_ora(doc, p)
    with zipfile.ZipFile(p) as z:
        ops = {e.get("name"): e.get("composite-op")
               for e in ET.fromstring(z.read("stack.xml")).iter("layer")}
    assert ops["normal"] == ops["Background"] == "svg:src-over"
    assert ops["multiply"] == "svg:multiply" and ops["color-dodge"] == "svg:color-dodge"
    assert ops["luminosity"] == "svg:luminosity" and ops["exclusion"] == "svg:exclusion"
    assert [n.blend_mode for n in load_ora(p).layers[1:]] == list(BLEND_MODES)


@pytest.mark.parametrize("op,mode", [
    ("svg:multiply", "multiply"), ("SVG:Screen", "screen"), ("krita:exclusion", "exclusion"),
    ("krita:dodge", "color-dodge"), ("krita:luminize", "luminosity"),
    ("color-dodge", "color-dodge"), ("difference", "difference"), ("", "normal"),
])
def test_composite_op_aliases(tmp_path: Path, op: str, mode: str) -> None:
    xml = (f'<image w="4" h="4"><stack><layer src="a.png" composite-op="{op}"/>'
           "</stack></image>")
    p = write_ora(tmp_path / "op.ora", xml, {"a.png": png(rand_rgba(4, 4))})
    layer = load_ora(p).layers[0]
    assert layer.blend_mode == mode and "composite-op" not in layer.extra


def test_unknown_attributes_and_ops_are_kept(tmp_path: Path) -> None:
    xml = """<?xml version="1.0"?>
<image w="8" h="8" xmlns:x="urn:example:x" xmlns:mypaint="http://mypaint.org/ns/openraster">
 <stack>
  <stack name="g" isolation="isolate" x:colour-label="3" future="yes">
   <layer name="plus" src="data/a.png" composite-op="svg:plus" x:note="keep &amp; me"
          mypaint:strokemap="data/a_strokemap.dat" mypaint:future="1"/>
  </stack>
 </stack>
</image>"""
    p = write_ora(tmp_path / "extra.ora", xml, {"data/a.png": png(rand_rgba(8, 8)),
                                                 "data/a_strokemap.dat": b"\x00\x01junk"})
    doc = load_ora(p)
    group, layer = doc.nodes
    assert layer.blend_mode == "normal" and layer.extra["composite-op"] == "svg:plus"
    assert layer.extra["{urn:example:x}note"] == "keep & me"
    assert not any("strokemap" in k for k in layer.extra)  # refers to data we do not keep
    assert group.extra == {"{urn:example:x}colour-label": "3", "future": "yes"}
    out = tmp_path / "out.ora"
    save_ora(doc, out)
    with zipfile.ZipFile(out) as z:
        text = z.read("stack.xml").decode()
        image = ET.fromstring(text)
    assert 'xmlns:mypaint="http://mypaint.org/ns/openraster"' in text
    stack = image.find("stack/stack")
    assert stack.get("{urn:example:x}colour-label") == "3" and stack.get("future") == "yes"
    el = image.find("stack/stack/layer")
    assert el.get("composite-op") == "svg:plus" and el.get("{urn:example:x}note") == "keep & me"
    assert el.get("{http://mypaint.org/ns/openraster}future") == "1"
    assert load_ora(out).layers[0].extra == layer.extra


def test_src_less_layers_legacy_flags_and_defaults(tmp_path: Path) -> None:
    xml = """<image w="6" h="6"><stack>
      <layer name="no pixels"/>
      <layer name="old hidden" src="b.png" hidden="true"/>
      <stack name="plain"><layer name="in" src="a.png" visibility="visible"/></stack>
    </stack></image>"""
    p = write_ora(tmp_path / "legacy.ora", xml, {"a.png": png(rand_rgba(6, 6)),
                                                  "b.png": png(rand_rgba(6, 6))})
    doc = load_ora(p)
    assert [n.name for n in doc.nodes] == ["plain", "in", "old hidden", "no pixels"]
    in_layer, old, empty = doc.layers
    assert not old.visible and in_layer.visible and in_layer.opacity == 1.0
    assert empty.tiles.is_empty()
    assert doc.nodes[0].pass_through  # no isolation attribute: "auto"
    assert doc.active is empty  # nothing marked selected: the topmost layer


# ---- files from other programs ---------------------------------------------------------------
def test_krita_file_looks_the_same(tmp_path: Path) -> None:
    w, h = 64, 48
    px = {i: rand_rgba(h, w, opaque=(i == 0)) for i in range(6)}
    ref = Document(w, h)
    add(ref.root, paint("Background", 0, 0, px[0], locked=True))
    add(ref.root, paint("Colour", 0, 0, px[1], opacity=0.75))
    add(ref.root, paint("Hidden", 0, 0, px[2], visible=False))
    glow = add(ref.root, Group(name="Glow", blend_mode="screen", opacity=0.8))
    add(glow, paint("Light", 0, 0, px[3], locked=True))
    shading = add(ref.root, Group(name="Shading", pass_through=True, opacity=0.5))
    add(shading, paint("Shadow", 0, 0, px[4], blend_mode="multiply"))
    add(ref.root, paint("Ink", 0, 0, px[5], blend_mode="exclusion"))
    common = 'visibility="visible" x="0" y="0"'
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE image>
<image version="0.0.1" w="{w}" h="{h}" xres="300" yres="300">
 <stack name="root" opacity="1" {common} composite-op="svg:src-over" isolation="isolate">
  <layer name="Ink" opacity="1" {common} composite-op="krita:exclusion" selected="true"
         src="data/layer6.png"/>
  <stack name="Shading" opacity="0.5" {common} composite-op="svg:src-over" isolation="auto">
   <layer name="Shadow" opacity="1" {common} composite-op="svg:multiply" src="data/layer5.png"/>
  </stack>
  <stack name="Glow" opacity="0.8" {common} composite-op="svg:screen" isolation="isolate">
   <layer name="Light" opacity="1" {common} composite-op="svg:src-over" edit-locked="true"
          src="data/layer4.png"/>
  </stack>
  <layer name="Hidden" opacity="1" visibility="hidden" x="0" y="0" composite-op="svg:src-over"
         src="data/layer2.png"/>
  <layer name="Colour" opacity="0.75" {common} composite-op="svg:src-over" src="data/layer1.png"/>
  <layer name="Background" opacity="1" {common} composite-op="svg:src-over" edit-locked="true"
         src="data/layer0.png"/>
 </stack>
</image>"""
    members = {"data/layer0.png": png(px[0][..., :3]), "data/layer1.png": png(px[1]),
               "data/layer2.png": png(px[2]), "data/layer4.png": png(px[3]),
               "data/layer5.png": png(px[4]), "data/layer6.png": png(px[5]),
               "mergedimage.png": merged(ref), "Thumbnails/thumbnail.png": merged(ref)}
    doc = load_ora(write_ora(tmp_path / "krita.ora", xml, members))
    with Image.open(io.BytesIO(members["mergedimage.png"])) as im:
        assert np.array_equal(doc.flatten(), np.asarray(im))
    assert_same_tree(ref.root, doc.root)
    assert doc.active.name == "Ink" and doc.metadata["resolution"] == [300.0, 300.0]


def test_gimp_file_looks_the_same(tmp_path: Path) -> None:
    w, h = 40, 30
    sky = rand_rgba(h, w, opaque=True)[..., :3]
    grey = RNG.integers(0, 256, (10, 10), dtype=np.uint8)
    ga = RNG.integers(0, 256, (6, 7, 2), dtype=np.uint8)
    deep = RNG.integers(0, 65536, (6, 8), dtype=np.uint16)
    dot = Image.new("P", (5, 5))
    dot.putpalette([250, 10, 10, 0, 0, 0] + [0] * 762)
    dot.putdata([0, 1] * 12 + [0])
    xml = f"""<?xml version='1.0' encoding='UTF-8'?>
<image w="{w}" h="{h}"><stack>
 <layer src="data/000.png" name="Dot" x="37" y="20" opacity="1.0" visibility="visible"
        composite-op="svg:src-over" />
 <stack name="Group" opacity="0.6" visibility="visible" composite-op="svg:src-over">
  <layer src="data/001-000.png" name="GreyAlpha" x="20" y="2" opacity="0.5"
         visibility="visible" composite-op="svg:src-over" />
  <layer src="data/001-001.png" name="Grey" x="-4" y="-3" opacity="1.0" visibility="visible"
         composite-op="svg:src-over" />
 </stack>
 <layer src="data/002.png" name="Deep" x="2" y="20" opacity="1.0" visibility="visible"
        composite-op="svg:src-over" />
 <layer src="data/003.png" name="Sky" x="0" y="0" opacity="1.0" visibility="visible"
        composite-op="svg:src-over" />
</stack></image>"""
    # what each layer must decode to
    rgba = {
        "Sky": np.dstack([sky, np.full((h, w), 255, np.uint8)]),
        "Deep": np.dstack([np.repeat(((deep.astype(np.int64) * 255 + 32767) // 65535)
                                     .astype(np.uint8)[..., None], 3, 2),
                           np.full((6, 8), 255, np.uint8)]),
        "Grey": np.dstack([grey, grey, grey, np.full((10, 10), 255, np.uint8)]),
        "GreyAlpha": np.dstack([ga[..., 0]] * 3 + [ga[..., 1]]),
        "Dot": np.array([[250, 10, 10, 255] if i % 2 == 0 else [0, 0, 0, 0]
                         for i in range(25)], np.uint8).reshape(5, 5, 4),
    }
    spots = {"Sky": (0, 0, 1.0), "Deep": (2, 20, 1.0), "Grey": (-4, -3, 0.6),
             "GreyAlpha": (20, 2, 0.3), "Dot": (37, 20, 1.0)}
    expected = src_over([(place(rgba[n], x, y, w, h), op)
                         for n, (x, y, op) in spots.items()])
    members = {"data/003.png": png(sky, "RGB"), "data/002.png": png(deep),
               "data/001-001.png": png(grey, "L"), "data/001-000.png": png(ga, "LA"),
               "data/000.png": png(dot, transparency=1), "mergedimage.png": png(expected),
               "Thumbnails/thumbnail.png": png(expected)}
    doc = load_ora(write_ora(tmp_path / "gimp.ora", xml, members, stored=True))
    assert [n.name for n in doc.nodes] == ["Sky", "Deep", "Group", "Grey", "GreyAlpha", "Dot"]
    assert np.abs(doc.flatten().astype(int) - expected.astype(int)).max() <= 1
    grey_layer = doc.layers[2]
    assert grey_layer.bounds() == Rect(-4, -3, 10, 10)  # negative offset kept off-canvas
    assert np.array_equal(grey_layer.read(Rect(-4, -3, 10, 10)), rgba["Grey"])
    assert np.array_equal(doc.layers[-1].read(Rect(37, 20, 5, 5)), rgba["Dot"])


def test_mypaint_file_looks_the_same(tmp_path: Path) -> None:
    w, h = 50, 40
    bg = np.zeros((h, w, 3), np.uint8)
    bg[...] = (230, 225, 210)
    wash, ink = rand_rgba(20, 25), rand_rgba(12, 30)
    ref = Document(w, h)
    add(ref.root, paint("background", 0, 0, np.dstack([bg, np.full((h, w), 255, np.uint8)]),
                        locked=True))
    group = add(ref.root, Group(name="group", blend_mode="multiply", opacity=0.9))
    add(group, paint("wash", 4, 3, wash))
    add(ref.root, paint("ink", 5, 7, ink))
    ns = 'xmlns:mypaint="http://mypaint.org/ns/openraster"'
    xml = f"""<?xml version='1.0' encoding='UTF-8'?>
<image h="{h}" w="{w}" version="0.0.6" {ns}>
 <stack>
  <layer composite-op="svg:src-over" edit-locked="false" name="ink" opacity="1.0"
         selected="true" src="data/layer001.png" visibility="visible" x="5" y="7"
         mypaint:strokemap="data/layer001_strokemap.dat" />
  <stack composite-op="svg:multiply" isolation="isolate" name="group" opacity="0.9"
         visibility="visible" x="3" y="2">
   <layer composite-op="svg:src-over" name="wash" opacity="1.0" src="data/layer000.png"
          visibility="visible" x="1" y="1" mypaint_strokemap_v2="data/layer000_strokemap.dat" />
  </stack>
  <layer composite-op="svg:src-over" edit-locked="true" name="background" opacity="1.0"
         src="data/background.png" visibility="visible" x="0" y="0"
         mypaint:background-tile="data/background_tile.png" />
 </stack>
</image>"""
    members = {"data/layer001.png": png(ink), "data/layer000.png": png(wash),
               "data/layer001_strokemap.dat": b"\x00strokes\xff" * 10,
               "data/layer000_strokemap.dat": b"\x00strokes\xff" * 3,
               "data/background.png": png(bg, "RGB"),
               "data/background_tile.png": png(bg[:32, :32], "RGB"),
               "mergedimage.png": merged(ref), "Thumbnails/thumbnail.png": merged(ref)}
    doc = load_ora(write_ora(tmp_path / "mypaint.ora", xml, members))
    with Image.open(io.BytesIO(members["mergedimage.png"])) as im:
        assert np.array_equal(doc.flatten(), np.asarray(im))
    assert_same_tree(ref.root, doc.root)
    assert doc.active.name == "ink"
    assert all(not n.extra for n in doc.nodes)  # strokemaps and the tile are not ours to keep
    out = tmp_path / "resaved.ora"
    save_ora(doc, out)
    with zipfile.ZipFile(out) as z:  # no dangling references to members we dropped
        names = set(z.namelist())
        for el in ET.fromstring(z.read("stack.xml")).iter():
            assert all(v in names for v in el.attrib.values() if v.startswith("data/"))


# ---- atomic saving ----------------------------------------------------------------------------
def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = rich_document()
    p = tmp_path / "work.ora"
    save_ora(doc, p)
    os.chmod(p, 0o640)
    before = p.read_bytes()
    real = ora_module.png_bytes
    calls = {"n": 0}

    def failing_png(*args: Any, **kw: Any) -> bytes:
        calls["n"] += 1
        if calls["n"] >= 3:
            raise OSError(28, "No space left on device")
        return real(*args, **kw)

    monkeypatch.setattr(ora_module, "png_bytes", failing_png)
    doc.put_pixels(doc.layers[0], 0, 0, rand_rgba(4, 4, opaque=True))
    with pytest.raises(OSError, match="No space"):
        save_ora(doc, p)
    assert p.read_bytes() == before and calls["n"] == 3
    with pytest.raises(OSError):
        save_ora(doc, tmp_path / "new.ora")
    assert sorted(os.listdir(tmp_path)) == ["work.ora"]  # no temp files, no half-new file
    monkeypatch.setattr(ora_module, "png_bytes", real)
    save_ora(doc, p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640  # permissions kept across the replace
    assert np.array_equal(load_document(p).flatten(), doc.flatten())


def test_unserialisable_provenance_fails_cleanly(tmp_path: Path) -> None:
    doc = Document.new(4, 4)
    doc.layers[0].provenance = {"fn": object()}
    with pytest.raises(ValueError, match="provenance"):
        save_ora(doc, tmp_path / "x.ora")
    assert os.listdir(tmp_path) == []
    doc.layers[0].provenance = {"arr": np.arange(3), "f": np.float32(0.5), "t": (1, 2)}
    save_ora(doc, tmp_path / "x.ora")
    assert load_ora(tmp_path / "x.ora").layers[0].provenance == {"arr": [0, 1, 2], "f": 0.5,
                                                                   "t": [1, 2]}

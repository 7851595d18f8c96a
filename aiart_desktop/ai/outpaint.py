"""Outpaint geometry, computed once: how the canvas grows, and where the result goes.

`OutpaintRequest` computes its `OutpaintLayout` when it is made (`req.layout`) from the canvas
size, the context strip (`req.rect`), the direction and the pixels; everything that places an
outpaint reads it: the engine (the region the model paints, the mask of the new area), apply
(the grown canvas size and the content shift), the canvas preview (`to_canvas`) and the
thumbnails (`strip`). Only `capture.grow_canvas` and `capture.make_request` use the plain
arithmetic below (`outpaint_plan`, `outpaint_context`).

    layout = OutpaintLayout.plan((100, 50), Rect(36, 0, 64, 50), "right", 16)
    layout.size == (116, 50); layout.shift == (0, 0); layout.region == Rect(36, 0, 80, 50)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.geometry import Rect
from .errors import RequestError

DIRECTIONS = ("left", "right", "top", "bottom")


def outpaint_plan(width: int, height: int, direction: str, pixels: int
                  ) -> tuple[int, int, int, int, Rect]:
    """(new width, new height, dx, dy, new area) for growing a width×height canvas by `pixels`
    on `direction`; (dx, dy) is how far existing content moves, the new area is in the grown
    canvas's coordinates."""
    p = int(pixels)
    if direction == "right":
        return width + p, height, 0, 0, Rect(width, 0, p, height)
    if direction == "left":
        return width + p, height, p, 0, Rect(0, 0, p, height)
    if direction == "bottom":
        return width, height + p, 0, 0, Rect(0, height, width, p)
    if direction == "top":
        return width, height + p, 0, p, Rect(0, 0, width, p)
    raise RequestError(f"unknown direction {direction!r} (use one of {', '.join(DIRECTIONS)})")


def outpaint_context(width: int, height: int, direction: str, pixels: int) -> Rect:
    """The strip of the existing canvas along the edge that the model sees as context."""
    horizontal = direction in ("left", "right")
    extent = width if horizontal else height
    ctx = min(extent, max(64, int(pixels)))
    if direction == "right":
        return Rect(width - ctx, 0, ctx, height)
    if direction == "left":
        return Rect(0, 0, ctx, height)
    if direction == "bottom":
        return Rect(0, height - ctx, width, ctx)
    return Rect(0, 0, width, ctx)


@dataclass(frozen=True, eq=False)
class OutpaintLayout:
    """Where an outpaint of a `canvas_size` canvas puts things (see `plan`).

    `size`: the grown canvas (width, height); `shift`: (dx, dy), how far the existing content
    moves when it grows; `area`: the new, empty area, and `region`: the context strip plus the
    new area (the result's rect), both in the grown canvas's coordinates; `strip`: where the
    context strip sits inside `region` (relative to it); `mask`: (region.h, region.w) uint8,
    255 on the new area (read-only)."""

    canvas_size: tuple[int, int]
    size: tuple[int, int]
    shift: tuple[int, int]
    area: Rect
    region: Rect
    strip: Rect
    mask: np.ndarray

    @classmethod
    def plan(cls, canvas_size: tuple[int, int], context: Rect, direction: str,
             pixels: int) -> OutpaintLayout:
        """The layout for growing a `canvas_size` canvas by `pixels` on `direction`, the model
        seeing `context` (a strip of the canvas along that edge, its full width or height).
        Raises RequestError when `context` is not such a strip."""
        w, h = (int(v) for v in canvas_size)
        if w <= 0 or h <= 0:
            raise RequestError("the outpaint request does not say how big the canvas was")
        new_w, new_h, dx, dy, area = outpaint_plan(w, h, direction, pixels)
        along = {"right": context.right == w, "left": context.x == 0,
                 "bottom": context.bottom == h, "top": context.y == 0}[direction]
        spans = (context.y == 0 and context.h == h) if direction in ("left", "right") \
            else (context.x == 0 and context.w == w)
        inside = not context.empty and Rect(0, 0, w, h).contains_rect(context)
        if not (inside and along and spans):
            raise RequestError(f"the outpaint context {context} is not a strip along the "
                               f"{direction} edge of a {w}x{h} canvas")
        strip = context.translated(dx, dy)
        region = strip.union(area)
        mask = np.zeros((region.h, region.w), np.uint8)
        mask[area.slices(region.x, region.y)] = 255
        mask.flags.writeable = False
        return cls((w, h), (new_w, new_h), (dx, dy), area, region,
                   strip.translated(-region.x, -region.y), mask)

    def to_canvas(self, rect: Rect) -> Rect:
        """`rect` of the grown canvas in the coordinates of the canvas before it grows (where
        the preview of a result shows while the canvas is still `canvas_size`)."""
        return rect.translated(-self.shift[0], -self.shift[1])

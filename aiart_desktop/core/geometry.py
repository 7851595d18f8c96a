"""Integer rectangle and point value types used everywhere in the core."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Rect:
    """Half-open integer rectangle: covers x <= px < x + w, y <= py < y + h."""

    x: int
    y: int
    w: int
    h: int

    @classmethod
    def from_edges(cls, left: int, top: int, right: int, bottom: int) -> Rect:
        return cls(left, top, max(0, right - left), max(0, bottom - top))

    @classmethod
    def around(cls, cx: float, cy: float, radius: float) -> Rect:
        """Smallest integer rect covering the disc of `radius` at (cx, cy), plus one pixel."""
        left = math.floor(cx - radius) - 1
        top = math.floor(cy - radius) - 1
        right = math.ceil(cx + radius) + 1
        bottom = math.ceil(cy + radius) + 1
        return cls.from_edges(left, top, right, bottom)

    @classmethod
    def bounding(cls, rects: Iterable[Rect]) -> Rect:
        out = EMPTY
        for r in rects:
            out = out.union(r)
        return out

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def empty(self) -> bool:
        return self.w <= 0 or self.h <= 0

    @property
    def area(self) -> int:
        return 0 if self.empty else self.w * self.h

    def intersect(self, other: Rect) -> Rect:
        return Rect.from_edges(
            max(self.x, other.x),
            max(self.y, other.y),
            min(self.right, other.right),
            min(self.bottom, other.bottom),
        )

    def union(self, other: Rect) -> Rect:
        if self.empty:
            return other
        if other.empty:
            return self
        return Rect.from_edges(
            min(self.x, other.x),
            min(self.y, other.y),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def translated(self, dx: int, dy: int) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.w, self.h)

    def expanded(self, margin: int) -> Rect:
        return Rect.from_edges(
            self.x - margin, self.y - margin, self.right + margin, self.bottom + margin
        )

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px < self.right and self.y <= py < self.bottom

    def contains_rect(self, other: Rect) -> bool:
        return (
            other.empty
            or (self.x <= other.x and self.y <= other.y
                and other.right <= self.right and other.bottom <= self.bottom)
        )

    def slices(self, origin_x: int = 0, origin_y: int = 0) -> tuple[slice, slice]:
        """Numpy (rows, cols) slices of this rect inside an array whose (0,0) is at origin."""
        return (
            slice(self.y - origin_y, self.bottom - origin_y),
            slice(self.x - origin_x, self.right - origin_x),
        )


EMPTY = Rect(0, 0, 0, 0)

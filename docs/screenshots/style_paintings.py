"""Paintings to judge the built-in styles on, made with the app's own brush engine
(`core.brush.Stroke`, the dab engine the canvas uses), headless:

- `still_life()`: a bowl of fruit and a jug on a table, painted in many short loaded strokes
  over a toned ground (a typical small oil/acrylic study);
- `sketch()`: a pencil-and-wash sketch on white paper (a cottage, a tree, a path), the kind of
  picture where a style must keep the paper light.

The landscape of `make_screenshots.py` (painted through the real window) is the third.
"""
from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aiart_desktop.core.brush import SOFT, BrushSettings, Stroke
from aiart_desktop.core.document import Document

Pt = tuple[float, float]


def stroke(doc: Document, brush: BrushSettings, pts: list[Pt],
           pressure: list[float] | None = None) -> None:
    layer = doc.active_layer
    assert layer is not None
    pr = pressure or [1.0] * len(pts)
    s = Stroke(doc, layer, brush, pts[0][0], pts[0][1], pr[0])
    for (x, y), p in zip(pts[1:], pr[1:], strict=True):
        s.move(x, y, p)
    s.end()


def jitter(c: tuple[int, int, int], rng: random.Random, amount: int = 18
           ) -> tuple[int, int, int]:
    return tuple(max(0, min(255, v + rng.randint(-amount, amount))) for v in c)  # type: ignore[return-value]


def dabs(doc: Document, rng: random.Random, cx: float, cy: float, rx: float, ry: float,
         colour_at, n: int, size: float, length: float = 18.0, angle: float | None = None
         ) -> None:
    """`n` short loaded strokes inside the ellipse (cx, cy, rx, ry); colour from
    `colour_at(u, v)` with u, v in [-1, 1] across the ellipse."""
    for _ in range(n):
        while True:
            u, v = rng.uniform(-1, 1), rng.uniform(-1, 1)
            if u * u + v * v <= 1:
                break
        x, y = cx + u * rx, cy + v * ry
        a = angle if angle is not None else math.atan2(v, u) + math.pi / 2
        a += rng.uniform(-0.4, 0.4)
        d = length * rng.uniform(0.6, 1.3)
        pts = [(x + math.cos(a) * d * t / 4, y + math.sin(a) * d * t / 4) for t in range(5)]
        brush = BrushSettings(size=size * rng.uniform(0.7, 1.2), hardness=0.55,
                              opacity=rng.uniform(0.75, 0.95), flow=0.8, spacing=0.08,
                              color=jitter(colour_at(u, v), rng, 10))
        stroke(doc, brush, pts, [0.6, 0.9, 1.0, 0.9, 0.5])


def still_life(w: int = 960, h: int = 720, seed: int = 3) -> Document:
    rng = random.Random(seed)
    doc = Document.new(w, h, (196, 178, 150, 255))
    # Wall: warm dark ground, broad strokes.
    for y in range(0, int(h * 0.62), 26):
        c = (92 + y // 12, 78 + y // 14, 66 + y // 18)
        stroke(doc, BrushSettings(size=60, hardness=0.3, opacity=0.7, flow=0.5, spacing=0.1,
                                  color=jitter(c, rng, 8)),
               [(x, y + rng.uniform(-6, 6)) for x in range(-40, w + 60, 60)])
    # Table top and its front edge.
    for y in range(int(h * 0.6), h + 30, 22):
        t = (y - h * 0.6) / (h * 0.4)
        c = (150 - int(50 * t), 104 - int(40 * t), 70 - int(30 * t))
        stroke(doc, BrushSettings(size=50, hardness=0.4, opacity=0.8, flow=0.6, spacing=0.1,
                                  color=jitter(c, rng, 8)),
               [(x, y + rng.uniform(-4, 4)) for x in range(-40, w + 60, 50)])
    # Cloth: a pale drape with folds.
    for i in range(40):
        x0 = 80 + i * 9
        c = (226, 222, 208) if i % 5 else (176, 172, 168)
        stroke(doc, BrushSettings(size=22, hardness=0.5, opacity=0.85, flow=0.7,
                                  spacing=0.08, color=jitter(c, rng, 6)),
               [(x0 + 40 * math.sin(t / 3), 430 + t * 14) for t in range(22)])
    # Jug: a blue-grey body with a highlight.
    def jug(u: float, v: float) -> tuple[int, int, int]:
        light = 0.5 + 0.5 * (-u * 0.7 - v * 0.5)
        return (int(50 + 70 * light), int(70 + 80 * light), int(110 + 90 * light))
    dabs(doc, rng, 300, 330, 95, 150, jug, 900, 16, 20, angle=math.pi / 2)
    dabs(doc, rng, 255, 270, 18, 70, lambda u, v: (235, 238, 240), 60, 8, 14)
    # Bowl: a terracotta ellipse with a dark inside.
    dabs(doc, rng, 600, 500, 190, 70, lambda u, v: (
        int(170 + 50 * (-u)), int(90 + 30 * (-u)), int(60 + 10 * (-u))), 700, 14, 18, 0.0)
    # Fruit: oranges, apples, lemons, grapes.
    for cx, cy, r, base in ((520, 430, 58, (236, 140, 40)), (640, 420, 62, (196, 40, 34)),
                            (745, 445, 52, (240, 210, 70)), (585, 365, 50, (226, 120, 30)),
                            (700, 360, 46, (120, 160, 60))):
        def fruit(u: float, v: float, base: tuple[int, int, int] = base
                  ) -> tuple[int, int, int]:
            light = 0.55 + 0.45 * (-0.6 * u - 0.8 * v)
            return tuple(int(min(255, c * (0.45 + 0.8 * light))) for c in base)  # type: ignore[return-value]
        dabs(doc, rng, cx, cy, r, r, fruit, 420, 12, 14)
        dabs(doc, rng, cx - r * 0.35, cy - r * 0.4, r * 0.18, r * 0.14,
             lambda u, v: (255, 244, 220), 14, 6, 6)
    for i in range(14):  # grapes hanging over the rim
        gx, gy = 800 + (i % 4) * 22 + rng.uniform(-4, 4), 470 + (i // 4) * 22
        dabs(doc, rng, gx, gy, 11, 11, lambda u, v: (
            int(90 - 40 * v), int(50 - 20 * v), int(110 - 30 * v)), 26, 8, 7)
    # Shadows on the table under the bowl.
    stroke(doc, BrushSettings(size=70, hardness=0.1, opacity=0.35, flow=0.3, spacing=0.1,
                              color=(60, 38, 30)),
           [(x, 585) for x in range(420, 800, 30)])
    doc.history.clear()
    return doc


def sketch(w: int = 960, h: int = 720, seed: int = 5) -> Document:
    """Graphite lines and a light wash on white paper."""
    rng = random.Random(seed)
    doc = Document.new(w, h, (252, 251, 247, 255))
    pencil = BrushSettings(size=3.2, hardness=0.7, opacity=0.8, flow=0.9, spacing=0.05,
                           color=(70, 70, 74), size_curve=SOFT, min_size=1.0)
    wash = BrushSettings(size=46, hardness=0.15, opacity=0.25, flow=0.25, spacing=0.08)

    def line(a: Pt, b: Pt, wobble: float = 1.5, times: int = 2) -> None:
        for _ in range(times):
            n = max(2, int(math.dist(a, b) / 12))
            pts = [(a[0] + (b[0] - a[0]) * t / n + rng.uniform(-wobble, wobble),
                    a[1] + (b[1] - a[1]) * t / n + rng.uniform(-wobble, wobble))
                   for t in range(n + 1)]
            stroke(doc, pencil, pts, [0.5 + 0.5 * math.sin(math.pi * t / n) for t in range(n + 1)])

    # Washes first: sky, grass, the roof.
    for y in range(40, 260, 40):
        stroke(doc, wash.with_(color=(150, 180, 215)), [(x, y) for x in range(0, w, 40)])
    for y in range(520, h, 36):
        stroke(doc, wash.with_(color=(150, 185, 120)), [(x, y) for x in range(0, w, 40)])
    for y in range(300, 380, 20):
        stroke(doc, wash.with_(color=(190, 120, 100), size=30),
               [(x, y) for x in range(330 + (380 - y), 640 - (380 - y) // 3, 25)])
    # The cottage.
    line((330, 380), (330, 560))
    line((640, 380), (640, 560))
    line((310, 385), (480, 280))
    line((480, 280), (660, 385))
    line((300, 560), (680, 560))
    line((450, 460), (450, 560))
    line((520, 460), (520, 560))
    line((450, 460), (520, 460))
    for x0, y0 in ((360, 420), (560, 420)):
        line((x0, y0), (x0 + 50, y0))
        line((x0, y0 + 45), (x0 + 50, y0 + 45))
        line((x0, y0), (x0, y0 + 45))
        line((x0 + 50, y0), (x0 + 50, y0 + 45))
        line((x0 + 25, y0), (x0 + 25, y0 + 45), times=1)
    line((580, 330), (580, 270))
    line((610, 345), (610, 270))
    line((580, 270), (610, 270))
    # Hatching in the shade of the right wall and under the eaves.
    for i in range(22):
        x = 600 + i * 2
        line((x, 400 + i), (x - 30, 440 + i), wobble=0.8, times=1)
    for i in range(30):
        line((340 + i * 10, 392), (350 + i * 10, 380), wobble=0.5, times=1)
    # Tree: trunk and scribbled foliage.
    line((790, 560), (800, 400), times=3)
    line((815, 560), (812, 400), times=3)
    for _ in range(60):
        cx, cy = 805 + rng.gauss(0, 60), 330 + rng.gauss(0, 50)
        pts = [(cx + 14 * math.cos(t * 1.3) + rng.uniform(-3, 3),
                cy + 10 * math.sin(t * 1.7) + rng.uniform(-3, 3)) for t in range(8)]
        stroke(doc, pencil.with_(size=2.5), pts, [0.6] * 8)
    # Path and grass marks.
    line((485, 560), (420, 720), wobble=3)
    line((520, 560), (600, 720), wobble=3)
    for _ in range(70):
        x, y = rng.uniform(20, w - 20), rng.uniform(580, h - 10)
        line((x, y), (x + rng.uniform(-4, 4), y - rng.uniform(8, 18)), wobble=0.5, times=1)
    # Hills on the horizon.
    line((0, 470), (200, 430), wobble=2)
    line((200, 430), (330, 455), wobble=2)
    line((660, 450), (960, 410), wobble=2)
    doc.history.clear()
    return doc


def pixels(doc: Document) -> np.ndarray:
    return np.ascontiguousarray(doc.flatten()[..., :3])


def save(doc: Document, path: Path) -> Path:
    from PIL import Image

    Image.fromarray(pixels(doc)).save(path)
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    save(still_life(), out / "still_life.png")
    save(sketch(), out / "sketch.png")

"""Control pictures: what a ControlNet sees, made from a control layer's pixels (numpy/OpenCV).

    spec = ControlLayer(layer_uid=7, kind="lineart", strength=0.8)   # what the AI dock keeps
    req = capture.make_request(doc, "txt2img", controls=[spec], ...) # copies the layer's pixels
    rgb = preprocess("lineart", rgba)                                # (h, w, 3) uint8

What each kind makes (SD 1.5 ControlNet 1.1 conventions: white on black):
- scribble, lineart: the artist's own lines. Where the layer is mostly transparent, its alpha
  is the ink (any colour of pen); on an opaque layer, dark lines on light paper are the ink.
  Inverted and thresholded to white lines on black (scribble's lines thickened, as its
  model was trained on thick scribbles);
- softedge: soft edges of any picture (blurred Sobel magnitude, normalised);
- canny: OpenCV's Canny edges of any picture;
- tile: the picture itself (for refine and upscale);
- depth, pose: need a detector model (the local backend runs them; `pose_picture` draws the
  OpenPose skeleton from detected keypoints, `depth_picture` turns a depth map into grey).

`scale(rgba, size)` scales a control layer's pixels to the job's size exactly as the engine
scales the region's picture (region.resize), premultiplied so transparent pixels leave no
fringe. Nothing here imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import region
from .conditioning import CONTROL_KINDS, CONTROL_LABELS
from .errors import RequestError

DETECTOR_KINDS = ("depth", "pose")     # kinds that need a detector model
LINE_KINDS = ("scribble", "lineart")   # the artist's own lines
INK_THRESHOLD = 64                     # ink (0..255) above this is a line


@dataclass(frozen=True)
class ControlLayer:
    """One control layer as the AI dock keeps it: which layer (or group), how it steers."""

    layer_uid: int
    kind: str
    strength: float = 1.0
    start: float = 0.0
    end: float = 1.0
    model: str = ""        # a control model id; "" = the installed one that fits

    def __post_init__(self) -> None:
        if self.kind not in CONTROL_KINDS:
            raise RequestError(f"unknown control type {self.kind!r} "
                               f"(use one of {', '.join(CONTROL_KINDS)})")

    @property
    def label(self) -> str:
        return CONTROL_LABELS[self.kind]


# ---- scaling ---------------------------------------------------------------------------------
def scale(rgba: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Straight RGBA8 scaled to (width, height) with `region.resize` (the picture's filter),
    through premultiplied colour so transparent pixels do not darken the edges."""
    w, h = size
    if rgba.shape[1] == w and rgba.shape[0] == h:
        return rgba
    a = rgba[..., 3:4].astype(np.float32) * (1.0 / 255.0)
    pre = np.concatenate([rgba[..., :3].astype(np.float32) * a, a * 255.0], axis=2)
    out = region.resize(pre, size)
    alpha = np.clip(out[..., 3:4], 0.0, 255.0)
    safe = np.where(alpha > 0.5, alpha * (1.0 / 255.0), 1.0)
    rgb = np.where(alpha > 0.5, out[..., :3] / safe, 0.0)
    res = np.concatenate([rgb, alpha], axis=2)
    return np.clip(res + 0.5, 0, 255).astype(np.uint8)


# ---- the kinds -------------------------------------------------------------------------------
def ink(rgba: np.ndarray) -> np.ndarray:
    """How much of a line each pixel is (uint8, 255 = full ink): the alpha of a mostly
    transparent layer, else darkness on light paper."""
    alpha = rgba[..., 3]
    if float((alpha < 128).mean()) > 0.5:
        return np.ascontiguousarray(alpha)
    grey = cv2.cvtColor(region.rgba_to_rgb(rgba), cv2.COLOR_RGB2GRAY)
    return 255 - grey


def lines(rgba: np.ndarray, thick: bool = False) -> np.ndarray:
    """White lines on black (uint8 (h, w)) from the artist's ink; `thick` for scribbles."""
    mask = np.where(ink(rgba) > INK_THRESHOLD, 255, 0).astype(np.uint8)
    if not thick:
        return mask
    r = max(1, round(min(mask.shape) / 256))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return np.asarray(cv2.dilate(mask, kernel), np.uint8)


def canny(rgb: np.ndarray, low: int = 100, high: int = 200) -> np.ndarray:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.Canny(grey, low, high)


def soft_edges(rgb: np.ndarray) -> np.ndarray:
    """Soft edges (uint8 (h, w)): the blurred picture's gradient magnitude, normalised, with a
    gamma that keeps faint edges visible (close to what HED / PiDiNet give the softedge model)."""
    grey = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.2)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.GaussianBlur(np.sqrt(gx * gx + gy * gy), (0, 0), 1.0)
    top = float(np.percentile(mag, 99.5))
    if top <= 1e-3:
        return np.zeros(grey.shape, np.uint8)
    out = np.clip(mag / top, 0.0, 1.0) ** 0.7
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _grey3(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(a[..., None], 3, axis=2))


def preprocess(kind: str, rgba: np.ndarray) -> np.ndarray:
    """The control picture (h, w, 3) uint8 a ControlNet of `kind` sees, from a control
    layer's straight RGBA pixels. Depth and pose need a detector: `needs_detector(kind)`."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise RequestError(f"a control's picture must be RGBA, not {rgba.shape}")
    if kind in LINE_KINDS:
        return _grey3(lines(rgba, thick=kind == "scribble"))
    rgb = region.rgba_to_rgb(rgba)
    if kind == "canny":
        return _grey3(canny(rgb))
    if kind == "softedge":
        return _grey3(soft_edges(rgb))
    if kind == "tile":
        return np.ascontiguousarray(rgb)
    if kind in DETECTOR_KINDS:
        raise RequestError(f"the {CONTROL_LABELS[kind]} control needs its detector model")
    raise RequestError(f"unknown control type {kind!r}")


def needs_detector(kind: str) -> bool:
    return kind in DETECTOR_KINDS


# ---- detector helpers (the local backend runs the models) ------------------------------------
def depth_picture(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A relative (inverse) depth map, near = large, as the grey picture the depth ControlNet
    expects (near = white), at (width, height)."""
    d = np.asarray(cv2.resize(np.asarray(depth, np.float32), size,
                              interpolation=cv2.INTER_CUBIC), np.float32)
    lo, hi = float(d.min()), float(d.max())
    if not hi - lo > 1e-12:
        return np.zeros((size[1], size[0], 3), np.uint8)
    g = np.clip((d - lo) / (hi - lo) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return _grey3(g)


def detector_input(rgb: np.ndarray, size: tuple[int, int], mean: tuple[float, ...],
                   std: tuple[float, ...]) -> np.ndarray:
    """(1, 3, h, w) float32 of `rgb` resized to (width, height), normalised."""
    img = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC), np.float32) / 255.0
    norm = (img - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(norm.transpose(2, 0, 1)[None], dtype=np.float32)


def depth_input_size(w: int, h: int, target: int = 518, multiple: int = 14) -> tuple[int, int]:
    """Depth Anything's input size: the side whose scale changes least sets the scale (aspect
    kept), each side a multiple of 14."""
    sw, sh = target / w, target / h
    s = sw if abs(1 - sw) < abs(1 - sh) else sh

    def snap(v: float) -> int:
        return max(multiple, int(round(v / multiple)) * multiple)

    return snap(w * s), snap(h * s)


def pose_box(w: int, h: int, in_w: int = 192, in_h: int = 256, padding: float = 1.25
             ) -> tuple[float, float, float, float]:
    """(centre x, centre y, box width, box height) of the whole picture as one person's box,
    widened to the pose model's aspect and padded as ViTPose's processor does."""
    bw, bh = float(w), float(h)
    aspect = in_w / in_h
    if bw > aspect * bh:
        bh = bw / aspect
    else:
        bw = bh * aspect
    return w / 2.0, h / 2.0, bw * padding, bh * padding


def pose_crop(rgb: np.ndarray, box: tuple[float, float, float, float],
              in_size: tuple[int, int] = (192, 256)) -> np.ndarray:
    """The box of `rgb` warped to the pose model's input size (border: black)."""
    cx, cy, bw, bh = box
    iw, ih = in_size
    sx, sy = iw / bw, ih / bh
    m = np.array([[sx, 0, iw / 2 - cx * sx], [0, sy, ih / 2 - cy * sy]], np.float32)
    return cv2.warpAffine(rgb, m, (iw, ih), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def keypoints_from_heatmaps(heatmaps: np.ndarray, box: tuple[float, float, float, float]
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(K, 2) picture coordinates and (K,) scores of one person's heatmaps (K, hh, hw)."""
    k, hh, hw = heatmaps.shape
    flat = heatmaps.reshape(k, -1)
    idx = flat.argmax(axis=1)
    scores = flat.max(axis=1).astype(np.float32)
    ys, xs = (idx // hw).astype(np.float32), (idx % hw).astype(np.float32)
    for i in range(k):  # a quarter-pixel step towards the higher neighbour
        x, y = int(xs[i]), int(ys[i])
        hm = heatmaps[i]
        if 0 < x < hw - 1:
            xs[i] += 0.25 * np.sign(hm[y, x + 1] - hm[y, x - 1])
        if 0 < y < hh - 1:
            ys[i] += 0.25 * np.sign(hm[y + 1, x] - hm[y - 1, x])
    cx, cy, bw, bh = box
    px = xs * bw / max(1, hw - 1) + cx - bw * 0.5
    py = ys * bh / max(1, hh - 1) + cy - bh * 0.5
    return np.stack([px, py], axis=1), scores


# COCO's 17 keypoints -> OpenPose's 18 (index 1, the neck, is the shoulders' middle).
_COCO_TO_OPENPOSE = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
# OpenPose's limbs (keypoint pairs) and colours, as the openpose ControlNet was trained on.
_LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
          (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
_COLOURS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0),
            (85, 255, 0), (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255),
            (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255), (170, 0, 255),
            (255, 0, 255), (255, 0, 170), (255, 0, 85))


def openpose_keypoints(coco: np.ndarray, scores: np.ndarray, threshold: float
                       ) -> list[tuple[float, float] | None]:
    """COCO keypoints (17, 2) with scores -> OpenPose's 18 (None where not found)."""
    found = [tuple(map(float, coco[i])) if scores[i] >= threshold else None for i in range(17)]
    out: list[tuple[float, float] | None] = []
    for src in _COCO_TO_OPENPOSE:
        if src >= 0:
            out.append(found[src])  # type: ignore[arg-type]
        else:
            a, b = found[5], found[6]
            out.append(None if a is None or b is None
                       else ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0))
    return out


def pose_picture(points: list[tuple[float, float] | None], size: tuple[int, int]
                 ) -> np.ndarray:
    """The OpenPose skeleton picture (black background, coloured limbs and joints) of one
    person's 18 keypoints, at (width, height)."""
    w, h = size
    canvas = np.zeros((h, w, 3), np.uint8)
    stick = max(2, round(4 * max(w, h) / 512))
    for i, (a, b) in enumerate(_LIMBS):
        pa, pb = points[a], points[b]
        if pa is None or pb is None:
            continue
        limb = np.zeros_like(canvas)
        mx, my = (pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2
        length = float(np.hypot(pa[0] - pb[0], pa[1] - pb[1]))
        angle = float(np.degrees(np.arctan2(pa[1] - pb[1], pa[0] - pb[0])))
        poly = cv2.ellipse2Poly((int(mx), int(my)), (int(length / 2), stick), int(angle), 0,
                                360, 1)
        cv2.fillConvexPoly(limb, np.asarray(poly, np.int32), _COLOURS[i])
        canvas = np.maximum(canvas, (limb.astype(np.float32) * 0.6).astype(np.uint8))
    for i, p in enumerate(points):
        if p is not None:
            cv2.circle(canvas, (int(p[0]), int(p[1])), stick, _COLOURS[i], thickness=-1)
    return canvas

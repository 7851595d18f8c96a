"""LaMa (large-mask inpainting) and MI-GAN through onnxruntime: Fill selection's object
removers.

An "inpaint" job whose `model` is the path of a LaMa ONNX file (the catalogue's
`Carve/LaMa-ONNX` `lama_fp32.onnx`, or any export with the same interface) fills its `image`
(RGB8) where its `mask` (the selection) is set, like the classical fill (backends/classical.py):
every pixel where the mask is 0 is returned unchanged, and the engine blends the result through
`region.blend_mask` as it does every fill.

The interface is read from the session, not assumed: two inputs, the picture (3 channels) and
the mask (1 channel), told apart by their channel count (or the names "image" / "mask"), each
(1, C, H, W) float32 at the fixed H × W of the export (512² for LaMa; a dynamic size runs at
`SIZE`); one output (1, 3, H, W). The picture goes in as RGB in [0, 1], the mask as 1 where the
fill goes, and the output is read as RGB in [0, 255], the convention of the exports in the field
(Carve/LaMa-ONNX). An output in [0, 1] cannot be told apart reliably from a dark one in [0, 255],
so it is not guessed at: such an export would need converting.

MI-GAN's ONNX pipeline (the catalogue's `andraniksargsyan/migan` `migan_pipeline_v2.onnx`,
MIT) is told apart by its uint8 inputs (`MiganNet`): `image` (1, 3, H, W) RGB and `mask`
(1, 1, H, W), binary, **255 where the picture is kept** and 0 where the fill goes; its output
(1, 3, H, W) uint8 is the whole input with the hole filled, at the input's size (the pipeline
crops around the hole and runs at 512² itself). It gets the same crop (scaled to at most
`MIGAN_SIDE`) and its output is pasted the same way.

Only the region that matters runs: the selection's bounds plus a context margin (`context`) are
cut out, scaled to the network's size, filled in one run, scaled back and pasted where the
selection is. Cancel is checked before and after the run (one ONNX run cannot be interrupted).
onnxruntime is loaded through `style.onnxruntime` (telemetry off first); one session is kept
per file (its path, size and time).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..backend import Capabilities
from ..errors import Cancelled, ModelLoadError, RequestError, quoted
from ..job import Job
from ..requests import LAMA, MIGAN, ProgressInfo
from . import style

SIZE = 512            # the network's side when the export leaves it open
MIGAN_SIDE = 1024     # MI-GAN's pipeline takes any size: the crop is sent at most this big
MIN_CONTEXT = 32      # pixels of picture around the selection, at least...
CONTEXT_SHARE = 0.5   # ... or this share of the selection's longer side
DISPLAY_NAME = "LaMa"
MIGAN_NAME = "MI-GAN"


class LamaNet:
    """One loaded LaMa export: its session and the interface read from it."""

    def __init__(self, path: Path, sess: Any) -> None:
        self.path = path
        self.session = sess
        ins = sess.get_inputs()
        if len(ins) != 2 or len(sess.get_outputs()) != 1:
            raise ModelLoadError(f"{quoted(path)} is not a LaMa inpainting network: it takes "
                                 f"{len(ins)} inputs, not the picture and the mask")

        def channels(i: Any) -> Any:
            shape = list(i.shape)
            return shape[1] if len(shape) == 4 else None

        by_name = {i.name: i for i in ins}
        if {"image", "mask"} <= set(by_name):
            image, mask = by_name["image"], by_name["mask"]
        else:
            image, mask = sorted(ins, key=lambda i: channels(i) == 1)
        if channels(image) != 3 or channels(mask) != 1:
            raise ModelLoadError(f"{quoted(path)} is not a LaMa inpainting network: its inputs "
                                 "are not a 3-channel picture and a 1-channel mask")
        self.image_name, self.mask_name = image.name, mask.name
        self.output_name = sess.get_outputs()[0].name
        h, w = list(image.shape)[2:]
        self.size = (w if isinstance(w, int) else SIZE, h if isinstance(h, int) else SIZE)

    def inputs(self, rgb: np.ndarray, hole: np.ndarray) -> dict[str, np.ndarray]:
        """The feeds for an RGB8 picture and a hole (non-zero: fill), both at the network's
        size: (1, 3, H, W) RGB in [0, 1] and (1, 1, H, W) 0/1, float32."""
        h, w = hole.shape
        image = np.empty((1, 3, h, w), np.float32)
        for i, plane in enumerate(cv2.split(rgb)):  # planes: far faster than a transpose
            image[0, i] = plane
        image *= np.float32(1 / 255)
        mask = np.empty((1, 1, h, w), np.float32)
        np.not_equal(hole, 0, out=mask[0, 0])
        return {self.image_name: image, self.mask_name: mask}

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The network's output as an RGB8 (H, W, 3) picture."""
        out = np.asarray(self.session.run([self.output_name], feeds)[0], dtype=np.float32)[0]
        np.clip(out, 0, 255, out=out)
        np.rint(out, out=out)
        return out.transpose(1, 2, 0).astype(np.uint8)


class MiganNet:
    """One loaded MI-GAN pipeline: uint8 picture and keep-mask in, the filled picture out."""

    display_name = MIGAN_NAME

    def __init__(self, path: Path, sess: Any) -> None:
        self.path = path
        self.session = sess
        by_name = {i.name: i for i in sess.get_inputs()}
        if set(by_name) != {"image", "mask"} or len(sess.get_outputs()) != 1:
            raise ModelLoadError(f"{quoted(path)} is not an MI-GAN pipeline: it does not take "
                                 "the inputs “image” and “mask”")
        self.output_name = sess.get_outputs()[0].name

    def fill(self, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """`rgb` (RGB8) with the hole (non-zero) filled, at its size."""
        h, w = hole.shape
        image = np.empty((1, 3, h, w), np.uint8)
        for i, plane in enumerate(cv2.split(rgb)):
            image[0, i] = plane
        keep = np.where(hole > 0, np.uint8(0), np.uint8(255)).reshape(1, 1, h, w)
        out = np.asarray(self.session.run([self.output_name],
                                          {"image": image, "mask": keep})[0])
        if out.shape != (1, 3, h, w):
            raise ModelLoadError(f"{quoted(self.path)} is not an MI-GAN pipeline: its output "
                                 f"is {out.shape}, not the picture")
        return cv2.merge([np.ascontiguousarray(out[0, i], dtype=np.uint8) for i in range(3)])


def load(path: str | Path) -> LamaNet | MiganNet:
    """The LaMa network in `path` (cached while the file is unchanged); a ModelLoadError of at
    most two lines naming the file when it is missing, damaged or not a LaMa export."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise ModelLoadError(f"the LaMa model {quoted(p)} is missing (moved or deleted?).\n"
                             "Download it again in the model manager (Models…).") from None
    return _load(str(p), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=1)
def _load(path: str, size: int, mtime: int) -> LamaNet | MiganNet:
    ort = style.onnxruntime("LaMa")
    try:
        sess = ort.InferenceSession(path, style.session_options(ort),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        import logging

        logging.getLogger(__name__).warning("cannot load %s: %s", path, exc)
        raise ModelLoadError(f"the object-removal model {quoted(Path(path))} is damaged: "
                             "onnxruntime cannot read it.\nDownload it again in the model "
                             "manager (Models…).") from None
    if any(i.type == "tensor(uint8)" for i in sess.get_inputs()):
        return MiganNet(Path(path), sess)
    return LamaNet(Path(path), sess)


def context(w: int, h: int) -> int:
    """Pixels of picture around a w × h selection the network sees."""
    return max(MIN_CONTEXT, int(CONTEXT_SHARE * max(w, h)))


def crop_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the selection's bounds plus the context margin, inside the picture."""
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if ys.size == 0:
        raise RequestError("the selection is empty: select the area to work on first")
    bx0, by0, bx1, by1 = int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1
    m = context(bx1 - bx0, by1 - by0)
    h, w = mask.shape
    return max(0, bx0 - m), max(0, by0 - m), min(w, bx1 + m), min(h, by1 + m)


def prepare(net: LamaNet, rgb: np.ndarray, mask: np.ndarray
            ) -> tuple[dict[str, np.ndarray], tuple[int, int, int, int]]:
    """(the network's feeds, the crop box) for filling `rgb` where `mask` > 0."""
    x0, y0, x1, y1 = box = crop_box(mask)
    part = rgb[y0:y1, x0:x1]
    hole = np.where(mask[y0:y1, x0:x1] > 0, np.uint8(255), np.uint8(0))
    if part.shape[1] >= 2 * net.size[0] or part.shape[0] >= 2 * net.size[1]:
        # far bigger than the network: averaged (no aliasing); a hole pixel is any the
        # selection touches
        small = cv2.resize(part, net.size, interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole, net.size, interpolation=cv2.INTER_AREA)
    else:  # about its size (several times cheaper); the hole grown by a pixel to cover all
        small = cv2.resize(part, net.size, interpolation=cv2.INTER_LINEAR)
        small_hole = cv2.dilate(cv2.resize(hole, net.size, interpolation=cv2.INTER_NEAREST),
                                np.ones((3, 3), np.uint8))
    return net.inputs(small, small_hole), box


def paste(rgb: np.ndarray, mask: np.ndarray, filled: np.ndarray,
          box: tuple[int, int, int, int]) -> np.ndarray:
    """`rgb` with the network's `filled` picture (at its size) scaled back over `box`, where
    the selection is set; every other pixel unchanged."""
    x0, y0, x1, y1 = box
    back = cv2.resize(filled, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out = np.array(rgb, copy=True)
    view = out[y0:y1, x0:x1]
    sel = np.ascontiguousarray(mask[y0:y1, x0:x1])
    view[...] = cv2.copyTo(back, sel, view.copy())  # `back` where the selection is non-zero
    return out


def fill(rgb: np.ndarray, mask: np.ndarray, path: str | Path,
         cancelled: Callable[[], bool] = lambda: False) -> np.ndarray:
    """Fill the pixels where `mask` > 0 of an RGB8 picture with the LaMa network in `path`."""
    net = load(path)
    if isinstance(net, MiganNet):
        return _fill_migan(net, rgb, mask, cancelled)
    feeds, box = prepare(net, rgb, mask)
    if cancelled():
        raise Cancelled()
    filled = net.run(feeds)
    if cancelled():
        raise Cancelled()
    return paste(rgb, mask, filled, box)


def _fill_migan(net: MiganNet, rgb: np.ndarray, mask: np.ndarray,
                cancelled: Callable[[], bool]) -> np.ndarray:
    """MI-GAN on the same crop as LaMa (at most `MIGAN_SIDE` px), pasted the same way."""
    x0, y0, x1, y1 = box = crop_box(mask)
    part = rgb[y0:y1, x0:x1]
    hole = np.where(mask[y0:y1, x0:x1] > 0, np.uint8(255), np.uint8(0))
    scale = min(1.0, MIGAN_SIDE / max(x1 - x0, y1 - y0))
    if scale < 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        part = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
        hole = cv2.dilate(cv2.resize(hole, size, interpolation=cv2.INTER_NEAREST),
                          np.ones((3, 3), np.uint8))
    if cancelled():
        raise Cancelled()
    filled = net.fill(np.ascontiguousarray(part), hole)
    if cancelled():
        raise Cancelled()
    return paste(rgb, mask, filled, box)


class LamaBackend:
    """LaMa and MI-GAN behind the `Backend` protocol (ai/backend.py); see the module's notes.
    The engine sends it a Fill selection whose model is "lama" or "migan", or "auto" with no
    prompt while one is installed (ai/engine.py). Deterministic: every seed gets the same
    fill."""

    name = LAMA
    capabilities = Capabilities(ops=frozenset({"inpaint"}), archs=frozenset({LAMA, MIGAN}))

    def generate(self, job: Job, on_progress: Callable[[ProgressInfo], None] | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        if job.image is None or job.mask is None or not job.model:
            raise RequestError("the LaMa fill needs the region's pixels, the selection and "
                               "the model file")
        if cancelled():
            raise Cancelled()
        phase = f"removing ({_name(job.model)})"
        if on_progress is not None:
            on_progress(ProgressInfo(0, 1, None, phase))
        out = fill(job.image, job.mask, job.model, cancelled)
        if on_progress is not None:
            on_progress(ProgressInfo(1, 1, None, phase))
        return [out] + [out.copy() for _ in job.seeds[1:]]

    def record(self, job: Job) -> dict[str, Any]:
        return {"model_name": _name(job.model), "model_file": Path(job.model).name}

    def unload(self) -> None:
        _load.cache_clear()


def _name(path: str) -> str:
    """"LaMa" or "MI-GAN": what the file in `path` is (its session is cached)."""
    try:
        return MIGAN_NAME if isinstance(load(path), MiganNet) else DISPLAY_NAME
    except ModelLoadError:
        return DISPLAY_NAME   # the fill itself names the problem

"""Background removal through onnxruntime: Select Subject's and Remove Background's network.

A "subject" job (`ai/requests.py: SubjectRequest`, run by `ai/engine.py`) gives an RGB8 picture
(`Job.image`, already scaled down to about the network's size: the engine never sends a huge
canvas) and the model file (`Job.model`); the backend returns one (h, w) uint8 soft mask at the
picture's size, 255 where the main subject is, with the in-between values of fine edges (hair,
fur, smoke) kept.

The network is a BiRefNet-class export (the catalogue's `onnx-community/BiRefNet_lite-ONNX`
`onnx/model.onnx`, MIT; any export with the same interface works): one input, the picture
(1, 3, H, W) float32 RGB normalised with ImageNet's mean and deviation, at the fixed H × W of the
export (1024² for BiRefNet; a dynamic size runs at `SIZE`); the first output is the matte
(1, 1, H, W), (1, H, W) or (H, W). BiRefNet gives logits, which go through a sigmoid; an output
that stays within [0, 1] is taken as the matte itself (RMBG / ISNet-style exports).

Cancel is checked before and after the run (one ONNX run cannot be interrupted). onnxruntime is
loaded through `style.onnxruntime` (telemetry off first); one session is kept per file.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..backend import Capabilities
from ..errors import Cancelled, ModelLoadError, RequestError, quoted
from ..job import Job
from ..requests import MATTE, SUBJECT, ProgressInfo
from . import style

log = logging.getLogger(__name__)

SIZE = 1024                                   # the network's side when the export leaves it open
MEAN = np.array([0.485, 0.456, 0.406], np.float32)   # ImageNet's, as BiRefNet was trained
STD = np.array([0.229, 0.224, 0.225], np.float32)
DISPLAY_NAME = "BiRefNet"
PHASE = "finding the subject"


class MatteNet:
    """One loaded background-removal export: its session and the interface read from it."""

    def __init__(self, path: Path, sess: Any) -> None:
        self.path = path
        self.session = sess
        ins = sess.get_inputs()
        shape = list(ins[0].shape) if len(ins) == 1 else []
        if len(shape) != 4 or shape[1] != 3 or not sess.get_outputs():
            raise ModelLoadError(f"{quoted(path)} is not a background-removal network: it "
                                 "does not take one RGB picture")
        self.input_name = ins[0].name
        self.output_name = sess.get_outputs()[0].name
        h, w = shape[2:]
        self.size = (w if isinstance(w, int) else SIZE, h if isinstance(h, int) else SIZE)

    def feeds(self, rgb: np.ndarray) -> dict[str, np.ndarray]:
        """The input for an RGB8 picture of any size: (1, 3, H, W) at the network's size."""
        small = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA
                           if rgb.shape[1] > self.size[0] else cv2.INTER_LINEAR)
        h, w = small.shape[:2]
        x = np.empty((1, 3, h, w), np.float32)
        for i, plane in enumerate(cv2.split(small)):
            np.multiply(plane, np.float32(1 / (255 * STD[i])), out=x[0, i])
            x[0, i] -= MEAN[i] / STD[i]
        return {self.input_name: x}

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The matte at the network's size, float32 in [0, 1]."""
        out = np.asarray(self.session.run([self.output_name], feeds)[0], dtype=np.float32)
        while out.ndim > 2:
            out = out[0]
        if out.ndim != 2:
            raise ModelLoadError(f"{quoted(self.path)} is not a background-removal network: "
                                 f"its output is {out.shape}, not a mask")
        out = np.array(out, np.float32, copy=True)   # owned and writable: worked in place
        if float(out.min()) < 0.0 or float(out.max()) > 1.0:   # logits (BiRefNet): sigmoid
            np.clip(out, -60.0, 60.0, out=out)
            np.negative(out, out=out)
            np.exp(out, out=out)
            out += 1.0
            np.reciprocal(out, out=out)
        return np.clip(out, 0.0, 1.0, out=out)


def load(path: str | Path) -> MatteNet:
    """The network in `path` (cached while the file is unchanged); a ModelLoadError of at most
    two lines naming the file when it is missing, damaged or not a background remover."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise ModelLoadError(f"the background-removal model {quoted(p)} is missing (moved or "
                             "deleted?).\nDownload it again in the model manager "
                             "(Models…).") from None
    return _load(str(p), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=1)
def _load(path: str, size: int, mtime: int) -> MatteNet:
    ort = style.onnxruntime("Select Subject")
    try:
        sess = ort.InferenceSession(path, style.session_options(ort),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        log.warning("cannot load %s: %s", path, exc)
        raise ModelLoadError(f"the background-removal model {quoted(Path(path))} is damaged: "
                             "onnxruntime cannot read it.\nDownload it again in the model "
                             "manager (Models…).") from None
    return MatteNet(Path(path), sess)


def matte(rgb: np.ndarray, path: str | Path,
          cancelled: Callable[[], bool] = lambda: False) -> np.ndarray:
    """The main subject of an RGB8 picture as a (h, w) uint8 soft mask at its size."""
    net = load(path)
    feeds = net.feeds(np.ascontiguousarray(rgb))
    if cancelled():
        raise Cancelled()
    soft = net.run(feeds)
    if cancelled():
        raise Cancelled()
    h, w = rgb.shape[:2]
    shrink = w <= soft.shape[1] and h <= soft.shape[0]   # averaged: edges stay soft
    soft *= 255.0
    back = cv2.resize(soft, (w, h), interpolation=cv2.INTER_AREA if shrink
                      else cv2.INTER_LINEAR)
    out: np.ndarray = np.empty((h, w), np.uint8)
    np.rint(back, out=back)
    np.clip(back, 0.0, 255.0, out=back)
    out[...] = back                                   # exact integers: the cast rounds nothing
    return out


class MatteBackend:
    """Background removal behind the `Backend` protocol (ai/backend.py): the engine sends it
    the "subject" jobs (ai/engine.py: `_subject`). Deterministic: seeds do not matter."""

    name = MATTE
    capabilities = Capabilities(ops=frozenset({SUBJECT}), archs=frozenset({MATTE}))

    def generate(self, job: Job, on_progress: Callable[[ProgressInfo], None] | None,
                 cancelled: Callable[[], bool]) -> list[np.ndarray]:
        if job.image is None or not job.model:
            raise RequestError("finding the subject needs the picture and the model file")
        if cancelled():
            raise Cancelled()
        if on_progress is not None:
            on_progress(ProgressInfo(0, 1, None, PHASE))
        out = matte(job.image, job.model, cancelled)
        if on_progress is not None:
            on_progress(ProgressInfo(1, 1, None, PHASE))
        return [out]

    def record(self, job: Job) -> dict[str, Any]:
        return {"model_name": DISPLAY_NAME, "model_file": Path(job.model).name}

    def unload(self) -> None:
        _load.cache_clear()

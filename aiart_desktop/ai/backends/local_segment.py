"""Segment Anything for Select Object through transformers (torch, lazily): the local backend's
helper for segmentation, like local_control.py's detectors.

    seg = Segmenter()                                   # device "cpu" (or "auto", "cuda")
    emb = seg.embed(picture, info.path, view, key)      # the image encoder: once per picture
    mask = seg.segment(emb, [(x, y, +1), (x2, y2, -1)], box)   # (h, w) uint8 0/255, picture size
    doc_mask = seg.select(emb, points, box, doc.width, doc.height)   # document-sized

`embed` runs the expensive image encoder and keeps the result: the same picture (the same
`key`, or the same pixels when no key is given) gives back the cached `Embedding` without
running the encoder again (`embeds_computed` counts the runs), and a new picture replaces it.
`segment` answers a click from the embedding with the prompt encoder and the mask decoder
only. Points and boxes are in document coordinates, mapped through the embedding's `View`
(ai/segment.py); the mask is at the picture's full size, aligned with it (the low-resolution
mask is upscaled to the model's padded input, cropped to the resized picture and upscaled to
the picture, as `SamImageProcessor.post_process_masks` does). With one point and no box, SAM's
three candidate masks are made and the best-scoring one is kept; with several points or a box,
the prompt is unambiguous and the single-mask output is used (SAM's own advice), unless
`multimask=True` asks for the best of three.

Models are loaded once per folder from local files only (`local_files_only=True`,
`use_safetensors=True`), checked first by models/segmenters.py: a missing folder, a damaged
config.json or a pickle-only folder is an AiError of at most two lines naming the folder.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AiError, Cancelled, ModelLoadError, RequestError, quoted
from ..models.segmenters import check_segmenter
from ..segment import Box, Point, View, document_mask, fingerprint, picture_prompt

log = logging.getLogger(__name__)

EmbedProgress = Callable[[int, int], None]        # (encoder layers done, layers in all)


@dataclass(frozen=True, eq=False)
class Embedding:
    """One picture's image embedding, ready for clicks."""

    folder: str
    key: Hashable
    size: tuple[int, int]          # the picture's (height, width)
    input_size: tuple[int, int]    # the picture resized for the model, before padding (h, w)
    view: View
    tensor: Any                    # torch.Tensor (1, C, h', w')


def _load_failure(folder: Path, exc: BaseException) -> ModelLoadError:
    log.error("loading the Segment Anything model %s failed", folder,
              exc_info=(type(exc), exc, exc.__traceback__))
    return ModelLoadError(f"cannot load the Segment Anything model {quoted(folder)}: it is "
                          "damaged or made for another program.\nThe details are in the log.")


class Segmenter:
    """Segment Anything models, each loaded once per folder, and the last picture's
    embedding."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.embeds_computed = 0
        self._models: dict[str, tuple[Any, Any]] = {}
        self._cached: Embedding | None = None
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget the loaded models and the cached embedding."""
        with self._lock:
            self._models.clear()
            self._cached = None

    def drop_embedding(self) -> None:
        self._cached = None

    @property
    def cached(self) -> Embedding | None:
        return self._cached

    def _device(self) -> str:
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device

    def load(self, folder: str | Path) -> tuple[Any, Any]:
        """(model, image processor) of the segmenter in `folder`, loaded once."""
        folder = Path(folder)
        key = str(folder)
        with self._lock:
            if key not in self._models:
                check_segmenter(folder)
                self._models[key] = self._load(folder)
            return self._models[key]

    def _load(self, folder: Path) -> tuple[Any, Any]:
        import transformers

        try:
            model = transformers.SamModel.from_pretrained(str(folder), local_files_only=True,
                                                          use_safetensors=True)
        except Exception as exc:
            raise _load_failure(folder, exc) from exc
        model = model.to(self._device()).eval()
        return model, self._processor(folder, model.config)

    @staticmethod
    def _processor(folder: Path, config: Any) -> Any:
        """The folder's image processor; SAM's defaults at the model's input size without
        one (or with a damaged one, logged)."""
        import transformers

        cls = getattr(transformers, "SamImageProcessorPil", None) or \
            transformers.SamImageProcessor
        if any((folder / n).is_file() for n in ("preprocessor_config.json",
                                                "processor_config.json")):
            try:
                return cls.from_pretrained(str(folder), local_files_only=True)
            except Exception as exc:
                log.warning("cannot read the processor settings in %s (%r): using SAM's",
                            folder, exc)
        side = int(config.vision_config.image_size)
        return cls(size={"longest_edge": side}, pad_size={"height": side, "width": side})

    # ---- the picture ----------------------------------------------------------------------
    def embed(self, rgb: np.ndarray, folder: str | Path, view: View | None = None,
              key: Hashable | None = None, cancelled: Callable[[], bool] | None = None,
              on_progress: EmbedProgress | None = None) -> Embedding:
        """The embedding of `rgb` (h, w, 3 uint8; RGBA is flattened on white by the caller),
        the picture of the document seen through `view`. `key` names the picture (e.g. the
        document, its revision and the region); without it the pixels are hashed. The same
        key gives the cached embedding back; `cancelled` is polled between encoder layers."""
        import torch

        view = view or View()
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
            raise RequestError(f"Select Object needs an RGB picture, not an array of shape "
                               f"{rgb.shape}")
        full_key = (str(folder), view, key if key is not None else fingerprint(rgb))
        cached = self._cached
        if cached is not None and cached.key == full_key:
            return cached
        model, proc = self.load(folder)
        inputs = proc(images=np.ascontiguousarray(rgb, dtype=np.uint8), return_tensors="pt")
        pixels = inputs["pixel_values"].to(self._device(), next(model.parameters()).dtype)
        input_size = tuple(int(v) for v in inputs["reshaped_input_sizes"][0])
        layers = list(model.vision_encoder.layers)
        hooks = []

        def check(index: int) -> Callable[..., None]:
            def hook(*_: Any) -> None:
                if cancelled is not None and cancelled():
                    raise Cancelled()
                if on_progress is not None:
                    on_progress(index, len(layers))
            return hook

        for i, layer in enumerate(layers):
            hooks.append(layer.register_forward_pre_hook(check(i)))
        try:
            with torch.inference_mode():
                tensor = model.get_image_embeddings(pixels)
        except (Cancelled, AiError, MemoryError):
            raise
        except Exception as exc:
            log.error("the Segment Anything encoder failed on %s", folder, exc_info=True)
            raise AiError(f"Select Object failed on the picture with {quoted(folder)}.\n"
                          "The details are in the log.") from exc
        finally:
            for h in hooks:
                h.remove()
        if on_progress is not None:
            on_progress(len(layers), len(layers))
        self.embeds_computed += 1
        emb = Embedding(str(folder), full_key, (int(rgb.shape[0]), int(rgb.shape[1])),
                        (input_size[0], input_size[1]), view, tensor)
        self._cached = emb
        return emb

    # ---- a click --------------------------------------------------------------------------
    def segment(self, emb: Embedding, points: Sequence[Point] = (), box: Box | None = None,
                multimask: bool | None = None) -> np.ndarray:
        """The mask (picture-sized, uint8 0/255) of the object the prompt points at: points
        (x, y, +1 add / -1 remove) and a box (x0, y0, x1, y1), in document coordinates."""
        import torch

        coords, labels, pbox = picture_prompt(emb.view, points, box)
        model, proc = self.load(emb.folder)
        device = emb.tensor.device
        (h, w), (rh, rw) = emb.size, emb.input_size
        sx, sy = rw / w, rh / h
        kw: dict[str, Any] = {}
        if coords:
            kw["input_points"] = torch.tensor([[[(x * sx, y * sy) for x, y in coords]]],
                                              dtype=torch.float32, device=device)
            kw["input_labels"] = torch.tensor([[labels]], dtype=torch.long, device=device)
        if pbox is not None:
            kw["input_boxes"] = torch.tensor(
                [[[pbox[0] * sx, pbox[1] * sy, pbox[2] * sx, pbox[3] * sy]]],
                dtype=torch.float32, device=device)
        if multimask is None:
            multimask = len(coords) == 1 and pbox is None
        with torch.inference_mode():
            out = model(image_embeddings=emb.tensor, multimask_output=multimask, **kw)
            scores = out.iou_scores[0, 0]
            best = int(torch.argmax(scores)) if multimask else 0
            low = out.pred_masks[0, :, best:best + 1].float()        # (1, 1, h', w')
            masks = proc.post_process_masks([low.cpu()], [(h, w)], [(rh, rw)])
        return masks[0][0, 0].numpy().astype(np.uint8) * np.uint8(255)

    def select(self, emb: Embedding, points: Sequence[Point] = (), box: Box | None = None,
               width: int = 0, height: int = 0, multimask: bool | None = None) -> np.ndarray:
        """`segment`'s mask placed in a `width` x `height` document (as `Document.set_selection`
        takes it): at the view's place, scaled back, zero outside the picture."""
        mask = self.segment(emb, points, box, multimask)
        return document_mask(mask, emb.view, width, height)

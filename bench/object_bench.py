"""Object tools (issue 18) on a CPU: Select Object's Segment Anything model at full size.

A SAM ViT-B architecture (`transformers.SamConfig()`'s defaults: 12 layers of 768, 1024² input,
about 94 M parameters) with random weights is saved to a temporary folder and loaded through
the app's loader (`ai/backends/local_segment.py: Segmenter`), then a 1024² picture is embedded
and clicked on. Random weights give arbitrary masks, but the same work as the real model.

Prints `name: value` lines:

    sam_params_m            parameters of the model, in millions
    sam_embed_ms            median of the image encoder over a new picture (after a warm-up)
    sam_click_ms            median of a one-point click after the embedding is ready (the
                            picture-sized 0/255 mask included; target <= 100)
    sam_click_box_ms        median of a click with two points and a box
    sam_click_4k_ms         median of a one-point click on a 4096x3072 picture (the mask is
                            upscaled to it)
    raw_click_ms            the bare transformers call for the same click: SamModel forward on
                            the embedding + SamImageProcessor.post_process_masks + best score
    sam_click_vs_raw_ratio  sam_click_ms / raw_click_ms
    sam_embeds_computed     encoder runs over the whole bench (the clicks run none)

    .venv/bin/python bench/object_bench.py [--clicks 15] [--embeds 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np  # noqa: E402


def timed(fn, n: int) -> tuple[float, object]:
    times, out = [], None
    for i in range(n):
        t0 = time.perf_counter()
        out = fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), out


def picture(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pic = np.full((h, w, 3), (60, 110, 170), np.uint8)
    pic[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = (220, 70, 40)
    return np.clip(pic + rng.integers(0, 25, pic.shape), 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clicks", type=int, default=15)
    ap.add_argument("--embeds", type=int, default=2, help="timed encoder runs after a warm-up")
    args = ap.parse_args()

    import torch
    from transformers import SamConfig, SamImageProcessorPil, SamModel

    from aiart_desktop.ai.backends.local_segment import Segmenter

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="aiart-object-bench-") as tmp:
        folder = Path(tmp) / "sam-vit-b-random"
        model = SamModel(SamConfig()).eval()
        params = sum(p.numel() for p in model.parameters())
        model.save_pretrained(str(folder))
        SamImageProcessorPil().save_pretrained(str(folder))
        del model

        seg = Segmenter()
        seg.embed(picture(1024, 1024, 0), folder)                          # warm-up
        embed_ms, emb = timed(lambda i: seg.embed(picture(1024, 1024, i + 1), folder),
                              args.embeds)
        pts = [(100.0 + 50 * (i % 15), 200.0 + 40 * (i % 13), 1) for i in range(args.clicks)]
        sam, proc = seg.load(folder)
        (h, w), (rh, rw) = emb.size, emb.input_size

        def raw(i: int) -> np.ndarray:
            x, y, _ = pts[i]
            with torch.inference_mode():
                out = sam(image_embeddings=emb.tensor,
                          input_points=torch.tensor([[[[x * rw / w, y * rh / h]]]]),
                          input_labels=torch.tensor([[[1]]]), multimask_output=True)
                masks = proc.post_process_masks(out.pred_masks, [(h, w)], [(rh, rw)])
                best = int(out.iou_scores[0, 0].argmax())
            return masks[0][0, best].numpy()

        # the app's click and the bare call alternate, so a busy machine slows both alike
        seg.segment(emb, [pts[0]])                                          # warm-up
        raw(0)
        mine_t, raw_t = [], []
        for i in range(args.clicks):
            t0 = time.perf_counter()
            mask = seg.segment(emb, [pts[i]])
            t1 = time.perf_counter()
            raw(i)
            t2 = time.perf_counter()
            mine_t.append((t1 - t0) * 1000)
            raw_t.append((t2 - t1) * 1000)
        assert mask.shape == (1024, 1024) and mask.dtype == np.uint8
        click_ms, raw_ms = statistics.median(mine_t), statistics.median(raw_t)
        box_ms, _ = timed(lambda i: seg.segment(
            emb, [pts[i], (900.0, 900.0, -1)], (50.0, 60.0, 800.0, 850.0)), args.clicks)

        big = seg.embed(picture(3072, 4096, 99), folder)
        big_ms, big_mask = timed(lambda i: seg.segment(big, [(pts[i][0] * 4, pts[i][1] * 3, 1)]),
                                 max(3, args.clicks // 3))
        assert big_mask.shape == (3072, 4096)

        print(f"sam_params_m: {params / 1e6:.1f}")
        print(f"sam_embed_ms: {embed_ms:.0f}")
        print(f"sam_click_ms: {click_ms:.1f}")
        print(f"sam_click_box_ms: {box_ms:.1f}")
        print(f"sam_click_4k_ms: {big_ms:.1f}")
        print(f"raw_click_ms: {raw_ms:.1f}")
        print(f"sam_click_vs_raw_ratio: {click_ms / raw_ms:.2f}")
        print(f"sam_embeds_computed: {seg.embeds_computed}")
        print(f"torch_threads: {torch.get_num_threads()}")


if __name__ == "__main__":
    main()

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
    ui_max_stall_ms         the longest gap of a 5 ms timer on the UI thread of the real window
                            (offscreen) while the Select Object tool embeds the visible picture
                            of a 2048x1536 canvas in the background, and while it answers a
                            click (target <= 50)
    ui_embed_ms             from choosing the tool to the embedding being ready, in the window
    ui_click_ms             from a click to its selection being set, in the window

    --no-ui skips the window part, --ui-only runs only it.

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
    ap.add_argument("--no-ui", action="store_true", help="skip the window's stall measurement")
    ap.add_argument("--ui-only", action="store_true", help="only the window's measurement")
    args = ap.parse_args()

    import torch
    from transformers import SamConfig, SamImageProcessorPil, SamModel

    from aiart_desktop.ai.backends.local_segment import Segmenter

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="aiart-object-bench-") as tmp:
        folder = Path(tmp) / "segmenters" / "sam-vit-b-random"   # where the registry looks
        model = SamModel(SamConfig()).eval()
        params = sum(p.numel() for p in model.parameters())
        model.save_pretrained(str(folder))
        SamImageProcessorPil().save_pretrained(str(folder))
        del model
        if args.ui_only:
            for name, value in ui_stall(Path(tmp)).items():
                print(f"{name}: {value:.1f}", flush=True)
            return

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
        seg.clear()                         # the window loads its own
        if not args.no_ui:
            for name, value in ui_stall(Path(tmp)).items():
                print(f"{name}: {value:.1f}")


def ui_stall(models: Path) -> dict[str, float]:
    """The real window, offscreen, with Select Object on a 2048x1536 canvas: the UI thread's
    longest stall while the tool embeds the visible picture, then while a click is answered."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT / "bench"))
    from _ui_probe import Probe
    from PySide6.QtWidgets import QApplication

    from aiart_desktop.ai.models.registry import ModelRegistry
    from aiart_desktop.core.document import Document
    from aiart_desktop.qt.main_window import MainWindow
    from aiart_desktop.settings import Settings

    app = QApplication.instance() or QApplication([])
    win = MainWindow(settings=Settings(), autosave=False, ai=False)
    win.ai_models = ModelRegistry(models)
    win.resize(1366, 768)
    win.show()
    doc = Document.new(2048, 1536, (60, 110, 170, 255))
    block = np.zeros((600, 700, 4), np.uint8)
    block[...] = (220, 70, 40, 255)
    doc.put_pixels(doc.layers[0], 600, 400, block)
    win.set_document(doc)
    win.canvas.fit()
    app.processEvents()
    tool = win.canvas.tools["select_object"]

    def spin(until, timeout_s: float = 300.0) -> None:
        t0 = time.perf_counter()
        while not until():
            if time.perf_counter() - t0 > timeout_s:
                raise SystemExit("timed out waiting for Select Object")
            app.processEvents()
            time.sleep(0.0002)

    probe = Probe()
    probe.timer.start()
    t0 = time.perf_counter()
    win.state.set_tool("select_object")               # the embedding starts in the background
    spin(lambda: tool.embeds_computed >= 1 and tool.idle)
    embed_ms = (time.perf_counter() - t0) * 1000
    t1 = time.perf_counter()
    tool.ask(points=((900.0, 700.0, +1),))
    spin(lambda: doc.selection is not None)
    click_ms = (time.perf_counter() - t1) * 1000
    t_end = time.perf_counter() + 0.1     # the tick after the last step: its stall counts
    spin(lambda: time.perf_counter() > t_end)
    probe.timer.stop()
    stall = probe.max_gap_ms()
    tool.shutdown()
    win.hide()          # not close(): it would ask to save the canvas
    return {"ui_max_stall_ms": stall, "ui_embed_ms": embed_ms, "ui_click_ms": click_ms}


if __name__ == "__main__":
    main()

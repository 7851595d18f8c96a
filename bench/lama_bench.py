"""Remove object (issue 18): the app's LaMa fill against the bare onnxruntime call, on a CPU.

The real LaMa export (208 MB) is not fetched: a stand-in graph with LaMa's interface (`image`
1x3x512x512 in [0, 1], `mask` 1x1x512x512 -> `output` 1x3x512x512 in [0, 255]) and random
weights is built with onnx.helper: the picture and mask concatenated, three 3x3 convolutions at
512² (4 -> 64 -> 64 -> 3 channels by default, `--width`; ReLU between), a sigmoid scaled to
255: about 10.7 G multiply-adds and 40 k parameters. It is lighter than LaMa (the real export
holds 208 MB of fp32 weights, about 52 M parameters, in Fourier-convolution blocks), so the
app's fixed costs (crop, scaling, conversions, paste: a few ms) weigh more here than with the
real network: the ratio is an upper bound.

The app's fill (`ai/backends/lama.py: fill`: crop the selection plus its context, scale to
512², run, scale back, paste into the selection) on a 1024² picture with a 320x280 selection,
against `session.run` on the very feeds the fill prepared (the same session and options),
alternated run by run. Prints `name: value` lines:

    lama_fill_ms            median of the app's fill
    raw_run_ms              median of the bare session.run on the same 512² inputs
    lama_fill_vs_raw_ratio  lama_fill_ms / raw_run_ms (target <= 1.10)

    .venv/bin/python bench/lama_bench.py [--runs 9] [--width 64]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from tests.support.onnx_graphs import save_graph  # noqa: E402


def stand_in(path: Path, width: int = 64, seed: int = 0) -> Path:
    """A LaMa-interface graph of a few random 3x3 convolutions at 512² (see the notes)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)

    def weights(name: str, cout: int, cin: int) -> list:
        w = rng.normal(0, (2.0 / (cin * 9)) ** 0.5, (cout, cin, 3, 3)).astype(np.float32)
        return [numpy_helper.from_array(w, f"{name}_w"),
                numpy_helper.from_array(np.zeros(cout, np.float32), f"{name}_b")]

    inits = weights("c1", width, 4) + weights("c2", width, width) + weights("c3", 3, width)
    inits.append(numpy_helper.from_array(np.array(255.0, np.float32), "k255"))
    conv = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    nodes = [
        helper.make_node("Concat", ["image", "mask"], ["x0"], axis=1),
        helper.make_node("Conv", ["x0", "c1_w", "c1_b"], ["c1"], **conv),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "c2_w", "c2_b"], ["c2"], **conv),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "c3_w", "c3_b"], ["c3"], **conv),
        helper.make_node("Sigmoid", ["c3"], ["s"]),
        helper.make_node("Mul", ["s", "k255"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "lama-stand-in",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 512, 512]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 512, 512])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 512, 512])], inits)
    return save_graph(graph, path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--width", type=int, default=64, help="channels of the stand-in's convs")
    args = ap.parse_args()
    from aiart_desktop.ai.backends import lama

    rng = np.random.default_rng(1)
    pic = rng.integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    mask = np.zeros((1024, 1024), np.uint8)
    cv2.ellipse(mask, (500, 460), (160, 140), 0, 0, 360, 255, -1)
    with tempfile.TemporaryDirectory() as tmp:
        path = stand_in(Path(tmp) / "lama_fp32.onnx", args.width)
        net = lama.load(path)
        feeds, _ = lama.prepare(net, pic, mask)
        lama.fill(pic, mask, path)  # warm-up, both paths
        net.session.run([net.output_name], feeds)
        app, raw = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            lama.fill(pic, mask, path)
            app.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            net.session.run([net.output_name], feeds)
            raw.append((time.perf_counter() - t0) * 1000)
    fill_ms, raw_ms = statistics.median(app), statistics.median(raw)
    print(f"lama_fill_ms: {fill_ms:.1f}")
    print(f"raw_run_ms: {raw_ms:.1f}")
    print(f"lama_fill_vs_raw_ratio: {fill_ms / raw_ms:.3f}")


if __name__ == "__main__":
    main()

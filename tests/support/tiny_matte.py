"""A tiny graph with BiRefNet's ONNX interface (backends/matte.py), built at test time.

Input `input_image` (1, 3, 1024, 1024; RGB normalised with ImageNet's mean and deviation),
output `output_image` (1, 1, 1024, 1024; logits) = -GAIN * the mean of the three normalised
channels: dark paint is the subject (white paper normalises to about +2.2, black ink to -2.0),
with a sharp sigmoid between them. What the real export takes and gives, with a subject anyone
can check.
"""
from __future__ import annotations

from pathlib import Path

from aiart_desktop.ai.models.catalogue import matting_entry
from aiart_desktop.ai.models.registry import ModelRegistry
from tests.support.onnx_graphs import save_graph

GAIN = 10.0


def tiny_matte(path: Path, names: tuple[str, str] = ("input_image", "output_image"),
               size: int | None = 1024, probabilities: bool = False) -> Path:
    """The tiny BiRefNet-interface graph saved at `path`; `size` None leaves the side open;
    `probabilities`: the output goes through a sigmoid in the graph (RMBG-style exports)."""
    from onnx import TensorProto, helper

    x, out = names
    side = size if size is not None else "side"
    nodes = [helper.make_node("ReduceMean", [x], ["mean"], axes=[1], keepdims=1),
             helper.make_node("Mul", ["mean", "gain"], ["logits" if probabilities else out])]
    if probabilities:
        nodes.append(helper.make_node("Sigmoid", ["logits"], [out]))
    inits = [helper.make_tensor("gain", TensorProto.FLOAT, [], [-GAIN])]
    graph = helper.make_graph(
        nodes, "tiny-birefnet",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 1, side, side])], inits)
    return save_graph(graph, path)


def install_tiny_matte(registry: ModelRegistry) -> Path:
    entry = matting_entry()
    return tiny_matte(registry.catalogue_folder(entry.id) / entry.allow_patterns[0])

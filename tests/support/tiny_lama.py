"""A tiny graph with LaMa's ONNX interface (backends/lama.py), built at test time.

Inputs `image` (1, 3, 512, 512; RGB in [0, 1]) and `mask` (1, 1, 512, 512; 1 = fill), output
`output` (1, 3, 512, 512; RGB in [0, 255]) = image * 255 * (1 - mask) + COLOUR * mask: what
the real export takes and gives, with a fill anyone can check.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from aiart_desktop.ai.models.catalogue import inpainter_entry
from aiart_desktop.ai.models.registry import ModelRegistry
from tests.support.onnx_graphs import save_graph

COLOUR = (10, 200, 30)  # what the tiny graph paints into the hole


def tiny_lama(path: Path, names: tuple[str, str, str] = ("image", "mask", "output")) -> Path:
    """The tiny LaMa-interface graph saved at `path`."""
    from onnx import TensorProto, helper

    image, mask, output = names
    colour = np.array(COLOUR, np.float32).reshape(1, 3, 1, 1)
    nodes = [
        helper.make_node("Mul", [image, "k255"], ["scaled"]),
        helper.make_node("Sub", ["one", mask], ["keep"]),
        helper.make_node("Mul", ["scaled", "keep"], ["kept"]),
        helper.make_node("Mul", ["colour", mask], ["painted"]),
        helper.make_node("Add", ["kept", "painted"], [output]),
    ]
    inits = [helper.make_tensor("k255", TensorProto.FLOAT, [], [255.0]),
             helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
             helper.make_tensor("colour", TensorProto.FLOAT, [1, 3, 1, 1], colour.ravel())]
    graph = helper.make_graph(
        nodes, "tiny-lama",
        [helper.make_tensor_value_info(image, TensorProto.FLOAT, [1, 3, 512, 512]),
         helper.make_tensor_value_info(mask, TensorProto.FLOAT, [1, 1, 512, 512])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, 3, 512, 512])], inits)
    return save_graph(graph, path)


def install_tiny_lama(registry: ModelRegistry) -> Path:
    entry = inpainter_entry()
    return tiny_lama(registry.catalogue_folder(entry.id) / entry.allow_patterns[0])


def tiny_migan(path: Path, size: int | None = None) -> Path:
    """A tiny graph with MI-GAN's pipeline interface (backends/lama.py: MiganNet): `image`
    (1, 3, H, W) uint8 RGB and `mask` (1, 1, H, W) uint8, 255 = keep, 0 = fill -> `result`
    (1, 3, H, W) uint8 = image where kept, COLOUR in the hole. H and W are left open like the
    real pipeline's (or fixed to `size`)."""
    from onnx import TensorProto, helper

    h: int | str = size if size is not None else "height"
    w: int | str = size if size is not None else "width"
    colour = np.array(COLOUR, np.float32).reshape(1, 3, 1, 1)
    nodes = [
        helper.make_node("Cast", ["image"], ["img_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["mask_f", "k255"], ["keep"]),
        helper.make_node("Sub", ["one", "keep"], ["hole"]),
        helper.make_node("Mul", ["img_f", "keep"], ["kept"]),
        helper.make_node("Mul", ["colour", "hole"], ["painted"]),
        helper.make_node("Add", ["kept", "painted"], ["sum"]),
        helper.make_node("Cast", ["sum"], ["result"], to=TensorProto.UINT8),
    ]
    inits = [helper.make_tensor("k255", TensorProto.FLOAT, [], [255.0]),
             helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
             helper.make_tensor("colour", TensorProto.FLOAT, [1, 3, 1, 1], colour.ravel())]
    graph = helper.make_graph(
        nodes, "tiny-migan",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, 3, h, w]),
         helper.make_tensor_value_info("mask", TensorProto.UINT8, [1, 1, h, w])],
        [helper.make_tensor_value_info("result", TensorProto.UINT8, [1, 3, h, w])], inits)
    return save_graph(graph, path)


def install_tiny_migan(registry: ModelRegistry) -> Path:
    entry = inpainter_entry("migan")
    return tiny_migan(registry.catalogue_folder(entry.id) / entry.allow_patterns[0])

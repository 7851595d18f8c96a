"""Saving the small ONNX graphs the tests and benches build with onnx.helper (LaMa, MI-GAN,
BiRefNet interfaces and their stand-ins): one opset, one IR version, checked, written."""
from __future__ import annotations

from pathlib import Path
from typing import Any

OPSET = 17
IR_VERSION = 9   # what onnxruntime 1.17+ reads


def save_graph(graph: Any, path: Path) -> Path:
    """`graph` (onnx.helper.make_graph) as a checked model file at `path`."""
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path

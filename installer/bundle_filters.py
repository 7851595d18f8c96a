"""What the PyInstaller spec leaves out of the bundle, kept here as plain functions so they can
be tested without running PyInstaller (tests/test_packaging.py).

- `keep_diffusers` / `keep_transformers`: which submodules are collected as hidden imports.
  Both libraries import their pipelines and models lazily by name, so the static analysis
  sees little; we name the parts the app uses (Stable Diffusion 1.x / 2.x / XL pipelines, all
  models, schedulers and loaders; CLIP and the auto classes) and let the analysis add whatever
  those import. Anything reachable from them is still collected.
- `EXCLUDED_MODULES`: modules nothing in the app needs (test suites, notebooks, other GUI
  toolkits, training-only tooling).
- `filter_toc`: drops files by destination path: C/C++ headers, test folders, Qt translations
  other than Qt's own base strings, Qt plugins for things the app does not do.
"""
from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatch
from typing import Any

DIFFUSERS_PIPELINES = ("stable_diffusion", "stable_diffusion_xl")
TRANSFORMERS_MODELS = ("auto", "clip", "clip_vision_model")
# Pure-Python parts of transformers that only tooling, training or other modalities use.
TRANSFORMERS_SKIP = ("commands", "cli", "pipelines", "data", "benchmark", "onnx", "sagemaker",
                     "kernels", "quantizers", "distributed", "trainer", "training_args",
                     "integrations")

EXCLUDED_MODULES = [
    "tkinter", "_tkinter", "turtle", "idlelib",
    "matplotlib", "IPython", "ipykernel", "jupyter_client", "notebook",
    "pytest", "_pytest", "pytestqt", "ruff",
    "PyQt5", "PyQt6", "PySide2",
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets", "PySide6.Qt3DCore", "PySide6.QtMultimedia",
    "PySide6.QtNetwork", "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtDesigner",
    "PySide6.QtHelp", "PySide6.QtPdf", "PySide6.QtCharts",
    "tensorboard", "torch.utils.tensorboard", "tensorflow", "jax", "flax", "keras",
    "torchvision", "torchaudio", "triton",
    "pandas", "sklearn", "datasets", "accelerate.test_utils",
    "numba.cuda.tests", "numba.tests", "scipy.tests", "numpy.tests", "torch.testing._internal",
    "onnxruntime.tools", "onnxruntime.quantization", "onnxruntime.transformers",
]

# fnmatch patterns on the destination path inside the bundle ("/" separators).
DROPPED_FILES = [
    "*.h", "*.hpp", "*.cuh", "*.cpp", "*.c", "*.pyi", "*.cmake", "*.a", "*.lib",
    "*/include/*", "torch/share/*", "*/tests/*", "*/test/*", "*/testing/_internal/*",
    "PySide6/Qt/translations/*", "PySide6/Qt/plugins/sqldrivers/*",
    "PySide6/Qt/plugins/networkinformation/*", "PySide6/Qt/plugins/tls/*",
    "PySide6/Qt/plugins/qmltooling/*", "PySide6/Qt/plugins/multimedia/*",
    "PySide6/Qt/plugins/designer/*", "PySide6/Qt/qml/*",
    "*libQt6Quick*", "*libQt6Qml*", "*libQt6Pdf*", "*libQt6WebEngine*", "*libQt63D*",
    "*libQt6Designer*", "*libQt6Multimedia*",
]
# Kept although a pattern above matches: Qt's own base strings (dialog buttons and the like).
KEPT_FILES = ["PySide6/Qt/translations/qtbase_*.qm"]


def _under(name: str, package: str, parts: Iterable[str]) -> bool:
    return any(name == f"{package}.{p}" or name.startswith(f"{package}.{p}.") for p in parts)


def keep_diffusers(name: str) -> bool:
    """Every diffusers module except pipelines other than SD / SDXL (and their tests)."""
    if ".tests" in name or name.startswith("diffusers.commands"):
        return False
    prefix = "diffusers.pipelines."
    if name.startswith(prefix):
        rest = name[len(prefix):]
        if "." in rest or rest in _pipeline_packages():
            return rest.split(".")[0] in DIFFUSERS_PIPELINES
    return True


def _pipeline_packages() -> set[str]:
    """Names of subpackages of diffusers.pipelines (modules at that level are kept)."""
    try:
        import importlib.util
        import pkgutil

        spec = importlib.util.find_spec("diffusers.pipelines")
        locations = spec.submodule_search_locations if spec else None
        return {m.name for m in pkgutil.iter_modules(locations or []) if m.ispkg}
    except Exception:  # noqa: BLE001 - no diffusers here: nothing to skip
        return set()


def keep_transformers(name: str) -> bool:
    """transformers' core modules, CLIP and the auto classes; no other model families."""
    if ".tests" in name:
        return False
    if name.startswith("transformers.models."):
        return _under(name, "transformers.models", TRANSFORMERS_MODELS)
    return not _under(name, "transformers", TRANSFORMERS_SKIP)


def dropped(dest: str) -> bool:
    """True when the file at `dest` (a path inside the bundle) is left out."""
    d = dest.replace("\\", "/")
    if any(fnmatch(d, p) for p in KEPT_FILES):
        return False
    return any(fnmatch(d, p) for p in DROPPED_FILES)


def filter_toc(toc: Iterable[Any]) -> list[Any]:
    """A PyInstaller TOC (entries of (dest, source, kind)) without the dropped files."""
    return [entry for entry in toc if not dropped(entry[0])]

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

import functools
import re
from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

DIFFUSERS_PIPELINES = ("stable_diffusion", "stable_diffusion_xl")
# Model families always kept; `transformers_families_used` adds what the kept diffusers parts
# and the app's AI modules import when they load (SigLIP for IP-Adapter, ...).
TRANSFORMERS_MODELS = ("auto", "clip", "clip_vision_model")
USED_FAMILIES_PROBE = """
import importlib, pkgutil, sys, warnings
warnings.simplefilter("ignore")
for base in ("diffusers.loaders", "diffusers.models", "diffusers.schedulers",
             "diffusers.pipelines.stable_diffusion", "diffusers.pipelines.stable_diffusion_xl"):
    pkg = importlib.import_module(base)
    for m in pkgutil.walk_packages(pkg.__path__, base + "."):
        try:
            importlib.import_module(m.name)
        except Exception:
            pass
pkg = importlib.import_module("aiart_desktop.ai")
for m in pkgutil.walk_packages(pkg.__path__, "aiart_desktop.ai."):  # subpackages too
    try:
        importlib.import_module(m.name)
    except Exception:
        pass
print(" ".join(sorted({k.split(".")[2] for k in sys.modules
                       if k.startswith("transformers.models.") and k.count(".") >= 2})))
"""
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
    # optional in huggingface_hub; only diffusers' Ideogram prompt enhancer needs it
    "pydantic", "pydantic_core",
    "numba.cuda.tests", "numba.tests", "numpy.tests",
    # not a dependency (bucket fill uses OpenCV); diffusers only imports it when present,
    # for schedulers the app does not offer (beta sigmas), so a dev venv's copy stays out
    "scipy",
    "onnxruntime.tools", "onnxruntime.quantization", "onnxruntime.transformers",
    # the tests build ONNX graphs with it (LaMa's stand-in); the app only runs them
    "onnx", "ml_dtypes",
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
    # torch's C++ test programs and test libraries, protoc; torch_shm_manager stays
    "torch/bin/*", "torch/lib/lib*test*.so*", "torch/lib/libbackend_with_compiler.so",
    "torch/lib/libaoti_custom_ops.so",
]
# Kept although a pattern above matches: Qt's own base strings (dialog buttons and the like).
KEPT_FILES = ["PySide6/Qt/translations/qtbase_*.qm", "torch/bin/torch_shm_manager"]


# Packages repaired by auditwheel (patchelf-ed RPATHs, grafted *.libs): `strip` breaks their
# libraries ("ELF load command address/offset not page-aligned"), so they stay as shipped.
NO_STRIP = ("numpy", "scipy", "PIL", "cv2", "pillow.libs", "numpy.libs", "scipy.libs",
            "opencv_python_headless.libs")


def strippable(rel: str) -> bool:
    """True for a shared library at `rel` (inside _internal/) that `strip` may shrink."""
    parts = rel.replace("\\", "/").split("/")
    name = parts[-1]
    if parts[0] in NO_STRIP or parts[0].endswith(".libs"):
        return False
    return name.endswith(".so") or ".so." in name


def strip_bundle(internal: str) -> int:
    """Strip debug symbols from the bundle's own and non-auditwheel libraries (Linux);
    returns the bytes saved. PyInstaller's strip option would strip every library."""
    import os
    import subprocess

    saved = 0
    for dirpath, _dirs, files in os.walk(internal):
        for f in files:
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, internal)
            if os.path.islink(path) or not strippable(rel):
                continue
            before = os.path.getsize(path)
            r = subprocess.run(["strip", "--strip-unneeded", path], capture_output=True,
                               check=False)
            if r.returncode == 0:
                saved += before - os.path.getsize(path)
    return saved


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


@functools.cache
def _pipeline_packages() -> frozenset[str]:
    """Names of subpackages of diffusers.pipelines (modules at that level are kept)."""
    return frozenset(_subpackages("diffusers", "pipelines"))


def _subpackages(package: str, sub: str) -> list[str]:
    """Subpackages of `package`.`sub`, found on disk without importing `package`."""
    import importlib.util
    import pkgutil

    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent / sub
    return sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if m.ispkg)


def excluded_transformers_models(names: Iterable[str],
                                 used: Iterable[str] = TRANSFORMERS_MODELS) -> list[str]:
    """`transformers.models.<family>` for every family in `names` not in `used`: transformers
    imports them only when a model of that family is loaded, but its type-checking imports
    would otherwise pull all of them (hundreds) into the bundle."""
    keep = set(used)
    return [f"transformers.models.{n}" for n in names if n not in keep]


def transformers_families_used(python: str) -> list[str]:
    """Model families of transformers imported once the kept diffusers modules and the app's AI
    modules are loaded, by a separate `python`; plus TRANSFORMERS_MODELS."""
    import subprocess

    try:
        out = subprocess.run([python, "-c", USED_FAMILIES_PROBE], capture_output=True,
                             text=True, timeout=600, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"cannot list the transformers models diffusers uses: {exc}") from exc
    return sorted(set(out) | set(TRANSFORMERS_MODELS))


def transformers_model_families() -> list[str]:
    return _subpackages("transformers", "models")


def keep_transformers(name: str, used: Iterable[str] = TRANSFORMERS_MODELS) -> bool:
    """transformers' core modules and the model families in `used`; no others."""
    if ".tests" in name:
        return False
    if name.startswith("transformers.models."):
        return _under(name, "transformers.models", used)
    return not _under(name, "transformers", TRANSFORMERS_SKIP)


def dropped(dest: str) -> bool:
    """True when the file at `dest` (a path inside the bundle) is left out."""
    d = dest.replace("\\", "/")
    if any(fnmatch(d, p) for p in KEPT_FILES):
        return False
    return any(fnmatch(d, p) for p in DROPPED_FILES)


# torch's modules run from the PYZ archive like every other; its hook also copies their .py
# files (45 MB), but only a few are ever read as source: the config modules (read for their
# comments when imported), torch.nn.functional, and the modules whose TorchScript overloads are
# registered from source at import (without it, warnings, and scripting them would fail).
TORCH_SOURCE_MARKERS = re.compile(r"_overload\b|_overload_method|getsource|_config_module")


def torch_source_needed(dest: str, source: str) -> bool:
    """Whether torch's .py file at `dest` (copied from `source`) must stay in the bundle."""
    d = dest.replace("\\", "/")
    if not (d.startswith("torch/") and d.endswith(".py")):
        return True
    if "config" in d.rsplit("/", 1)[-1] or d == "torch/nn/functional.py":
        return True
    try:
        with open(source, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return True
    return TORCH_SOURCE_MARKERS.search(text) is not None


def filter_toc(toc: Iterable[Any]) -> list[Any]:
    """A PyInstaller TOC (entries of (dest, source, kind)) without the dropped files, and
    without the torch sources nothing reads."""
    return [entry for entry in toc
            if not dropped(entry[0]) and torch_source_needed(entry[0], entry[1])]

"""The layering contracts ([tool.importlinter] in pyproject.toml) hold, and each of them can fail.

`make test` runs `lint-imports` before pytest; these tests keep the contracts honest: the real
tree keeps every one of them, and a tiny package shaped like ours (every module a contract names,
with the imports the house allows) keeps them too until one deliberate violation per contract is
added, and then exactly that contract breaks. A contract added without a violation case here
fails `test_every_contract_has_a_violation_case`.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
FAKE = "fakeart"

# The allowed shape of the house: module -> its source (imports the contracts permit).
SKELETON: dict[str, str] = {
    "__init__.py": "",
    "app.py": "import fakeart.qt.window, fakeart.cli, fakeart.gpu_accel, fakeart.logs\n",
    "selftest.py": "import PySide6\nimport fakeart.qt.window, fakeart.privacy\n",
    "cli.py": "import fakeart.ai.engine, fakeart.settings, fakeart.privacy\n",
    "qt/__init__.py": "",
    "qt/window.py": "import PySide6, shiboken6\n"
                    "import fakeart.ai.engine, fakeart.ai.backends.local, fakeart.gpu_accel\n"
                    "import fakeart.licences, fakeart.logs\n",
    "ai/__init__.py": "",
    "ai/engine.py": "import fakeart.core.doc, fakeart.settings, fakeart.ai.models.registry\n"
                    "import fakeart.ai.backends.style\n",
    "ai/backends/__init__.py": "",
    "ai/backends/local.py": "def load():\n    import torch, diffusers, transformers\n"
                            "    import huggingface_hub\n",
    "ai/backends/local_control.py": "def load():\n    import torch, diffusers, transformers\n",
    "ai/backends/local_lora.py": "def load():\n    import torch, diffusers, compel\n",
    "ai/backends/local_segment.py": "def load():\n    import torch, transformers\n",
    "ai/backends/local_upscale.py": "def load():\n    import torch, spandrel\n",
    "ai/backends/local_train.py": "def load():\n    import torch, diffusers, peft\n",
    "ai/backends/style.py": "import onnxruntime\n",
    "ai/models/__init__.py": "",
    "ai/models/registry.py": "import huggingface_hub\n",
    "gpu_accel.py": "import fakeart.settings, fakeart.privacy\n",
    "settings/__init__.py": "import fakeart.core.doc\n",
    "core/__init__.py": "",
    "core/doc.py": "import numpy\n",
    "privacy.py": "import os\n",
    "logs.py": "import os\n",
    "licences.py": "import html\n",
}

# contract id -> (module, line appended): the one import that must break exactly that contract.
VIOLATIONS: dict[str, tuple[str, str]] = {
    "layers": ("settings/__init__.py", "import fakeart.gpu_accel\n"),
    "core-alone": ("core/doc.py", "import fakeart.privacy\n"),
    "headless": ("ai/engine.py", "def show():\n    from PySide6 import QtWidgets\n"),
    "torch-local": ("ai/engine.py", "def run():\n    import torch\n"),
    "hub-models": ("qt/window.py", "import huggingface_hub\n"),
    "onnx-backends": ("ai/models/registry.py", "import onnxruntime\n"),
}


def _config() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]


def _broken(stdout: str, names: dict[str, str]) -> set[str]:
    by_name = {name: cid for cid, name in names.items()}
    return {by_name[m.group(1)] for m in re.finditer(r"^(.*) BROKEN$", stdout, re.M)}


def _lint(cwd: Path, config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([str(LINT), str(config), "--no-cache", "--no-logo"], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _fake_tree(where: Path, violation: tuple[str, str] | None) -> Path:
    for rel, src in SKELETON.items():
        path = where / FAKE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(src)
    if violation is not None:
        rel, line = violation
        with open(where / FAKE / rel, "a") as f:
            f.write(line)
    config = where / "contracts.toml"
    text = (ROOT / "pyproject.toml").read_text()
    config.write_text(re.sub(r"\baiart_desktop\b", FAKE, text))
    return config


def test_the_real_tree_keeps_every_contract() -> None:
    r = _lint(ROOT, ROOT / "pyproject.toml")
    out, err = r.communicate(timeout=120)
    n = len(_config()["contracts"])
    assert r.returncode == 0, out + err
    assert f"Contracts: {n} kept, 0 broken." in out, out


def test_every_contract_has_a_violation_case() -> None:
    assert {c["id"] for c in _config()["contracts"]} == set(VIOLATIONS)


def test_each_contract_breaks_on_its_violation(tmp_path: Path) -> None:
    names = {c["id"]: c["name"] for c in _config()["contracts"]}
    cases: dict[str | None, tuple[str, str] | None] = {None: None, **VIOLATIONS}
    runs = {}
    for cid, violation in cases.items():  # all at once: each run is a separate process
        where = tmp_path / (cid or "clean")
        runs[cid] = _lint(where, _fake_tree(where, violation))
    for cid, proc in runs.items():
        out, err = proc.communicate(timeout=120)
        if cid is None:
            assert proc.returncode == 0, f"the allowed shape must pass:\n{out}{err}"
            assert f"Contracts: {len(names)} kept, 0 broken." in out, out
        else:
            assert proc.returncode == 1, f"{cid}:\n{out}{err}"
            assert _broken(out, names) == {cid}, f"{cid}:\n{out}"


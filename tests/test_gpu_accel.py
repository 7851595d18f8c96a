"""GPU acceleration: detection from fake nvidia-smi / rocminfo programs and /proc, /dev files,
the choice of torch build, the install command, and the whole install -> verify -> record ->
activate path with installers that are real programs (scripts) which succeed, fail or hang.

No CUDA torch can be installed here, so the "installed torch" these scripts write is a small
package named torch that reports a GPU; everything around it (subprocesses, folders, state
file, sys.path) is the real code."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest

from aiart_desktop import gpu_accel as ga
from aiart_desktop.settings import settings_path

ROOT = Path(__file__).resolve().parents[1]
ENV_ROOT = {**os.environ, "PYTHONPATH": str(ROOT)}


def _program(folder: Path, name: str, body: str) -> Path:
    """An executable Python script called `name` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body), encoding="utf-8")
    p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return p


def _fake_nvidia_smi(folder: Path, name: str, driver: str, cuda: str) -> str:
    _program(folder, "nvidia-smi", f"""
        import sys
        if any(a.startswith("--query-gpu") for a in sys.argv):
            print("{name}, {driver}")
        else:
            print("| NVIDIA-SMI {driver}   Driver Version: {driver}   CUDA Version: {cuda} |")
        """)
    return str(folder)


needs_posix = pytest.mark.skipif(os.name != "posix", reason="fake programs are #! scripts")


# ---- detection ------------------------------------------------------------------------------
@needs_posix
def test_nvidia_smi_on_path_gives_name_driver_and_cuda(tmp_path: Path) -> None:
    path = _fake_nvidia_smi(tmp_path / "bin", "NVIDIA GeForce RTX 4070", "550.54.14", "12.4")
    info = ga.detect(path=path, proc_root=tmp_path, dev_root=tmp_path, platform="linux")
    assert info == ga.GpuInfo("nvidia", "NVIDIA GeForce RTX 4070", "550.54.14", "12.4",
                              source="nvidia-smi")
    # CUDA 12.4 driver: no build is <= 12.4, so the oldest 12.x build (minor version compat)
    b = ga.choose_backend(info, platform="linux")
    assert b.name == "cu126" and b.index_url == "https://download.pytorch.org/whl/cu126"
    assert b.label == "NVIDIA CUDA 12.6" and b.download_gb > 1


@pytest.mark.parametrize(("driver", "cuda", "platform", "expected"), [
    ("570.86.10", "12.8", "linux", "cu128"),
    ("580.82.07", "13.0", "linux", "cu130"),
    ("581.15", "13.0", "win32", "cu130"),
    ("560.94", "12.6", "win32", "cu126"),
    ("535.129.03", "", "linux", "cu128"),     # from /proc: no CUDA cap known
])
def test_backend_follows_driver_and_reported_cuda(driver: str, cuda: str, platform: str,
                                                  expected: str) -> None:
    info = ga.GpuInfo("nvidia", "GPU", driver, cuda)
    assert ga.choose_backend(info, platform=platform).name == expected


def test_old_driver_is_refused_with_the_version_to_install() -> None:
    with pytest.raises(ga.GpuAccelError, match=r"470\.256\.02 is too old.*528"):
        ga.choose_backend(ga.GpuInfo("nvidia", "GTX 780", "470.256.02", "11.4"), "linux")


def test_proc_driver_version_without_nvidia_smi(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "driver" / "nvidia").mkdir(parents=True)
    (proc / "driver" / "nvidia" / "version").write_text(
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build  "
        "(dvs-builder@U16-I3-B03-4-3)  Thu Feb 22 01:25:25 UTC 2024\n"
        "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n")
    info = ga.detect(path=str(tmp_path / "empty"), proc_root=proc, dev_root=tmp_path,
                     platform="linux")
    assert info is not None and info.vendor == "nvidia" and info.driver == "550.54.14"
    assert info.source.endswith("driver/nvidia/version")


@needs_posix
def test_amd_rocm_from_kfd_version_file_and_rocminfo(tmp_path: Path) -> None:
    dev, rocm = tmp_path / "dev", tmp_path / "rocm"
    dev.mkdir()
    (dev / "kfd").write_text("")
    (rocm / ".info").mkdir(parents=True)
    (rocm / ".info" / "version").write_text("6.3.2-91\n")
    _program(tmp_path / "bin", "rocminfo", """
        print("  Marketing Name:          AMD Ryzen 9 7950X 16-Core Processor")
        print("  Marketing Name:          AMD Radeon RX 7900 XTX")
        """)
    info = ga.detect(path=str(tmp_path / "bin"), proc_root=tmp_path, dev_root=dev,
                     rocm_root=rocm, platform="linux")
    assert info == ga.GpuInfo("amd", "AMD Radeon RX 7900 XTX", rocm="6.3.2-91",
                              source=str(dev / "kfd"))
    b = ga.choose_backend(info, platform="linux")
    assert (b.name, b.index_url) == ("rocm6.3", "https://download.pytorch.org/whl/rocm6.3")
    with pytest.raises(ga.GpuAccelError, match="Linux only"):
        ga.choose_backend(info, platform="win32")


def test_no_gpu_and_macos_say_why(tmp_path: Path) -> None:
    assert ga.detect(path=str(tmp_path), proc_root=tmp_path, dev_root=tmp_path,
                     platform="linux") is None
    with pytest.raises(ga.GpuAccelError, match="no NVIDIA GPU"):
        ga.choose_backend(None, platform="linux")
    assert ga.detect(platform="darwin") is None
    with pytest.raises(ga.GpuAccelError, match="Apple Metal"):
        ga.choose_backend(None, platform="darwin")


# ---- command construction -------------------------------------------------------------------
def test_torch_version_matches_the_pyproject_pin() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.replace(" ", "").startswith("torch=="))
    assert pin.split("==")[1].split()[0].strip('",') == ga.TORCH_VERSION


def test_pip_and_uv_commands(tmp_path: Path) -> None:
    b = ga.choose_backend(ga.GpuInfo("nvidia", "GPU", "570.86.10", "12.8"), "linux")
    plan = ga.plan_install(b, root=tmp_path, uv="")
    assert plan.tool == "pip" and plan.target == tmp_path / "cu128"
    assert plan.command[:3] == [sys.executable, "-m", "pip"]
    c = plan.command
    assert c[c.index("--target") + 1] == str(tmp_path / "cu128.partial")
    assert c[c.index("--index-url") + 1] == "https://download.pytorch.org/whl/cu128"
    assert c[-1] == f"torch=={ga.TORCH_VERSION}"
    uv = ga.plan_install(b, root=tmp_path, uv="/opt/bin/uv")
    assert uv.tool == "uv" and uv.command[:3] == ["/opt/bin/uv", "pip", "install"]
    assert "--torch-backend=auto" in uv.command and "--index-url" not in uv.command
    assert uv.command[uv.command.index("--python") + 1] == sys.executable
    assert "cu128.partial" in uv.describe()


def test_frozen_app_runs_its_own_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    b = ga.Backend("cu126", "NVIDIA CUDA 12.6", "https://download.pytorch.org/whl/cu126", 1, 2)
    plan = ga.plan_install(b, root=tmp_path)
    assert plan.command[:3] == [sys.executable, "--gpu-helper", "pip"]
    assert ga.helper_command() == [sys.executable, "--gpu-helper"]


# ---- install, verify, record, activate ------------------------------------------------------
FAKE_TORCH = """
    import os, sys
    target = sys.argv[sys.argv.index("--target") + 1]
    print("Collecting torch==2.13.0", flush=True)
    print("  Downloading torch-2.13.0+cu128-cp311-cp311-manylinux_2_28_x86_64.whl (850.2 MB)")
    pkg = os.path.join(target, "torch")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "__init__.py"), "w") as f:
        f.write("__version__ = '2.13.0+cu128'\\n"
                "class version:\\n    cuda = '12.8'\\n    hip = None\\n"
                "class cuda:\\n"
                "    @staticmethod\\n    def is_available(): return {available}\\n"
                "    @staticmethod\\n    def get_device_name(i): return 'Fake RTX'\\n")
    os.makedirs(os.path.join(target, "nvidia", "cublas", "lib"))
    os.makedirs(os.path.join(target, "sympy"))          # a dependency the app already has
    open(os.path.join(target, "typing_extensions.py"), "w").close()
    print("Successfully installed torch-2.13.0+cu128", flush=True)
"""


def _plan(tmp_path: Path, script: Path) -> ga.InstallPlan:
    b = ga.Backend("cu128", "NVIDIA CUDA 12.8", "https://download.pytorch.org/whl/cu128", 1, 2)
    root = tmp_path / "gpu-torch"
    staging = root / "cu128.partial"
    return ga.InstallPlan(b, root / "cu128", staging,
                          [sys.executable, str(script), "install", "--target", str(staging)],
                          "pip")


def test_install_verify_record_and_activate_in_a_new_process(tmp_path: Path) -> None:
    script = _program(tmp_path, "fake_pip.py", FAKE_TORCH.replace("{available}", "True"))
    plan = _plan(tmp_path, script)
    lines: list[str] = []
    result = ga.run_install(plan, lines.append)
    assert result.ok, result.message
    assert "Fake RTX" in result.message and "CUDA 12.8" in result.message
    assert lines[0] == "Collecting torch==2.13.0" and any("850.2 MB" in x for x in lines)
    assert (plan.target / "torch" / "__init__.py").is_file() and not plan.staging.exists()
    assert (plan.target / "nvidia" / "cublas" / "lib").is_dir()
    assert not (plan.target / "sympy").exists()
    assert not (plan.target / "typing_extensions.py").exists()
    state = ga.read_state(plan.target.parent)
    assert state["verified"] and state["path"] == str(plan.target)
    assert state["app_torch"] == ga.TORCH_VERSION and state["device"] == "Fake RTX"
    # A new process (as main.py at start-up) imports torch from the GPU folder.
    code = ("import sys; from pathlib import Path; from aiart_desktop import gpu_accel as g; "
            f"print(g.activate_at_startup(Path({str(plan.target.parent)!r}))); import torch; "
            "print(torch.__file__); print(torch.cuda.is_available())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=ENV_ROOT, check=True, timeout=60).stdout.split()
    assert out[0] == "True" and out[1].startswith(str(plan.target)) and out[2] == "True"


def test_failing_pip_changes_nothing(tmp_path: Path) -> None:
    settings_before = settings_path().read_bytes() if settings_path().exists() else None
    script = _program(tmp_path, "fake_pip.py", """
        import os, sys
        os.makedirs(os.path.join(sys.argv[sys.argv.index("--target") + 1], "torch"))
        print("Looking in indexes: https://download.pytorch.org/whl/cu128")
        print("ERROR: No matching distribution found for torch==2.13.0")
        sys.exit(1)
        """)
    plan = _plan(tmp_path, script)
    result = ga.run_install(plan)
    assert not result.ok and not result.cancelled
    assert "exit code 1" in result.message and "No matching distribution" in result.message
    assert not plan.staging.exists() and not plan.target.exists()
    assert ga.read_state(plan.target.parent) == {}
    after = settings_path().read_bytes() if settings_path().exists() else None
    assert after == settings_before


def test_real_plan_with_a_pip_that_exits_1(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The command plan_install builds (python -m pip ...), run against a pip that fails."""
    fake = tmp_path / "fakepip" / "pip"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text("import sys\nprint('ERROR: network is unreachable')\n"
                                      "sys.exit(1)\n")
    monkeypatch.setenv("PYTHONPATH", str(fake.parent))
    b = ga.choose_backend(ga.GpuInfo("nvidia", "GPU", "570.86.10", "12.8"), "linux")
    plan = ga.plan_install(b, root=tmp_path / "gpu", uv="")
    result = ga.run_install(plan)
    assert not result.ok and "pip failed (exit code 1): ERROR: network is unreachable" \
        in result.message
    assert not plan.staging.exists() and ga.read_state(tmp_path / "gpu") == {}


def test_torch_without_a_gpu_fails_verification(tmp_path: Path) -> None:
    script = _program(tmp_path, "fake_pip.py", FAKE_TORCH.replace("{available}", "False"))
    plan = _plan(tmp_path, script)
    result = ga.run_install(plan)
    assert not result.ok and "is_available() is False" in result.message
    assert "nothing was changed" in result.message
    assert not plan.target.exists() and not plan.staging.exists()
    assert ga.read_state(plan.target.parent) == {}


def test_cancel_stops_the_installer_at_once(tmp_path: Path) -> None:
    script = _program(tmp_path, "slow_pip.py", """
        import os, sys, time
        os.makedirs(os.path.join(sys.argv[sys.argv.index("--target") + 1], "torch"))
        print("Downloading torch (850 MB)", flush=True)
        time.sleep(60)
        """)
    plan = _plan(tmp_path, script)
    seen: list[str] = []
    t0 = time.monotonic()
    result = ga.run_install(plan, seen.append, cancelled=lambda: bool(seen))
    assert result.cancelled and not result.ok and "nothing was changed" in result.message
    assert time.monotonic() - t0 < 30
    assert not plan.staging.exists() and ga.read_state(plan.target.parent) == {}


def test_activation_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cu128"
    folder.mkdir()
    good = {"verified": True, "path": str(folder), "app_torch": ga.TORCH_VERSION}
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert ga.activate({**good, "app_torch": "1.0.0"}) == "unusable"
    assert ga.activate({**good, "verified": False}) == "unusable"
    assert str(folder) not in sys.path
    assert ga.activate(good) == "active" and sys.path[0] == str(folder)
    assert ga.activate(good) == "active" and sys.path.count(str(folder)) == 1
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(folder)])
    monkeypatch.setitem(sys.modules, "torch", type(sys)("torch"))
    assert ga.activate(good) == "restart" and str(folder) not in sys.path
    ga.write_state(good, tmp_path)
    assert "restart" in ga.status_text(tmp_path)
    ga.remove(tmp_path)
    assert not folder.exists() and ga.read_state(tmp_path) == {}
    assert ga.status_text(tmp_path) == "not installed"


def test_helper_verify_reports_json(tmp_path: Path) -> None:
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text(
        "__version__ = '2.13.0+rocm6.3'\nclass version:\n    hip = '6.3'\n    cuda = None\n"
        "class cuda:\n    is_available = staticmethod(lambda: True)\n"
        "    get_device_name = staticmethod(lambda i: 'Radeon')\n")
    out = subprocess.run([*ga.helper_command(), "verify", str(tmp_path)], capture_output=True,
                         text=True, env=ENV_ROOT, timeout=60, check=True).stdout
    data = json.loads(out.split("AIART-VERIFY ", 1)[1])
    assert data["ok"] and data["hip"] == "6.3" and data["device"] == "Radeon"

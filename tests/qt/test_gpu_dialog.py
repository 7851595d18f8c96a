"""GPU Acceleration dialog on a real window: the menu action, the consent page (what, where,
how big), a real install with a scripted installer (success, failure, cancel), the result and
the restart offer. The installer scripts stand in for pip; the rest is the real code."""
from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMenu

from aiart_desktop import gpu_accel as ga
from aiart_desktop.qt.dialogs.gpu_accel import (
    ACTION_TEXT,
    GpuAccelDialog,
    downloaded_mb,
    install_gpu_action,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="installer scripts are POSIX")
SHOTS = os.environ.get("AIART_SCREENSHOTS")
GPU = ga.GpuInfo("nvidia", "NVIDIA GeForce RTX 4070", "550.54.14", "12.4", source="test")
TORCH = """
    import os, sys, time
    target = sys.argv[sys.argv.index("--target") + 1]
    print("Collecting torch==2.13.0", flush=True)
    print("  Downloading torch-2.13.0+cu126-cp311-cp311-manylinux_2_28_x86_64.whl (850.2 MB)",
          flush=True)
    print("  Downloading nvidia_cublas_cu12-12.6.4.1-py3-none-manylinux2014_x86_64.whl "
          "(393.1 MB)", flush=True)
    time.sleep({sleep})
    os.makedirs(os.path.join(target, "torch"))
    with open(os.path.join(target, "torch", "__init__.py"), "w") as f:
        f.write("__version__ = '2.13.0+cu126'\\nclass version:\\n    cuda = '12.6'\\n"
                "class cuda:\\n    is_available = staticmethod(lambda: True)\\n"
                "    get_device_name = staticmethod(lambda i: 'RTX 4070')\\n")
    print("Successfully installed torch-2.13.0+cu126", flush=True)
    sys.exit({code})
"""


def _script(tmp_path: Path, sleep: float = 0, code: int = 0) -> Path:
    p = tmp_path / "fake_pip.py"
    p.write_text(textwrap.dedent(TORCH).replace("{sleep}", str(sleep))
                 .replace("{code}", str(code)))
    return p


def _dialog(qtbot, tmp_path: Path, script: Path | None, gpu: ga.GpuInfo | None = GPU,
            restarts: list[int] | None = None) -> GpuAccelDialog:
    root = tmp_path / "gpu-torch"

    def plan(b: ga.Backend) -> ga.InstallPlan:
        real = ga.plan_install(b, root=root, uv="")
        return ga.InstallPlan(b, real.target, real.staging,
                              [sys.executable, str(script), "install", "--target",
                               str(real.staging)], "pip")

    dlg = GpuAccelDialog(detect=lambda: gpu, plan=plan, root=root,
                         restart=lambda: (restarts if restarts is not None else []).append(1))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.state != "looking", timeout=5000)
    return dlg


def _shot(dlg: GpuAccelDialog, name: str) -> None:
    if SHOTS:
        dlg.grab().save(os.path.join(SHOTS, name))


def test_menu_action_on_the_real_window(win, qtbot) -> None:
    act = install_gpu_action(win, detect=lambda: None, root=Path(os.environ["AIART_DATA_DIR"]))
    assert act.text() == ACTION_TEXT and win.gpu_action is act
    edit = next(m for m in win.menuBar().findChildren(QMenu) if m.title() == "&Edit")
    assert act in edit.actions()
    act.trigger()
    dlg = win._gpu_dialog
    qtbot.waitUntil(lambda: dlg.state == "none", timeout=5000)
    assert dlg.isVisible() and "No GPU build" in dlg.heading.text()
    assert "No NVIDIA GPU" in dlg.body.text() and not dlg.install_button.isVisible()
    dlg.close()


def test_consent_page_says_what_where_and_how_big(qtbot, tmp_path: Path) -> None:
    dlg = _dialog(qtbot, tmp_path, _script(tmp_path))
    assert dlg.state == "offer" and dlg.install_button.isVisible()
    text = dlg.body.text()
    assert "NVIDIA GeForce RTX 4070" in text and "driver 550.54.14" in text
    assert "NVIDIA CUDA 12.6" in text and "2.8 GB" in text and "5.5 GB" in text
    assert str(tmp_path / "gpu-torch" / "cu126") in text
    assert "nothing else on the computer changes" in text
    assert dlg.close_button.text() == "Cancel"
    _shot(dlg, "gpu-accel-offer.png")
    assert not (tmp_path / "gpu-torch").exists()  # nothing written before consent


def test_install_runs_verifies_and_offers_a_restart(qtbot, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", type(sys)("torch"))  # torch already loaded
    monkeypatch.setattr(sys, "path", list(sys.path))
    restarts: list[int] = []
    dlg = _dialog(qtbot, tmp_path, _script(tmp_path, sleep=0.5), restarts=restarts)
    dlg.install_button.click()
    assert dlg.state == "installing" and dlg.progress.isVisible()
    qtbot.waitUntil(lambda: "GB of downloads started" in dlg.activity.text(), timeout=10000)
    assert "1.21 GB" in dlg.activity.text()
    _shot(dlg, "gpu-accel-installing.png")
    qtbot.waitUntil(lambda: dlg.state == "done", timeout=60000)
    assert "RTX 4070" in dlg.body.text() and "Restart AIArt Desktop" in dlg.body.text()
    assert dlg.restart_button.isVisible() and dlg.remove_button.isVisible()
    assert "Successfully installed" in dlg.log.toPlainText()
    state = ga.read_state(tmp_path / "gpu-torch")
    assert state["verified"] and state["backend"] == "cu126"
    _shot(dlg, "gpu-accel-done.png")
    dlg.restart_button.click()
    assert restarts == [1]
    dlg.remove_button.click()
    assert ga.read_state(tmp_path / "gpu-torch") == {}
    assert not (tmp_path / "gpu-torch" / "cu126").exists()
    qtbot.waitUntil(lambda: dlg.state == "offer", timeout=5000)  # looks for the GPU again


def test_failed_install_changes_nothing_and_can_be_retried(qtbot, tmp_path: Path) -> None:
    dlg = _dialog(qtbot, tmp_path, _script(tmp_path, code=1))
    dlg.install_button.click()
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=60000)
    assert "exit code 1" in dlg.body.text() and "Nothing was changed" in dlg.body.text()
    assert dlg.install_button.isVisible() and dlg.install_button.text() == "Try Again"
    assert ga.read_state(tmp_path / "gpu-torch") == {}
    assert not (tmp_path / "gpu-torch" / "cu126.partial").exists()
    _shot(dlg, "gpu-accel-failed.png")


def test_cancel_while_installing(qtbot, tmp_path: Path) -> None:
    dlg = _dialog(qtbot, tmp_path, _script(tmp_path, sleep=60))
    dlg.install_button.click()
    qtbot.waitUntil(lambda: "Downloading" in dlg.log.toPlainText(), timeout=10000)
    dlg.close_button.click()  # "Cancel"
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=20000)
    assert "cancelled" in dlg.heading.text() and not dlg.isVisible()
    assert not (tmp_path / "gpu-torch" / "cu126.partial").exists()
    assert ga.read_state(tmp_path / "gpu-torch") == {}


def test_downloaded_sizes() -> None:
    assert downloaded_mb("  Downloading torch-2.13.0.whl (850.2 MB)") == 850.2
    assert downloaded_mb("Downloading x.whl (1.5 GB)") == 1536.0
    assert downloaded_mb("Collecting torch (850 MB)") == 0.0

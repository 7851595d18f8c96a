"""Smoke test of the built .deb (what `make package-test` runs after building it).

    .venv/bin/python installer/linux/package_test.py [--deb dist/aiart-desktop_*.deb]

1. Unpacks the .deb into a temporary root (`dpkg-deb -x`) and checks its files: launcher,
   .desktop entry, icons, the OpenRaster MIME type, control fields.
2. Builds a tiny random-weight Stable Diffusion inpaint pipeline with THIS (development)
   interpreter, from tests/support/tiny_models.py.
3. Runs the INSTALLED program (temp root/opt/aiart-desktop/aiart-desktop) offscreen, with no
   network (`unshare -n` when the system permits it), settings and data in temp folders:
   `--selftest --model <tiny> --train-model <tiny>` (opens a sample .ora, paints, fills, inpaints,
   restyles through the worker, trains a 3-step style LoRA in its own process, saves,
   reloads) and then `--startup-probe` three times.
4. Prints `bundle_mb`, `deb_mb` (MB = 10^6 bytes), `frozen_startup_ms` (median of the probes,
   process start to the first painted frame) and each target's status. A missed target is a
   warning, or a failure with --strict.
"""
from __future__ import annotations

import argparse
import configparser
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_deb import APP, folder_kib  # noqa: E402

BUNDLE_MB_MAX = 1100
DEB_MB_MAX = 320
STARTUP_MS_TARGET = 3000
RUN_TIMEOUT_S = 600


class Failure(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Failure(what)


def find_deb(given: str | None) -> Path:
    if given:
        return Path(given)
    debs = sorted((ROOT / "dist").glob(f"{APP}_*.deb"), key=lambda p: p.stat().st_mtime)
    if not debs:
        raise Failure("no .deb in dist/: run `make package` first")
    return debs[-1]


def check_files(root: Path, deb: Path) -> None:
    exe = root / "opt" / APP / APP
    check(exe.is_file() and os.access(exe, os.X_OK), f"{exe} is missing or not executable")
    launcher = root / "usr" / "bin" / APP
    check(os.access(launcher, os.X_OK) and f"/opt/{APP}/{APP}" in launcher.read_text(),
          "the /usr/bin launcher does not start /opt/aiart-desktop/aiart-desktop")
    desktop = root / "usr" / "share" / "applications" / f"{APP}.desktop"
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment, method-assign]
    entry.read(desktop)
    d = entry["Desktop Entry"]
    check(d.get("Exec", "").startswith(APP) and d.get("Icon") == APP,
          f"{desktop}: Exec / Icon are wrong")
    check("image/openraster" in d.get("MimeType", ""), f"{desktop}: no image/openraster")
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(desktop)], check=True)
    mime = ElementTree.parse(root / "usr" / "share" / "mime" / "packages" / f"{APP}.xml")
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    types = {t.get("type"): t for t in mime.getroot().iter(f"{ns}mime-type")}
    check("image/openraster" in types and types["image/openraster"].find(f"{ns}glob")
          .get("pattern") == "*.ora", "the MIME file does not register *.ora")
    icons = list((root / "usr" / "share" / "icons" / "hicolor").glob(f"*/apps/{APP}.png"))
    check(len(icons) >= 6, f"only {len(icons)} hicolor icons")
    info = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Architecture",
                           "Depends"], capture_output=True, text=True, check=True).stdout
    check(f"Package: {APP}" in info and "libxcb-cursor0" in info, f"control fields: {info}")


def network_wrapper() -> list[str]:
    """`unshare -n` (or -rn as a normal user) when this system lets us, else nothing."""
    for cmd in (["unshare", "-n"], ["unshare", "-rn"]):
        if shutil.which("unshare") and subprocess.run([*cmd, "true"], capture_output=True,
                                                      check=False).returncode == 0:
            return cmd
    print("note: cannot create a network namespace here (unshare -n refused); the installed "
          "app runs WITH network access, offline by its own settings (HF_HUB_OFFLINE=1)")
    return []


def app_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "AIART_", "QT_", "LD_LIBRARY"))}
    env.update(QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               AIART_CONFIG_DIR=str(tmp / "config"), AIART_DATA_DIR=str(tmp / "data"),
               HOME=str(tmp / "home"))
    (tmp / "home").mkdir(exist_ok=True)
    return env


def run_app(cmd: list[str], env: dict[str, str]) -> str:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                       check=False)
    out = "\n".join(x for x in (r.stdout + r.stderr).splitlines()
                    if "propagateSizeHints" not in x)
    if r.returncode != 0:
        raise Failure(f"{' '.join(cmd[-3:])} exited {r.returncode} after "
                      f"{time.perf_counter() - t0:.1f} s:\n{out[-4000:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--deb")
    p.add_argument("--keep", action="store_true", help="keep the temp folder")
    p.add_argument("--strict", action="store_true", help="fail when a size or time target "
                   "is missed")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="aiart-package-test-"))
    try:
        deb = find_deb(args.deb)
        deb_mb = deb.stat().st_size / 1e6
        root = tmp / "root"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        check_files(root, deb)
        print("package files: ok")
        bundle_mb = folder_kib(root / "opt" / APP) * 1024 / 1e6

        sys.path.insert(0, str(ROOT))
        from tests.support.tiny_models import build_sd

        model = build_sd(tmp / "tiny-sd-inpaint", inpaint=True)
        train_model = build_sd(tmp / "tiny-sd")  # Train a Style takes no inpainting model
        exe = str(root / "opt" / APP / APP)
        wrap, env = network_wrapper(), app_env(tmp)
        out = run_app([*wrap, exe, "--selftest", "--model", str(model), "--train-model",
                       str(train_model), "--out", str(tmp / "out")], env)
        print(out)
        check("selftest: passed" in out, "the selftest did not report success")
        startups = []
        for _ in range(3):
            probe = run_app([*wrap, exe, "--startup-probe"], env)
            line = next((x for x in probe.splitlines() if x.startswith("startup_ms:")), None)
            check(line is not None, f"the startup probe printed no startup_ms:\n{probe}")
            startups.append(int(line.split(":")[1]))
        startup = round(statistics.median(startups))
        print(f"startup probes (ms): {startups}")
        print(f"bundle_mb: {bundle_mb:.0f}")
        print(f"deb_mb: {deb_mb:.0f}")
        print(f"frozen_startup_ms: {startup}")
        missed = [f"{name} {value:.0f} is over its target {limit}"
                  for name, value, limit in (("bundle_mb", bundle_mb, BUNDLE_MB_MAX),
                                             ("deb_mb", deb_mb, DEB_MB_MAX),
                                             ("frozen_startup_ms", startup, STARTUP_MS_TARGET))
                  if value > limit]
        for m in missed:
            print(f"target missed: {m}")
        check(not (missed and args.strict), "targets missed (--strict)")
        print("package-test: passed")
        return 0
    except (Failure, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"package-test FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Build the Debian package and the portable archive from the PyInstaller bundle.

    python installer/linux/make_deb.py [--bundle dist/aiart-desktop] [--out dist] [--no-tar]

Writes dist/aiart-desktop_<version>_<arch>.deb (xz) installing:
  /opt/aiart-desktop/                       the bundle (executable `aiart-desktop` + _internal/)
  /usr/bin/aiart-desktop                    a launcher on PATH
  /usr/share/applications/aiart-desktop.desktop
  /usr/share/icons/hicolor/<n>x<n>/apps/aiart-desktop.png
  /usr/share/mime/packages/aiart-desktop.xml    image/openraster (*.ora) for the file manager
  /usr/share/metainfo/org.aiart_desktop.AIArtDesktop.metainfo.xml
The desktop, MIME and icon caches are refreshed by the dpkg triggers of desktop-file-utils,
shared-mime-info and the icon theme, so the package has no maintainer scripts.
Also dist/aiart-desktop-<version>-linux-<machine>.tar.zst: the bundle folder as it is, to unpack
anywhere and run `aiart-desktop/aiart-desktop` (needs the `zstd` program).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = "aiart-desktop"
DISPLAY = "AIArt Desktop"
MAINTAINER = "AIArt Desktop contributors <aiart-desktop@users.noreply.github.com>"
HOMEPAGE = "https://github.com/aiart-desktop/aiart-desktop"
# What the bundle needs from the system: glibc, and the X11/Wayland/GL libraries Qt loads.
DEPENDS = ("libc6 (>= 2.31), libgl1, libegl1, libfontconfig1, libfreetype6, libxkbcommon0, "
           "libxkbcommon-x11-0, libdbus-1-3, libx11-xcb1, libxcb-cursor0, libxcb-icccm4, "
           "libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-shape0, "
           "libxcb-xinerama0, libxcb-xkb1, libwayland-client0, libwayland-cursor0, "
           "libwayland-egl1")
IMAGE_TYPES = "image/openraster;image/png;image/jpeg;image/webp;image/tiff;"

DESKTOP = f"""[Desktop Entry]
Type=Application
Name={DISPLAY}
GenericName=Painting Program
Comment=Paint on layers; let AI fill, refine or restyle the part you select
Exec={APP} %F
Icon={APP}
Terminal=false
Categories=Graphics;2DGraphics;RasterGraphics;
MimeType={IMAGE_TYPES}
Keywords=paint;draw;art;layers;AI;inpaint;stable diffusion;openraster;
StartupWMClass={APP}
"""

MIME = """<?xml version="1.0" encoding="UTF-8"?>
<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
  <mime-type type="image/openraster">
    <comment>OpenRaster image</comment>
    <sub-class-of type="application/zip"/>
    <generic-icon name="image-x-generic"/>
    <magic priority="70">
      <match type="string" value="mimetype" offset="30">
        <match type="string" value="image/openraster" offset="38"/>
      </match>
    </magic>
    <glob pattern="*.ora"/>
  </mime-type>
</mime-info>
"""

LAUNCHER = f"""#!/bin/sh
# {DISPLAY}: the program lives in /opt/{APP}.
exec /opt/{APP}/{APP} "$@"
"""


def metainfo(version: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<component type="desktop-application">
  <id>org.aiart_desktop.AIArtDesktop</id>
  <name>{DISPLAY}</name>
  <summary>Paint on layers; AI works on the part you select</summary>
  <metadata_license>CC0-1.0</metadata_license>
  <project_license>GPL-3.0-or-later</project_license>
  <description>
    <p>A painting program where AI is a brush, not a replacement for the painter: select a
    region and ask for inpaint, refine, text-to-image, outpaint or style transfer; the result
    comes back as a new, editable layer.</p>
  </description>
  <launchable type="desktop-id">{APP}.desktop</launchable>
  <provides><mediatype>image/openraster</mediatype></provides>
  <releases><release version="{version}"/></releases>
  <content_rating type="oars-1.1"/>
</component>
"""


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def deb_arch() -> str:
    try:
        return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def folder_kib(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return (total + 1023) // 1024


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def stage(bundle: Path, root: Path, version: str, arch: str) -> None:
    """Lay out the package's files under `root` (DEBIAN/ included)."""
    if root.exists():
        shutil.rmtree(root)
    opt = root / "opt" / APP
    shutil.copytree(bundle, opt, symlinks=True)
    _write(root / "usr" / "bin" / APP, LAUNCHER, 0o755)
    share = root / "usr" / "share"
    _write(share / "applications" / f"{APP}.desktop", DESKTOP)
    _write(share / "mime" / "packages" / f"{APP}.xml", MIME)
    _write(share / "metainfo" / "org.aiart_desktop.AIArtDesktop.metainfo.xml",
           metainfo(version))
    icons = ROOT / "installer" / "icons" / "hicolor"
    for png in sorted(icons.glob("*/apps/*.png")):
        dest = share / "icons" / "hicolor" / png.relative_to(icons)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, dest)
    _write(share / "doc" / APP / "copyright",
           f"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
           f"Upstream-Name: {APP}\nSource: {HOMEPAGE}\n\nFiles: *\n"
           f"Copyright: AIArt Desktop contributors\nLicense: GPL-3.0-or-later\n"
           f" The bundled libraries keep their own licences; see /opt/{APP}/_internal.\n")
    control = (f"Package: {APP}\nVersion: {version}\nArchitecture: {arch}\n"
               f"Maintainer: {MAINTAINER}\nInstalled-Size: {folder_kib(root)}\n"
               f"Depends: {DEPENDS}\nSection: graphics\nPriority: optional\n"
               f"Homepage: {HOMEPAGE}\n"
               f"Description: painting program where AI works on the part you select\n"
               f" Paint on layers with pressure-sensitive brushes; select a region and let a\n"
               f" local Stable Diffusion model inpaint, refine or extend it, or restyle it\n"
               f" with the built-in style transfer. Results arrive as editable layers.\n"
               f" Saves OpenRaster (.ora), which Krita, GIMP and MyPaint open.\n")
    _write(root / "DEBIAN" / "control", control)
    for d, _dirs, _files in os.walk(root):
        os.chmod(d, 0o755)


def build_deb(root: Path, out: Path, version: str, arch: str, level: str = "-9e") -> Path:
    """The .deb from a staged root: the ar archive dpkg-deb writes (debian-binary,
    control.tar.xz, data.tar.xz), with the data compressed by multi-threaded `xz` (dpkg-deb
    compresses on one core: 7 minutes for this bundle here). xz, not zstd: every dpkg reads it."""
    deb = out / f"{APP}_{version}_{arch}.deb"
    deb.unlink(missing_ok=True)
    work = out / f".{APP}-deb-parts"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tar = ["tar", "--owner=root", "--group=root", "--sort=name"]
    if os.environ.get("SOURCE_DATE_EPOCH"):  # reproducible builds
        tar.append("--mtime=@" + os.environ["SOURCE_DATE_EPOCH"])
    try:
        (work / "debian-binary").write_text("2.0\n")
        subprocess.run([*tar, "-C", str(root / "DEBIAN"), "-cJf",
                        str(work / "control.tar.xz"), "."], check=True)
        with open(work / "data.tar.xz", "wb") as fh:
            t = subprocess.Popen([*tar, "-C", str(root), "--exclude=./DEBIAN", "-cf", "-", "."],
                                 stdout=subprocess.PIPE)
            x = subprocess.run(["xz", "-T0", level, "-c"], stdin=t.stdout, stdout=fh,
                               check=False)
            assert t.stdout is not None
            t.stdout.close()
            if t.wait() != 0 or x.returncode != 0:
                raise SystemExit("tar | xz failed")
        subprocess.run(["ar", "-rcD", str(deb), "debian-binary", "control.tar.xz",
                        "data.tar.xz"], cwd=work, check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return deb


def build_tar(bundle: Path, out: Path, version: str) -> Path | None:
    if shutil.which("zstd") is None:
        print("zstd is not installed: skipping the .tar.zst (apt-get install zstd)",
              file=sys.stderr)
        return None
    tar = out / f"{APP}-{version}-linux-{platform.machine()}.tar.zst"
    tar.unlink(missing_ok=True)
    with open(tar, "wb") as fh:
        t = subprocess.Popen(["tar", "-C", str(bundle.parent), "--owner=0", "--group=0",
                              "-cf", "-", bundle.name], stdout=subprocess.PIPE)
        z = subprocess.run(["zstd", "-q", "-12", "-T0", "-c"], stdin=t.stdout, stdout=fh,
                           check=False)
        assert t.stdout is not None
        t.stdout.close()
        if t.wait() != 0 or z.returncode != 0:
            tar.unlink(missing_ok=True)
            raise SystemExit("tar | zstd failed")
    return tar


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bundle", default=str(ROOT / "dist" / APP))
    p.add_argument("--out", default=str(ROOT / "dist"))
    p.add_argument("--stage", default=str(ROOT / "build" / "deb-root"))
    p.add_argument("--no-tar", action="store_true", help="only the .deb")
    args = p.parse_args(argv)
    bundle, out = Path(args.bundle), Path(args.out)
    if not (bundle / APP).is_file():
        print(f"no bundle at {bundle}: run `make package` (PyInstaller) first", file=sys.stderr)
        return 1
    version, arch = project_version(), deb_arch()
    stage(bundle, Path(args.stage), version, arch)
    deb = build_deb(Path(args.stage), out, version, arch)
    print(f"deb: {deb} ({deb.stat().st_size / 1e6:.0f} MB)")
    if not args.no_tar:
        tar = build_tar(bundle, out, version)
        if tar is not None:
            print(f"tar: {tar} ({tar.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# AppImage from the PyInstaller bundle (CI; needs network to fetch appimagetool once):
#     installer/linux/make_appimage.sh [dist/aiart-desktop]
# -> dist/AIArt_Desktop-<version>-<arch>.AppImage
set -euo pipefail
cd "$(dirname "$0")/../.."
BUNDLE=${1:-dist/aiart-desktop}
ARCH=$(uname -m)
VERSION=$(python3 -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
TOOL=build/appimagetool-$ARCH.AppImage
APPDIR=build/AIArtDesktop.AppDir

if [ ! -x "$TOOL" ]; then
  mkdir -p build
  curl -fsSL -o "$TOOL" \
    "https://github.com/AppImage/appimagetool/releases/download/continuous/appimagetool-$ARCH.AppImage"
  chmod +x "$TOOL"
fi
rm -rf "$APPDIR"
mkdir -p "$APPDIR/usr/share/icons/hicolor" "$APPDIR/usr/share/mime/packages"
cp -a "$BUNDLE" "$APPDIR/usr/aiart-desktop"
cp -a installer/icons/hicolor/. "$APPDIR/usr/share/icons/hicolor/"
cp installer/icons/hicolor/256x256/apps/aiart-desktop.png "$APPDIR/aiart-desktop.png"
python3 - "$APPDIR" <<'PY'
import sys
sys.path.insert(0, "installer/linux")
from make_deb import DESKTOP, MIME
app = sys.argv[1]
open(f"{app}/aiart-desktop.desktop", "w").write(DESKTOP)
open(f"{app}/usr/share/mime/packages/aiart-desktop.xml", "w").write(MIME)
PY
cat > "$APPDIR/AppRun" <<'SH'
#!/bin/sh
HERE="$(dirname "$(readlink -f "$0")")"
exec "$HERE/usr/aiart-desktop/aiart-desktop" "$@"
SH
chmod +x "$APPDIR/AppRun"
ARCH=$ARCH APPIMAGE_EXTRACT_AND_RUN=1 "$TOOL" --no-appstream "$APPDIR" \
  "dist/AIArt_Desktop-$VERSION-$ARCH.AppImage"
echo "dist/AIArt_Desktop-$VERSION-$ARCH.AppImage"

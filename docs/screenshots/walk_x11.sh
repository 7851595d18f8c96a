#!/usr/bin/env bash
# The first-five-minutes walk on a real X display, driven like a user with xdotool:
# start with a painted landscape, select the birds, Fill selection (classical, no model),
# pick with the arrow keys, Enter applies (twice: one layer), Ctrl+Z. Screenshots of each step
# go to $OUT (default /tmp/walk).
#
#   apt-get install -y xvfb xdotool imagemagick libxcb-cursor0 libxcb-icccm4 \
#       libxcb-keysyms1 openbox
#   bash docs/screenshots/walk_x11.sh 1366x768          # or 1920x1080; SCALE=1.5 for 150 %
#
# The painting is made first by docs/screenshots/make_screenshots.py's `paint` (offscreen) and
# saved as .ora. The birds are found in the first screenshot, so the walk works at any screen
# size and scaling; the steps wait a fixed time for the worker (a slow machine: WAIT=10).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=${1:-1366x768}
SCALE=${SCALE:-1}
WAIT=${WAIT:-6}
OUT=${OUT:-/tmp/walk}
DISP=${DISP:-:9}
mkdir -p "$OUT"
HOME_DIR=$(mktemp -d)
PY=.venv/bin/python
HERE=docs/screenshots

"$PY" "$HERE/walk_tools.py" paint "$OUT/landscape.ora"

Xvfb "$DISP" -screen 0 "${SIZE}x24" >/dev/null 2>&1 &
XPID=$!
APP=""
WM=""
trap 'kill $APP $WM $XPID 2>/dev/null || true; rm -rf "$HOME_DIR"' EXIT
sleep 1
DISPLAY=$DISP openbox >/dev/null 2>&1 &
WM=$!
sleep 1
DISPLAY=$DISP HOME=$HOME_DIR QT_SCALE_FACTOR=$SCALE "$PY" main.py "$OUT/landscape.ora" \
    >"$OUT/app.log" 2>&1 &
APP=$!
sleep 15
export DISPLAY=$DISP
shot() { import -window root "$OUT/$1.png"; echo "$OUT/$1.png"; }
shot "01_start"

read -r BX0 BY0 BX1 BY1 CX CY < <("$PY" "$HERE/walk_tools.py" birds "$OUT/01_start.png")
xdotool mousemove "$CX" "$CY"
xdotool key m                      # rectangle select
xdotool mousemove "$BX0" "$BY0" mousedown 1
xdotool mousemove $(((BX0 + BX1) / 2)) $(((BY0 + BY1) / 2))
xdotool mousemove "$BX1" "$BY1" mouseup 1
sleep 0.5
xdotool key ctrl+Return            # Run AI: Fill selection, classical fill (no model)
sleep "$WAIT"
shot "02_ai_variations"
xdotool key Right                  # the strip has the focus: the arrow picks #2
sleep 0.5
shot "03_picked_second"
xdotool key Return                 # Enter applies it
sleep 1
xdotool key Return                 # again: nothing more is added
sleep 0.5
shot "04_applied"
xdotool key ctrl+z
sleep 0.5
shot "05_undone"
echo "walk done: $OUT"

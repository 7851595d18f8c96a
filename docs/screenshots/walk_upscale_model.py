"""Image › Upscale… with a model file, then Refine in tiles, walked on a real X display.

    python docs/screenshots/walk_upscale_model.py 1366x768 [--scale 1.5] [--out /tmp/walk15m]
                                                  [--upto 08]   (stop after that screenshot)

The same app and painted landscape (1400 × 900 px) as walk_upscale.py, with two stand-ins in
a fresh data folder, both random-weight networks of the real architectures loaded by the app's
own loaders:
- `upscalers/compact-x4-standin.safetensors` (and a ×2 twin): a small Real-ESRGAN compact
  (SRVGGNetCompact) ×4, its last layer scaled down (tests/support/tiny_upscaler.py:
  compact_standin), so it gives the nearest-neighbour enlargement plus a faint texture
  rather than noise;
- "Tiny SD 512 (stand-in)": the tests' SD architecture at a 512 px native size (random
  weights: what it paints is noise-like texture, not a picture).

Mouse and keys only, a screenshot after each step:
  06_model_dialog     Ctrl+Alt+I, "By" ×4, "With" the stand-in file;
  07_model_upscaled   finished (5600 × 3600 px), the canvas fitted;
  08_model_join_100pct  View › 100 %, scrolled to the birds: beside them, the first join of
                      the model's tiles (three of 488 px across the 1400: input x 456–488,
                      output 1824–1952): no line;
  (then Ctrl+Z and a ×2 with the ×2 stand-in: 2800 × 1800 px, 28 refine tiles)
  09_refine_ready     the AI tab: Refine, Area "Whole picture, in tiles", the 512 px stand-in,
                      strength 25 %: the tile grid and the time line under Area;
  10_refined          Refine pressed (Ctrl+Enter), the variation shown;
  11_refined_join_100pct  applied (Enter), at 100 % on a join of the refine's tiles (512 px,
                      overlapping 64: x 448–512): the stand-in's texture runs across it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from walk_common import HERE, PY, ROOT, entry, session
from walk_upscale import BIRDS, UpscaleWalk, app_main, pan_to

STANDIN = "compact-x4-standin"
STANDIN2 = "compact-x2-standin"


def prep(data: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from aiart_desktop.ai.models.registry import ModelRegistry
    from tests.support.tiny_models import build_sd
    from tests.support.tiny_upscaler import compact_standin

    reg = ModelRegistry(data / "models", allow_pickle=False)
    reg.add_folder(build_sd(data / "tiny" / "sd512", unet_channels=(32, 64), sample_size=64),
                   name="Tiny SD 512 (stand-in)")
    compact_standin(data / "models" / "upscalers" / f"{STANDIN}.safetensors")
    compact_standin(data / "models" / "upscalers" / f"{STANDIN2}.safetensors", scale=2)


def wait_upscale(w: UpscaleWalk, t: float) -> dict:
    while time.time() - t < 300:
        s = w.state()
        if not s.get("up_running") and s.get("up_close_text") == "Close" and \
                s.get("up_message") not in ("", "Upscaling…"):
            return s
        time.sleep(0.3)
    raise SystemExit("the upscale did not end in 5 minutes")


def walk(size: str, scale: float, out: Path, upto: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    picture = str(out / "landscape.ora")
    subprocess.run([PY, str(HERE / "walk_tools.py"), "paint", picture],
                   env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
    display = os.environ.get("WALK_DISPLAY", ":9")
    with session(__file__, size, scale, out, picture, display, UpscaleWalk) as w:
        w.get("ai_tab", wait=90)
        time.sleep(2)
        orig = w.get("doc_size")
        cx, cy = w.get("canvas")  # type: ignore[misc]
        w.x("mousemove", str(cx), str(cy))
        w.x("key", "ctrl+alt+i")                 # Image › Upscale…
        w.get("up_scale", wait=15)
        time.sleep(0.8)
        w.choose("up_scale", "×4")
        print("methods:", w.state().get("up_method_items"), flush=True)
        w.choose("up_method", STANDIN)
        time.sleep(0.5)
        print("dialog:", repr(w.state().get("up_size_line")), flush=True)
        w.shot("06_model_dialog")
        t = time.time()
        w.click("up_run")
        s = wait_upscale(w, t)
        print(f"ended after {time.time() - t:.1f} s:", repr(s.get("up_message")),
              "picture:", s.get("doc_size"), flush=True)
        time.sleep(3.0)
        w.shot("07_model_upscaled")
        w.x("key", "Escape")
        time.sleep(0.8)
        cx, cy = w.get("canvas")  # type: ignore[misc]
        w.x("mousemove", str(cx), str(cy))
        w.x("key", "ctrl+1")                     # View › 100 %
        time.sleep(1.0)
        f = w.get("doc_size")[0] / orig[0]  # type: ignore[index]
        pan_to(w, (round(BIRDS[0] * f), round(BIRDS[1] * f)), scale)
        time.sleep(1.5)
        w.shot("08_model_join_100pct")
        if upto == "08":
            return

        # The refine runs on a ×2 enlargement (2800 × 1800: 28 tiles; ×4 makes 104, over half
        # an hour of this CPU with the stand-in): Ctrl+Z, then ×2 with the ×2 stand-in.
        w.x("key", "ctrl+z")
        time.sleep(1.5)
        w.x("key", "ctrl+alt+i")
        w.get("up_scale", wait=15)
        time.sleep(0.8)
        w.choose("up_scale", "×2")
        w.choose("up_method", STANDIN2)
        t = time.time()
        w.click("up_run")
        s = wait_upscale(w, t)
        print("x2:", repr(s.get("up_message")), s.get("doc_size"), flush=True)
        w.x("key", "Escape")
        time.sleep(0.8)
        w.click("ai_tab")
        time.sleep(0.5)
        w.choose("ai_op", "Refine", scroll="ai_scroll")
        w.choose("ai_area", "Whole picture, in tiles", scroll="ai_scroll")
        w.choose("ai_model", "Tiny SD 512 (stand-in)", scroll="ai_scroll")
        w.click("ai_prompt", scroll="ai_scroll")
        w.x("type", "--delay", "20", "a calm evening landscape, birds")
        w.click("ai_strength_spin", scroll="ai_scroll")   # a low strength: 25 %
        w.x("key", "ctrl+a")
        w.x("type", "25")
        w.x("key", "Tab")
        time.sleep(0.8)
        s = w.state()
        print("tiles hint:", repr(s.get("ai_tiles_hint")), "strength", s.get("ai_strength"),
              flush=True)
        w.shot("09_refine_ready")
        t = time.time()
        w.x("key", "ctrl+Return")
        w.until(lambda s: s.get("ai_running"), "the refine to start", 20)
        w.until(lambda s: not s.get("ai_running") and s.get("variations", 0) > 0,
                "the refine", 900)
        print(f"refined in {time.time() - t:.1f} s:", repr(w.state().get("ai_status")),
              flush=True)
        time.sleep(1.5)
        w.shot("10_refined")
        n = len(w.state().get("layers", []))
        w.x("key", "Return")                     # applies the shown variation
        w.until(lambda s: len(s.get("layers", [])) > n, "the applied refine", 30)
        time.sleep(1.0)
        cx, cy = w.get("canvas")  # type: ignore[misc]
        w.x("mousemove", str(cx), str(cy))
        w.x("key", "ctrl+1")                     # View › 100 %
        time.sleep(1.0)
        pan_to(w, (480, 1300), scale)            # a refine tile join (x 448–512), on the hills
        time.sleep(2.0)
        print("layers:", w.state().get("layers"), flush=True)
        w.shot("11_refined_join_100pct")


if __name__ == "__main__":
    entry(app_main, prep, walk, "/tmp/walk15m")

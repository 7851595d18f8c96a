"""`aiart-desktop upscale IN OUT [--scale 2|4|F | --width W] [--model lanczos|ID|FILE]`:
Image › Upscale from the command line, through the same request, engine and apply as the
window (ai/upscale.py). IN is any picture the app reads (.ora keeps its layers: each is
scaled); OUT's extension picks the format (.ora keeps the layers, a flat format gets the
flattened picture). Errors are one line on stderr, exit status 2; no traceback.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

PROG = "aiart-desktop upscale"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Make a picture bigger.")
    p.add_argument("input", metavar="IN", help="picture to read (.ora, .png, .jpg, .webp, .tif)")
    p.add_argument("output", metavar="OUT", help="file to write; its extension picks the format")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--scale", type=float, default=2.0, metavar="F",
                      help="how many times bigger (default 2)")
    size.add_argument("--width", type=int, default=None, metavar="W",
                      help="the new width in pixels (the height follows)")
    p.add_argument("--model", default="lanczos",
                   help="'lanczos' (default, no model), or an upscaler's id or file "
                        "(.safetensors; .pth with --allow-pickle)")
    p.add_argument("--tile", type=int, default=512, metavar="PX",
                   help="model tiles, in input pixels (default 512)")
    p.add_argument("--device", choices=("auto", "cuda", "mps", "cpu"), default=None)
    p.add_argument("--models-dir", default=None, help="models folder (default: the app's)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="allow a .pth upscaler (pickle files can run code when loaded)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return p


def upscale(argv: list[str]) -> int:
    parser = _parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from ..core.io import load_document, save_document
    from . import upscale as up
    from .cli_run import guarded
    from .setup import default_engine, user_models

    def progress(p: Any) -> None:
        if not ns.quiet:
            print(f"\r{p.phase}: {p.step}/{p.total}", end="", file=sys.stderr, flush=True)

    def work() -> None:
        doc = load_document(ns.input)
        scale = ns.scale if ns.width is None else ns.width / doc.width
        req = up.upscale_request(doc, scale, ns.model, up.PICTURE, tile=ns.tile,
                                 overlap=min(32, ns.tile // 4))
        models = user_models(ns.models_dir, allow_pickle=True if ns.allow_pickle else None)
        result = default_engine(models, device=ns.device).run(req, progress)
        up.apply_upscale(doc, result)
        if not ns.quiet:
            print(file=sys.stderr)
        save_document(doc, ns.output)
        if not ns.quiet:
            print(f"wrote {ns.output} ({doc.width}x{doc.height}, {result.model_name})",
                  file=sys.stderr)

    return guarded(PROG, ns.quiet, ns.output, work)

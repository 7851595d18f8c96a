"""`aiart-desktop run OP ...`: one AI job from the command line, with the app's own engine.

    aiart-desktop run inpaint --image in.png --mask mask.png --prompt "a boat" \\
        --model sd-turbo --steps 4 --seed 7 -o out.png
    aiart-desktop run txt2img --width 512 --height 512 --prompt "a lighthouse" -o out.png
    aiart-desktop run outpaint --image in.png --direction right --pixels 256 -o wider.png
    aiart-desktop run inpaint --image in.png --mask mask.png --model classical -o clean.png
    aiart-desktop run txt2img --prompt "a fox" --lora watercolor:0.7 --lora ink -o fox.png
    aiart-desktop run txt2img --width 512 --height 512 --control lineart=sketch.png:0.8 \\
        --prompt "a castle" -o castle.png

The result is applied exactly as in the app (a new layer through the feathered selection) and
the flattened picture is written as PNG with the generation settings in its `parameters` text.
With --batch N, variation i > 0 goes to OUT-i.png. Progress goes to stderr; errors are one line
on stderr with exit status 2 (130 when interrupted).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from .conditioning import CONTROL_KINDS
from .requests import AUTO, DIRECTIONS, OPS, SCHEDULERS

PROG = "aiart-desktop run"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Run one AI job on an image.")
    p.add_argument("op", choices=OPS, help="what to do")
    p.add_argument("--image", metavar="IN", help="input picture (.png, .jpg, .webp, .tif, .ora)")
    p.add_argument("--mask", metavar="MASK", help="selection mask (white = selected), same size")
    p.add_argument("--prompt", default="", help="what to paint")
    p.add_argument("--negative", default="", metavar="TEXT", help="negative prompt")
    p.add_argument("--model", default=AUTO,
                   help="model id, diffusers folder, .safetensors file, 'auto' or 'classical'")
    p.add_argument("--seed", type=int, default=None, metavar="N")
    p.add_argument("--steps", type=int, default=None, metavar="N")
    p.add_argument("--strength", type=float, default=None, metavar="F")
    p.add_argument("--guidance", type=float, default=None, metavar="F")
    p.add_argument("--scheduler", choices=tuple(SCHEDULERS), default=None)
    p.add_argument("--batch", type=int, default=1, metavar="N", help="number of variations")
    p.add_argument("--width", type=int, default=512, help="txt2img canvas width (no --image)")
    p.add_argument("--height", type=int, default=512, help="txt2img canvas height (no --image)")
    p.add_argument("--direction", choices=DIRECTIONS, default="right", help="outpaint side")
    p.add_argument("--pixels", type=int, default=256, help="outpaint: pixels to add")
    p.add_argument("--fill-method", default="auto",
                   choices=("auto", "patchmatch", "telea", "ns"), help="classical fill method")
    p.add_argument("--device", choices=("auto", "cuda", "mps", "cpu"), default=None)
    p.add_argument("--models-dir", default=None, help="models folder (default: the app's)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="allow .ckpt/.bin pickle checkpoints (they can run code)")
    p.add_argument("--control", action="append", default=[], metavar="TYPE=IMAGE[:STRENGTH]",
                   help="a control picture the size of the image (repeatable); TYPE one of "
                        f"{', '.join(CONTROL_KINDS)}")
    p.add_argument("--lora", action="append", default=[], metavar="NAME[:WEIGHT]",
                   help="a LoRA of the models folder's loras/ with its weight (default 1; "
                        "repeatable); <lora:NAME:WEIGHT> in the prompt works too")
    p.add_argument("--server", action="append", default=[], metavar="URL",
                   help="run on this ComfyUI server (repeatable; a bearer token, if it needs "
                        "one, from the AIART_COMFY_TOKEN environment variable); --model is "
                        "then one of its checkpoints (default: its first)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="PNG file to write")
    return p


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _document(ns: argparse.Namespace) -> Any:
    from ..core.document import Document
    from ..core.io import load_document, load_image

    if ns.image:
        doc = load_document(ns.image)
    elif ns.op == "txt2img":
        doc = Document.new(ns.width, ns.height, None)
    else:
        raise ValueError(f"{ns.op} needs --image")
    if ns.mask:
        if ns.op == "outpaint":
            raise ValueError("outpaint takes no --mask (use --direction and --pixels)")
        m = load_image(ns.mask)
        if m.shape[:2] != (doc.height, doc.width):
            raise ValueError(f"the mask {ns.mask!r} is {m.shape[1]}x{m.shape[0]}, the image "
                             f"is {doc.width}x{doc.height}")
        lum = m[..., :3].max(axis=2) if m[..., 3].min() == 255 else m[..., 3]
        doc.set_selection(lum)
    elif ns.op == "inpaint":
        raise ValueError("inpaint needs --mask (white where to paint)")
    return doc


def parse_control(text: str) -> tuple[str, str, float]:
    """`TYPE=IMAGE[:STRENGTH]` -> (type, picture file, strength); a ValueError says why not."""
    kind, sep, rest = text.partition("=")
    kind = kind.strip().lower()
    if not sep or not rest or kind not in CONTROL_KINDS:
        raise ValueError(f"--control {text!r}: write TYPE=IMAGE[:STRENGTH] with TYPE one of "
                         f"{', '.join(CONTROL_KINDS)}")
    path, strength = rest, 1.0
    head, colon, tail = rest.rpartition(":")
    if colon and head:
        try:
            strength = float(tail)
            path = head
        except ValueError:
            pass  # a colon of the path itself (C:\\...)
    return kind, path, strength


def _controls(doc: Any, specs: list[str]) -> list[Any]:
    """Each --control picture as a hidden layer of `doc` (so it is cropped and scaled with the
    region exactly as in the app), and the control layers naming them."""
    from ..core.io import load_image
    from .controls import ControlLayer

    out = []
    active = doc.active
    for text in specs:
        kind, path, strength = parse_control(text)
        pixels = load_image(path)
        if pixels.shape[:2] != (doc.height, doc.width):
            raise ValueError(f"the control picture {path!r} is {pixels.shape[1]}x"
                             f"{pixels.shape[0]}, the image is {doc.width}x{doc.height}")
        layer = doc.add_layer(f"{kind} control: {os.path.basename(path)}")
        doc.put_pixels(layer, 0, 0, pixels)
        doc.set_visible(layer, False)
        out.append(ControlLayer(layer.uid, kind, strength=strength))
    doc.set_active(active)
    return out


def parse_lora(text: str) -> Any:
    """`NAME[:WEIGHT]` -> LoraRef; a ValueError says why not."""
    from .conditioning import LoraRef

    name, colon, tail = text.strip().rpartition(":")
    weight = 1.0
    if colon:
        try:
            weight = float(tail)
        except ValueError:
            name = text.strip()  # a colon of the name itself
    else:
        name = tail
    if not name:
        raise ValueError(f"--lora {text!r}: write NAME or NAME:WEIGHT")
    return LoraRef(name, weight)


def run(argv: list[str]) -> int:
    parser = _parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if os.path.splitext(ns.output)[1].lower() != ".png":
        return _fail(f"cannot write {ns.output!r}: the output must be a .png file")
    from ..core.io import save_document
    from .apply import apply_result
    from .capture import make_request
    from .setup import default_engine, remote_model, user_models, with_servers

    params: dict[str, Any] = {"prompt": ns.prompt, "negative_prompt": ns.negative,
                              "model": ns.model, "seed": ns.seed, "batch_size": ns.batch}
    for key, value in (("steps", ns.steps), ("strength", ns.strength),
                       ("guidance", ns.guidance), ("scheduler", ns.scheduler)):
        if value is not None:
            params[key] = value
    if ns.op == "outpaint":
        params.update(direction=ns.direction, pixels=ns.pixels)
    if ns.op == "inpaint":
        params["fill_method"] = ns.fill_method

    def progress(p: Any) -> None:
        if not ns.quiet:
            print(f"\r{p.phase}: {p.step}/{p.total}", end="", file=sys.stderr, flush=True)

    def work() -> None:
        doc = _document(ns)
        if ns.control:
            params["controls"] = _controls(doc, ns.control)
        if ns.lora:
            params["loras"] = tuple(parse_lora(t) for t in ns.lora)
        models: Any = user_models(ns.models_dir,
                                  allow_pickle=True if ns.allow_pickle else None)
        if ns.server:
            models = with_servers(models, ns.server, os.environ.get("AIART_COMFY_TOKEN"))
            params["model"] = remote_model(models, ns.model)
        req = make_request(doc, ns.op, **params)
        result = default_engine(models, device=ns.device).run(req, progress)
        if not ns.quiet:
            print(file=sys.stderr)
        stem = os.path.splitext(ns.output)[0]
        for i in range(len(result.images)):
            out = ns.output if i == 0 else f"{stem}-{i}.png"
            if i:
                doc.history.undo()
            apply_result(doc, result, i)
            save_document(doc, out, parameters=result.parameters(i))
            if not ns.quiet:
                print(f"wrote {out} (seed {result.seeds[i]})", file=sys.stderr)

    return guarded(PROG, ns.quiet, ns.output, work)


def guarded(prog: str, quiet: bool, output: str, work: Callable[[], None]) -> int:
    """Run a command's `work`: its exit status, and any error as one line on stderr (the
    command line's promise: no traceback). 130 when interrupted or cancelled."""
    from ..core.io import FileFormatError
    from .errors import AiError, Cancelled

    try:
        work()
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return 130
    except Cancelled:
        return 130
    except (AiError, FileFormatError, ValueError) as exc:
        if not quiet:
            print(file=sys.stderr)
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: cannot write {os.path.basename(output)!r}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0

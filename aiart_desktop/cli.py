"""Command line: `aiart-desktop export IN OUT [--quality N] [--parameters auto|none]`, for
scripting (like Krita's --export). Converts between every format we read and write: .ora ->
flattened .png/.jpg/.webp/.tif, an image -> .ora, .ora -> .ora re-saved by us. A PNG gets the
`parameters` text chunk of the topmost visible AI layer (see `core.provenance`).

Errors go to stderr as one line and the exit status is 2; there is never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aiart-desktop export",
        description="Convert a picture between OpenRaster (.ora) and flat image formats.",
    )
    p.add_argument("input", metavar="IN", help="file to read (.ora, .png, .jpg, .webp, .tif)")
    p.add_argument("output", metavar="OUT", help="file to write; its extension picks the format")
    p.add_argument("--quality", type=int, default=None, metavar="N",
                   help="JPEG / lossy WebP quality, 1-100 (JPEG default 92, WebP lossless)")
    p.add_argument("--parameters", choices=("auto", "none"), default="auto",
                   help="PNG `parameters` text chunk: 'auto' (default) writes the request of the "
                        "topmost visible AI layer (or the one the input carried), 'none' omits it")
    return p


def export(argv: list[str]) -> int:
    parser = _parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage or help
        return int(exc.code or 0)
    if ns.quality is not None and not 1 <= ns.quality <= 100:
        print("aiart-desktop export: error: --quality must be between 1 and 100",
              file=sys.stderr)
        return 2
    from .core.io import WRITE_EXTENSIONS, FileFormatError, load_document, save_document

    ext = os.path.splitext(ns.output)[1].lower()
    if ext not in WRITE_EXTENSIONS:
        print(f"aiart-desktop export: error: cannot write {ns.output!r}: unknown file type "
              f"{ext or '(none)'!r} (use one of {', '.join(WRITE_EXTENSIONS)})", file=sys.stderr)
        return 2
    try:
        doc = load_document(ns.input)
        opts: dict[str, object] = {"quality": ns.quality}
        if ext == ".png" and ns.parameters == "auto":
            from .ai.export_parameters import document_parameters

            opts["parameters"] = document_parameters(doc) or doc.metadata.get("parameters")
        save_document(doc, ns.output, **opts)
    except FileFormatError as exc:
        print(f"aiart-desktop export: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"aiart-desktop export: error: cannot write {ns.output!r}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 2
    except (ValueError, MemoryError) as exc:
        print(f"aiart-desktop export: error: {exc or type(exc).__name__}", file=sys.stderr)
        return 2
    return 0


def main(args: list[str] | None = None) -> int:
    """Entry for `aiart-desktop <command> ...`; `args[0]` is the command name."""
    argv = list(sys.argv[1:] if args is None else args)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: aiart-desktop export IN OUT [--quality N] [--parameters auto|none]\n"
              "       aiart-desktop run inpaint|img2img|txt2img|outpaint ... -o OUT.png")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "export":
        return export(rest)
    if command == "run":
        from .ai.cli_run import run

        return run(rest)
    print(f"aiart-desktop: error: unknown command {command!r} (try: export, run)",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

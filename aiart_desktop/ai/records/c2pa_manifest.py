"""C2PA manifests on exported PNGs: a signed statement of which parts a model made.

    outcome = export_png_with_c2pa(doc, "out.png", parameters=text, settings=settings)
    print(outcome.message)        # signed by whom, or why the manifest was skipped

The manifest (built with c2pa-python) holds a `c2pa.actions` assertion: `c2pa.created` with the
IPTC digital source type of the whole picture (`trainedAlgorithmicMedia` when the visible
pixels all came from a model, `compositeWithTrainedAlgorithmicMedia` when only part did,
`digitalCreation` when none did), then one `c2pa.edited` per visible AI layer
(`trainedAlgorithmicMedia`, the model as software agent, its operation, seed and share), and an
`org.aiart-desktop.provenance` assertion with the AI fraction (`core.provenance.ai_fraction`)
and each AI layer's model, model hash when known, operation, prompt and seed.

Signing needs the user's own certificate chain and private key (PEM files, set in the settings
as `c2pa_cert` / `c2pa_key`): ES256/384/512 (EC), PS256 (RSA) or Ed25519, chosen from the
key. With none set the PNG is written without a manifest and the outcome says so. A
certificate or key that cannot be used raises `C2paError` (a ValueError) naming the file and
the problem, before anything is written: an existing file at the path is left as it was.
"""
from __future__ import annotations

import datetime
import io
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ... import __version__
from ...core.provenance import ai_fraction

if TYPE_CHECKING:
    from ...core.document import Document

APP = "AIArt Desktop"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC + "trainedAlgorithmicMedia"
COMPOSITE = IPTC + "compositeWithTrainedAlgorithmicMedia"
DIGITAL_CREATION = IPTC + "digitalCreation"
PROVENANCE_LABEL = "org.aiart-desktop.provenance"
ALL_AI = 0.995        # at least this AI fraction counts as wholly generated
MAX_PEM_BYTES = 1 << 20


class C2paError(ValueError):
    """The manifest cannot be made: a certificate or key problem, or c2pa refused to sign."""


@dataclass(frozen=True)
class Credentials:
    """A certificate chain (end-entity first) and its private key, as PEM, and the algorithm."""

    chain_pem: bytes
    key_pem: bytes
    alg: str          # "es256", "es384", "es512", "ps256", "ed25519"
    subject: str      # the signer's common name (or the whole subject)


@dataclass(frozen=True)
class ExportOutcome:
    signed: bool
    message: str      # one line for the status bar / stderr


# ---- credentials --------------------------------------------------------------------------------
def _read_pem(path: str | os.PathLike[str], what: str) -> bytes:
    p = os.fspath(path)
    try:
        size = os.path.getsize(p)
        if size > MAX_PEM_BYTES:
            raise C2paError(f"the C2PA {what} {p!r} is {size} bytes: not a PEM file")
        with open(p, "rb") as f:
            return f.read()
    except OSError as exc:
        raise C2paError(f"cannot read the C2PA {what} {p!r}: {exc.strerror or exc}") from exc


def load_credentials(cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]
                     ) -> Credentials:
    """Read and check a PEM certificate chain and its private key (unencrypted PKCS#8 or
    traditional PEM). Raises C2paError saying what is wrong."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    chain = _read_pem(cert_path, "certificate")
    key_pem = _read_pem(key_path, "private key")
    cp, kp = os.fspath(cert_path), os.fspath(key_path)
    try:
        certs = x509.load_pem_x509_certificates(chain)
    except ValueError as exc:
        raise C2paError(f"the C2PA certificate {cp!r} is not a PEM certificate chain "
                        f"({exc})") from exc
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError as exc:
        raise C2paError(f"the C2PA private key {kp!r} is protected by a password; export "
                        "it without one") from exc
    except Exception as exc:  # ValueError, and key types it cannot load
        raise C2paError(f"the C2PA private key {kp!r} is not a PEM private key "
                        f"({type(exc).__name__}: {exc})") from exc
    leaf = certs[0]
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, pub) != leaf.public_key().public_bytes(der, pub):
        raise C2paError(f"the C2PA private key {kp!r} does not belong to the first "
                        f"certificate in {cp!r}")
    now = datetime.datetime.now(datetime.UTC)
    if leaf.not_valid_after_utc < now:
        raise C2paError(f"the C2PA certificate {cp!r} expired on "
                        f"{leaf.not_valid_after_utc:%Y-%m-%d}")
    if leaf.not_valid_before_utc > now:
        raise C2paError(f"the C2PA certificate {cp!r} is not valid before "
                        f"{leaf.not_valid_before_utc:%Y-%m-%d}")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {256: "es256", 384: "es384", 521: "es512"}.get(key.curve.key_size)
    elif isinstance(key, rsa.RSAPrivateKey):
        alg = "ps256"
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        alg = "ed25519"
    else:
        alg = None
    if alg is None:
        raise C2paError(f"the C2PA private key {kp!r} is of a kind C2PA cannot sign with "
                        "(use EC P-256/384/521, RSA or Ed25519)")
    names = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    subject = str(names[0].value) if names else leaf.subject.rfc4514_string()
    return Credentials(chain, key_pem, alg, subject)


def credentials_from_settings(settings: Any) -> Credentials | None:
    """The credentials the settings name; None when none are set or signing is off."""
    cert = str(getattr(settings, "c2pa_cert", "") or "").strip()
    key = str(getattr(settings, "c2pa_key", "") or "").strip()
    if not getattr(settings, "c2pa_sign", True) or (not cert and not key):
        return None
    if not cert or not key:
        missing = "certificate" if not cert else "private key"
        raise C2paError(f"C2PA signing needs a certificate and a private key; the {missing} "
                        "is not set")
    return load_credentials(os.path.expanduser(cert), os.path.expanduser(key))


# ---- the manifest -------------------------------------------------------------------------------
def _layer_info(share: Any) -> dict[str, Any]:
    rec = share.layer.provenance or {}
    info = {"layer": share.layer.name, "op": rec.get("op"),
            "model": rec.get("model_name") or rec.get("model"),
            "model_hash": rec.get("model_hash") or rec.get("style_sha256"),
            "prompt": rec.get("prompt") or None, "seed": rec.get("seed"),
            "time": rec.get("time"), "share": round(share.share, 6)}
    return {k: v for k, v in info.items() if v is not None}


def manifest_for(doc: Document, title: str = "picture.png") -> dict[str, Any]:
    """The manifest definition (c2pa-python's JSON) for exporting `doc` as a PNG."""
    report = ai_fraction(doc)
    layers = [s for s in report.layers if s.visible and s.pixels > 0]
    fraction = report.fraction
    agent = {"name": APP, "version": __version__}
    if not layers:
        dst = DIGITAL_CREATION
    else:
        dst = TRAINED if fraction >= ALL_AI else COMPOSITE
    actions: list[dict[str, Any]] = [{
        "action": "c2pa.created", "digitalSourceType": dst, "softwareAgent": agent,
        "parameters": {"ai_fraction": round(fraction, 6)}}]
    infos = [_layer_info(s) for s in layers]
    for info in infos:
        what = info.get("op", "AI")
        actions.append({
            "action": "c2pa.edited", "digitalSourceType": TRAINED,
            "softwareAgent": {"name": str(info.get("model", "unknown model"))},
            "description": f"{what} by a model, layer {info['layer']!r}",
            "parameters": {k: v for k, v in info.items() if k in ("layer", "op", "seed",
                                                                 "share", "model_hash")}})
    return {
        "claim_generator_info": [agent],
        "title": title,
        "format": "image/png",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": PROVENANCE_LABEL,
             "data": {"ai_fraction": round(fraction, 6), "ai_layers": infos,
                      "summary": report.summary(), "generator": f"{APP} {__version__}"}},
        ],
    }


def sign_png(data: bytes, manifest: dict[str, Any], credentials: Credentials) -> bytes:
    """`data` (a PNG) with `manifest` embedded and signed. Raises C2paError."""
    import c2pa

    try:
        info = c2pa.C2paSignerInfo(credentials.alg.encode(), credentials.chain_pem,
                                   credentials.key_pem, None)
        with c2pa.Signer.from_info(info) as signer, \
                c2pa.Builder(json.dumps(manifest, ensure_ascii=False)) as builder:
            out = io.BytesIO()
            builder.sign(signer, "image/png", io.BytesIO(data), out)
    except c2pa.C2paError as exc:
        raise C2paError(f"C2PA signing failed: {exc}") from exc
    return out.getvalue()


def read_manifest(data: bytes, trust_anchors: bytes | None = None) -> dict[str, Any] | None:
    """The active manifest of PNG bytes with its validation state under "validation_state"
    ("Valid", or "Trusted" when `trust_anchors` (PEM) vouch for the signer), or None when
    the PNG carries no manifest."""
    import c2pa

    ctx = None
    if trust_anchors is not None:
        ctx = c2pa.Context.from_dict({"trust": {"trust_anchors": trust_anchors.decode()},
                                      "verify": {"verify_trust": True}})
    reader = c2pa.Reader.try_create("image/png", io.BytesIO(data), context=ctx)
    if reader is None:
        return None
    with reader:
        manifest = reader.get_active_manifest() or {}
        manifest["validation_state"] = reader.get_validation_state()
        manifest["validation_results"] = reader.get_validation_results()
    return manifest


# ---- export -------------------------------------------------------------------------------------
def export_png_with_c2pa(doc: Document, path: str | os.PathLike[str], *,
                      parameters: str | None = None, settings: Any = None,
                      credentials: Credentials | None = None) -> ExportOutcome:
    """Write `doc` flattened as PNG (with the `parameters` text chunk) and, when credentials
    are given or the settings name them, a signed C2PA manifest. Atomic: on any error
    (C2paError, OSError) nothing is written."""
    from ...core.io.atomic import atomic_write
    from ...core.io.images import encode_png

    creds = credentials if credentials is not None else (
        credentials_from_settings(settings) if settings is not None else None)
    data = encode_png(doc, parameters)
    if creds is None:
        why = ("C2PA signing is off in the settings"
               if settings is not None and not getattr(settings, "c2pa_sign", True)
               else "no signing certificate is set")
        message = f"C2PA manifest skipped: {why}"
    else:
        manifest = manifest_for(doc, os.path.basename(os.fspath(path)) or "picture.png")
        data = sign_png(data, manifest, creds)
        frac = manifest["assertions"][1]["data"]["ai_fraction"]
        message = (f"C2PA manifest signed by {creds.subject} "
                   f"({frac * 100:.1f} % of the visible pixels from a model)")
    with atomic_write(path) as f:
        f.write(data)
    return ExportOutcome(creds is not None, message)

"""The PNG `parameters` text (AUTOMATIC1111 format): `parameters_text(record)` writes one
provenance record the way AUTOMATIC1111 does (and what this program adds: variation seeds, the
interpolation's other prompt, presets, references, IP-Adapters; control layers as
sd-webui-controlnet writes them: `ControlNet 0: "Module: ..., Model: ..., Weight: ..."`). For
exporting a document that holds AI layers it describes ONE job, the AI layer with the largest
visible share of the picture (`core.provenance.main_layer`), so that readers of `parameters` see
a coherent request. The full list of AI layers goes in the PNG's own `aiart:layers` chunk
(`core.provenance.layers_json`, written with `parameters` by `core.io.images.encode_png`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.provenance import ai_fraction, main_layer
from ..latents import INTERPOLATE, MORE_LIKE_THIS
from ..requests import SCHEDULERS, STYLE

if TYPE_CHECKING:
    from ...core.document import Document


def record_parameters(record: dict[str, Any], size: tuple[int, int]) -> str:
    """AUTOMATIC1111-style text of one provenance record (style records included)."""
    rec = dict(record)
    if rec.get("op") == "style" and not rec.get("prompt"):
        rec["prompt"] = f"style transfer: {rec.get('style', '?')}"
    box = rec.get("size") or (rec.get("rect") or rec.get("bounds") or [0, 0, *size])[2:4]
    return parameters_text(rec, (int(box[0]), int(box[1])))


def document_parameters(doc: Document) -> str | None:
    """The `parameters` text for exporting `doc`: the record of its visible AI layer with the
    largest share of the visible picture (the topmost of equal ones). None when no visible
    layer came from a model."""
    main = main_layer(ai_fraction(doc))
    if main is None:
        return None
    return record_parameters(main.layer.provenance or {}, (doc.width, doc.height))


def parameters_text(record: dict[str, Any], size: tuple[int, int] | None = None) -> str:
    """AUTOMATIC1111-style `parameters` text of a record."""
    w, h = size or tuple(record.get("size") or record["rect"][2:4])
    prompt, negative = str(record.get("prompt", "")), str(record.get("negative_prompt") or "")
    if record.get("style_preset"):  # the text the model read: the preset's phrases added
        from ..styles.presets import compose

        prompt, negative = compose(prompt, negative, str(record["style_preset"]))
    lines = [_with_lora_tags(prompt, record.get("loras"))]
    if negative:
        lines.append(f"Negative prompt: {negative}")
    if record.get("backend") == "classical":
        items = [("Seed", record.get("seed")), ("Size", f"{w}x{h}"), ("Model", "classical"),
                 ("Fill method", record.get("fill_method")), ("Operation", record.get("op"))]
        lines.append(", ".join(f"{k}: {_clean(v)}" for k, v in items if v is not None))
        return "\n".join(lines)
    if record.get("backend") == "lama":  # the LaMa fill (backends/lama.py): no seed, no steps
        items = [("Size", f"{w}x{h}"), ("Model", record.get("model_name") or "LaMa"),
                 ("Model file", record.get("model_file")), ("Operation", record.get("op"))]
        lines.append(", ".join(f"{k}: {_clean(v)}" for k, v in items if v is not None))
        return "\n".join(lines)
    if record.get("op") == STYLE:
        items = [("Style", record.get("style")), ("Size", f"{w}x{h}"),
                 ("Model", record.get("model_name") or record.get("model")),
                 ("Style strength", _num(record.get("strength"))),
                 ("Style scale", _num(record.get("style_scale"))),
                 ("Preserve colors", record.get("preserve_colors")), ("Operation", STYLE)]
        lines.append(", ".join(f"{k}: {_clean(v)}" for k, v in items if v is not None))
        return "\n".join(lines)
    items = [
        ("Steps", record.get("steps")),
        ("Sampler", SCHEDULERS.get(record.get("scheduler", ""), record.get("scheduler"))),
        ("CFG scale", _num(record.get("guidance"))),
        ("Seed", record.get("seed")),
        ("Size", f"{w}x{h}"),
        ("Model hash", str(record["model_hash"])[:10] if record.get("model_hash") else None),
        ("Model", record.get("model_name") or record.get("model")),
    ]
    if record.get("decoder") == "taesd":  # a live frame decoded by TAESD, not the model's VAE
        items.append(("VAE", "TAESD"))
    if record.get("op") in ("img2img", "inpaint", "outpaint"):
        items.append(("Denoising strength", _num(record.get("strength"))))
    items.append(("Operation", record.get("op")))
    if record.get("op") == "outpaint":
        items.append(("Outpaint", f"{record.get('direction')} {record.get('pixels')}"))
    items += _mix_items(record)
    text = ", ".join(f"{k}: {_clean(v)}" for k, v in items if v is not None)
    lines.append(", ".join([text, *_hash_items(record), *_control_items(record)]))
    return "\n".join(lines)


# sd-webui-controlnet's preprocessor ("Module") names for our control kinds.
_MODULES = {"pose": "openpose", "depth": "depth_anything_v2", "scribble": "scribble",
            "lineart": "lineart", "softedge": "softedge", "canny": "canny", "tile": "tile"}


def _control_items(record: dict[str, Any]) -> list[str]:
    """`ControlNet 0: "Module: lineart, Model: name [hash], Weight: 0.8, Guidance Start: 0,
    Guidance End: 1"` for each control, as sd-webui-controlnet writes them."""
    out = []
    controls = record.get("controls")
    for i, c in enumerate(controls if isinstance(controls, list) else []):
        if not isinstance(c, dict):
            continue
        model = str(c.get("model_name") or c.get("model") or "None")
        if c.get("model_sha256"):
            model += f" [{str(c['model_sha256'])[:8]}]"
        kind = str(c.get("type", ""))
        parts = [("Module", _MODULES.get(kind, kind)), ("Model", model),
                 ("Weight", _num(c.get("strength", 1.0))),
                 ("Guidance Start", _num(c.get("start", 0.0))),
                 ("Guidance End", _num(c.get("end", 1.0)))]
        body = ", ".join(f"{k}: {str(v).replace(chr(34), chr(39))}" for k, v in parts)
        out.append(f'ControlNet {i}: "{body}"')
    return out


def _with_lora_tags(prompt: str, loras: Any) -> str:
    """The prompt with a `<lora:name:weight>` tag for each of the request's LoRAs it does not
    tag itself: A1111 reads a picture's LoRAs from its prompt."""
    from ..prompt_syntax import split_loras

    tagged = {lo.name for lo in split_loras(prompt)[1]}
    tags = [f"<lora:{d['name']}:{_num(float(d.get('weight', 1.0)))}>"
            for d in (loras if isinstance(loras, list) else [])
            if isinstance(d, dict) and d.get("name") and d["name"] not in tagged]
    return " ".join([prompt, *tags]) if prompt and tags else prompt or " ".join(tags)


def _hash_items(record: dict[str, Any]) -> list[str]:
    """A1111's `Lora hashes: "name: 1a2b3c4d5e6f, ..."` and `TI hashes` (embeddings): each
    file's short hash (12 hex digits), the names without ':' and ','."""
    import json

    out = []
    for key, label in (("lora_hashes", "Lora hashes"), ("embeddings", "TI hashes")):
        found = record.get(key)
        if isinstance(found, dict) and found:
            body = ", ".join(f"{str(n).replace(':', '').replace(',', '')}: {str(h)[:12]}"
                             for n, h in found.items() if h)
            if body:
                out.append(f"{label}: {json.dumps(body, ensure_ascii=False)}")
    return out


def _mix_items(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """A1111's "Variation seed" / "Variation seed strength" for a mixed result, and what this
    program adds: the interpolation's other prompt, the style preset, the reference style."""
    items: list[tuple[str, Any]] = []
    more, inter = record.get(MORE_LIKE_THIS), record.get(INTERPOLATE)
    if isinstance(more, dict):
        items += [("Variation seed", more.get("perturbation_seed")),
                  ("Variation seed strength", _num(more.get("amount")))]
    elif isinstance(inter, dict):
        to = inter.get("to") or {}
        items += [("Variation seed", to.get("seed")),
                  ("Variation seed strength", _num(inter.get("t")))]
        if to.get("prompt") != record.get("prompt"):
            items.append(("Interpolated to prompt", to.get("prompt")))
    if record.get("style_preset"):
        items.append(("Style preset", record["style_preset"]))
    if record.get("style_reference"):
        items.append(("Style reference", record["style_reference"]))
    if record.get("ip_adapter_scale"):
        items += [("IP-Adapter", record.get("ip_adapter") or "auto"),
                  ("IP-Adapter scale", _num(record.get("ip_adapter_scale"))),
                  ("IP-Adapter reference", _reference_name(record.get("ip_adapter_reference")))]
        if record.get("ip_adapter_reference_sha256"):
            items.append(("IP-Adapter reference hash",
                          str(record["ip_adapter_reference_sha256"])[:10]))
    return items


def _reference_name(ref: Any) -> str:
    """A reference picture's file name (its folder stays private), or "image"."""
    from pathlib import PurePath

    text = str(ref or "image")
    return PurePath(text.replace("\\", "/")).name or text


def _num(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _clean(v: Any) -> str:
    return str(v).replace("\n", " ").replace(",", " ") if isinstance(v, str) else str(v)

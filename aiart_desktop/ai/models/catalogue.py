"""Recommended models the model manager offers to download, with size and licence.

Nothing here is fetched by itself: the user presses Download in the model manager (or calls
`ModelRegistry.download`). Sizes are those of the files we fetch (fp16 safetensors where the
repository has them; safety checkers and pickle duplicates are skipped), rounded.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CatalogueEntry:
    id: str                       # our id; also the folder name under the models folder
    repo_id: str                  # Hugging Face repository
    name: str
    arch: str                     # "sd", "sdxl", "taesd" or "ip-adapter" (an add-on)
    inpaint: bool
    size_mb: int                  # download size
    licence: str
    licence_url: str
    description: str
    allow_patterns: tuple[str, ...]
    defaults: dict[str, float | int | str] = field(default_factory=dict)  # steps, guidance...
    previews_for: str = ""        # TAESD: which architecture it previews
    # IP-Adapter (arch "ip-adapter"): the weights and the CLIP image encoder folder inside the
    # repository, and the cross-attention width of the base models it fits (768: SD 1.x,
    # 2048: SDXL). It is an add-on, never a base model.
    adapter_weights: str = ""
    adapter_encoder: str = ""
    adapter_cross_dim: int = 0
    works_with: str = ""
    # Control models (arch "controlnet"): the base architecture ("sd", "sdxl") and the control
    # kinds served; detectors (arch "detector"): the control kind they make pictures for.
    control_arch: str = ""
    control_kinds: tuple[str, ...] = ()
    detector_for: str = ""

    @property
    def kind(self) -> str:
        """"model", "preview" (TAESD), "ip-adapter", "controlnet", "detector" or
        "segmenter" (Select Object's Segment Anything models), "inpainter" (LaMa: Fill
        selection's object remover, one .onnx file), "matting" (Select Subject's background
        remover, one .onnx file) or "upscaler" (Image › Upscale…'s models, one file)."""
        return {"taesd": "preview", IP_ADAPTER: IP_ADAPTER, CONTROLNET: CONTROLNET,
                DETECTOR: DETECTOR, SEGMENTER: SEGMENTER,
                INPAINTER: INPAINTER, MATTING: MATTING,
                UPSCALER: UPSCALER}.get(self.arch, "model")


_FP16_DIFFUSERS = (
    "model_index.json", "scheduler/*", "tokenizer/*", "tokenizer_2/*",
    "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors",
    "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors",
    "text_encoder/config.json", "text_encoder/model.fp16.safetensors",
    "text_encoder_2/config.json", "text_encoder_2/model.fp16.safetensors",
)
_TAESD = ("config.json", "diffusion_pytorch_model.safetensors")
IP_ADAPTER = "ip-adapter"
CONTROLNET = "controlnet"
DETECTOR = "detector"
SEGMENTER = "segmenter"
INPAINTER = "inpainter"  # LaMa (backends/lama.py): one ONNX file, the first allow pattern
MATTING = "matting"  # background removal (backends/matte.py): one ONNX file, likewise
UPSCALER = "upscaler"  # Image › Upscale… (backends/local_upscale.py): one file, likewise
MIT = "MIT: use, modification and redistribution allowed, commercially too"
OPENRAIL = ("CreativeML OpenRAIL: use is allowed, including commercially, within the licence's "
            "use restrictions (no illegal or harmful uses); see the licence")
APACHE = "Apache-2.0: use, modification and redistribution allowed, commercially too"
_CONTROLNET_FILES = ("config.json", "diffusion_pytorch_model.fp16.safetensors")
_DETECTOR_FILES = ("config.json", "model.safetensors", "preprocessor_config.json")
IP_ADAPTER_LICENCE = "Apache-2.0: use, modification and redistribution allowed, commercially too"
IP_ADAPTER_URL = "https://huggingface.co/h94/IP-Adapter"

STABILITY_COMMUNITY = (
    "Stability AI Community License: free for research, non-commercial use, and commercial use "
    "by organisations or individuals with under US$1M annual revenue; read the model card "
    "before commercial use")

CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        id="sd-turbo", repo_id="stabilityai/sd-turbo", name="SD-Turbo", arch="sd",
        inpaint=False, size_mb=2600, licence=STABILITY_COMMUNITY,
        licence_url="https://huggingface.co/stabilityai/sd-turbo/blob/main/LICENSE.md",
        description="Stable Diffusion 2.1 distilled for 1–4 steps at 512². Fast on a CPU; "
                    "good for quick fills and ideas.",
        allow_patterns=_FP16_DIFFUSERS,
        defaults={"steps": 4, "guidance": 0.0, "scheduler": "euler_a"},
    ),
    CatalogueEntry(
        id="sdxl-turbo", repo_id="stabilityai/sdxl-turbo", name="SDXL-Turbo", arch="sdxl",
        inpaint=False, size_mb=6900, licence=STABILITY_COMMUNITY,
        licence_url="https://huggingface.co/stabilityai/sdxl-turbo/blob/main/LICENSE.md",
        description="SDXL distilled for 1–4 steps at 512²–1024². Better pictures than SD-Turbo; "
                    "needs about 8 GB of GPU memory (or patience on a CPU).",
        allow_patterns=_FP16_DIFFUSERS,
        defaults={"steps": 4, "guidance": 0.0, "scheduler": "euler_a"},
    ),
    CatalogueEntry(
        id="sd15-inpainting", repo_id="stable-diffusion-v1-5/stable-diffusion-inpainting",
        name="Stable Diffusion 1.5 Inpainting", arch="sd", inpaint=True, size_mb=2100,
        licence="CreativeML Open RAIL-M: use is allowed, including commercially, within the "
                "licence's use restrictions (no illegal or harmful uses); see the licence",
        licence_url="https://huggingface.co/spaces/CompVis/stable-diffusion-license",
        description="The 9-channel inpainting model: fills selections so they blend with their "
                    "surroundings. 512², 20–30 steps.",
        allow_patterns=_FP16_DIFFUSERS,
        defaults={"steps": 25, "guidance": 7.0, "scheduler": "dpmpp_2m"},
    ),
    CatalogueEntry(
        id="taesd", repo_id="madebyollin/taesd",
        name="TAESD (previews and live painting, SD 1.x/2.x)",
        arch="taesd", inpaint=False, size_mb=10, licence="MIT",
        licence_url="https://huggingface.co/madebyollin/taesd",
        description="Tiny autoencoder (MIT) that decodes each step's latents into a sharp "
                    "preview, and live painting's frames several times faster than the "
                    "model's VAE (Apply still uses the VAE). For SD 1.x/2.x and SD-Turbo. "
                    "Optional; without it previews are a blurry approximation.",
        allow_patterns=_TAESD, previews_for="sd",
    ),
    CatalogueEntry(
        id="taesdxl", repo_id="madebyollin/taesdxl",
        name="TAESDXL (previews and live painting, SDXL)",
        arch="taesd", inpaint=False, size_mb=10, licence="MIT",
        licence_url="https://huggingface.co/madebyollin/taesdxl",
        description="TAESD for SDXL and SDXL-Turbo: sharp previews and fast live painting "
                    "frames (Apply still uses the VAE).",
        allow_patterns=_TAESD, previews_for="sdxl",
    ),
    CatalogueEntry(
        id="ip-adapter-sd15", repo_id="h94/IP-Adapter", name="IP-Adapter SD 1.5",
        arch=IP_ADAPTER, inpaint=False, size_mb=2580, licence=IP_ADAPTER_LICENCE,
        licence_url=IP_ADAPTER_URL,
        description="Style and content from a reference picture, for SD 1.5 models (SD 1.5 "
                    "Inpainting and SD 1.5 models you add). An add-on: the IP-Adapter "
                    "strength appears in the AI panel. 45 MB of adapter plus its 2.5 GB CLIP "
                    "ViT-H image encoder.",
        allow_patterns=("models/ip-adapter_sd15.safetensors", "models/image_encoder/config.json",
                        "models/image_encoder/model.safetensors"),
        adapter_weights="models/ip-adapter_sd15.safetensors",
        adapter_encoder="models/image_encoder", adapter_cross_dim=768, works_with="SD 1.5",
    ),
    CatalogueEntry(
        id="ip-adapter-sdxl", repo_id="h94/IP-Adapter", name="IP-Adapter SDXL",
        arch=IP_ADAPTER, inpaint=False, size_mb=4390, licence=IP_ADAPTER_LICENCE,
        licence_url=IP_ADAPTER_URL,
        description="Style and content from a reference picture, for SDXL models "
                    "(SDXL-Turbo included). An add-on: the IP-Adapter strength appears in the "
                    "AI panel. 703 MB of adapter plus its 3.7 GB CLIP ViT-bigG image encoder.",
        allow_patterns=("sdxl_models/ip-adapter_sdxl.safetensors",
                        "sdxl_models/image_encoder/config.json",
                        "sdxl_models/image_encoder/model.safetensors"),
        adapter_weights="sdxl_models/ip-adapter_sdxl.safetensors",
        adapter_encoder="sdxl_models/image_encoder", adapter_cross_dim=2048, works_with="SDXL",
    ),
)




def _sd15_control(kind: str, repo: str, name: str, what: str) -> CatalogueEntry:
    return CatalogueEntry(
        id=f"controlnet-sd15-{kind}", repo_id=f"lllyasviel/{repo}", name=f"ControlNet {name} "
        "(SD 1.5)", arch=CONTROLNET, inpaint=False, size_mb=723, licence=OPENRAIL,
        licence_url=f"https://huggingface.co/lllyasviel/{repo}",
        description=f"ControlNet 1.1 for SD 1.5 models: {what}. An add-on: pick a layer as a "
                    "control in the AI panel.",
        allow_patterns=_CONTROLNET_FILES, control_arch="sd", control_kinds=(kind,),
        works_with="SD 1.5")


CATALOGUE += (
    _sd15_control("lineart", "control_v11p_sd15_lineart", "Line art",
                  "follows your line art (white lines on black, taken from your layer)"),
    _sd15_control("scribble", "control_v11p_sd15_scribble", "Scribble",
                  "follows rough scribbles and sketches"),
    _sd15_control("softedge", "control_v11p_sd15_softedge", "Soft edge",
                  "keeps the soft outlines of a picture"),
    _sd15_control("canny", "control_v11p_sd15_canny", "Canny",
                  "keeps the sharp edges of a picture"),
    _sd15_control("depth", "control_v11f1p_sd15_depth", "Depth",
                  "keeps the depth of a picture (needs the Depth Anything detector)"),
    _sd15_control("pose", "control_v11p_sd15_openpose", "Pose",
                  "keeps a person's pose (needs the ViTPose detector)"),
    _sd15_control("tile", "control_v11f1e_sd15_tile", "Tile",
                  "keeps a picture's content while refining or upscaling it"),
    CatalogueEntry(
        id="controlnet-union-sdxl", repo_id="xinsir/controlnet-union-sdxl-1.0",
        name="ControlNet Union (SDXL)", arch=CONTROLNET, inpaint=False, size_mb=2510,
        licence=APACHE, licence_url="https://huggingface.co/xinsir/controlnet-union-sdxl-1.0",
        description="One ControlNet for SDXL models that serves line art, scribble, soft edge, "
                    "canny, depth and pose controls.",
        allow_patterns=("config.json", "diffusion_pytorch_model.safetensors"),
        control_arch="sdxl",
        control_kinds=("scribble", "lineart", "softedge", "canny", "depth", "pose"),
        works_with="SDXL"),
    CatalogueEntry(
        id="depth-anything-v2-small", repo_id="depth-anything/Depth-Anything-V2-Small-hf",
        name="Depth Anything V2 Small (depth detector)", arch=DETECTOR, inpaint=False,
        size_mb=99, licence=APACHE,
        licence_url="https://huggingface.co/depth-anything/Depth-Anything-V2-Small-hf",
        description="Makes the depth picture of a layer for Depth controls.",
        allow_patterns=_DETECTOR_FILES, detector_for="depth"),
    CatalogueEntry(
        id="vitpose-base", repo_id="usyd-community/vitpose-base-simple",
        name="ViTPose base (pose detector)", arch=DETECTOR, inpaint=False, size_mb=360,
        licence=APACHE, licence_url="https://huggingface.co/usyd-community/vitpose-base-simple",
        description="Finds a person's pose on a layer and draws the OpenPose skeleton for Pose "
                    "controls (one person: the whole layer is taken as the person's box).",
        allow_patterns=_DETECTOR_FILES, detector_for="pose"),
    CatalogueEntry(
        id="sam-vit-base", repo_id="facebook/sam-vit-base",
        name="SAM ViT-B (Select Object)", arch=SEGMENTER, inpaint=False, size_mb=375,
        licence=APACHE, licence_url="https://huggingface.co/facebook/sam-vit-base",
        description="Segment Anything, base size: click on an object to select it with the "
                    "Select Object tool. The picture is read once (a few seconds on a CPU), "
                    "then each click answers at once.",
        allow_patterns=("config.json", "model.safetensors", "preprocessor_config.json")),
    CatalogueEntry(
        id="lama", repo_id="Carve/LaMa-ONNX", name="LaMa (Remove object)", arch=INPAINTER,
        inpaint=True, size_mb=208, licence=APACHE,
        licence_url="https://huggingface.co/Carve/LaMa-ONNX",
        description="Large Mask inpainting, exported to ONNX: removes the selected object and "
                    "fills its place from its surroundings in one pass (512²). Fill selection "
                    "uses it when no prompt is given; no diffusion model needed.",
        allow_patterns=("lama_fp32.onnx",)),
    CatalogueEntry(
        id="migan", repo_id="andraniksargsyan/migan", name="MI-GAN (Remove object, light)",
        arch=INPAINTER, inpaint=True, size_mb=28, licence=MIT,
        licence_url="https://github.com/Picsart-AI-Research/MI-GAN/blob/main/LICENSE-WEIGHTS",
        description="MI-GAN's ONNX pipeline: removes the selected object like LaMa at a "
                    "tenth of its size and a fraction of its time, a little less "
                    "convincing on large areas. Fill selection offers it beside LaMa.",
        allow_patterns=("migan_pipeline_v2.onnx",)),
    CatalogueEntry(
        id="birefnet-lite", repo_id="onnx-community/BiRefNet_lite-ONNX",
        name="BiRefNet lite (Select Subject, Remove Background)", arch=MATTING, inpaint=False,
        size_mb=224, licence=MIT,
        licence_url="https://huggingface.co/onnx-community/BiRefNet_lite-ONNX",
        description="Finds the main subject of a picture in one step, with soft edges (hair, "
                    "fur): Select › Select Subject, Layer › Remove Background and Replace "
                    "Background. Runs at 1024² on the CPU in a few seconds.",
        allow_patterns=("onnx/model.onnx",)),
    CatalogueEntry(
        id="omnisr-x2", repo_id="Acly/Omni-SR", name="OmniSR ×2 (Upscale)", arch=UPSCALER,
        inpaint=False, size_mb=2, licence=APACHE,
        licence_url="https://huggingface.co/Acly/Omni-SR",
        description="A small, fast upscaler: doubles a picture's size with sharper edges "
                    "and finer detail than Lanczos (Image › Upscale…).",
        allow_patterns=("OmniSR_X2_DIV2K.safetensors",)),
    CatalogueEntry(
        id="omnisr-x4", repo_id="Acly/Omni-SR", name="OmniSR ×4 (Upscale)", arch=UPSCALER,
        inpaint=False, size_mb=2, licence=APACHE,
        licence_url="https://huggingface.co/Acly/Omni-SR",
        description="A small, fast upscaler: makes a picture four times larger with sharper "
                    "edges and finer detail than Lanczos (Image › Upscale…).",
        allow_patterns=("OmniSR_X4_DIV2K.safetensors",)),
)


def control_entry(kind: str, arch: str) -> CatalogueEntry | None:
    """The catalogue's control model serving `kind` for base models of `arch`, if any."""
    return next((e for e in CATALOGUE if e.arch == CONTROLNET and e.control_arch == arch
                 and kind in e.control_kinds), None)


def detector_entry(kind: str) -> CatalogueEntry | None:
    """The catalogue's detector making pictures for `kind` ("depth", "pose"), if any."""
    return next((e for e in CATALOGUE if e.arch == DETECTOR and e.detector_for == kind), None)


def segmenter_entries() -> tuple[CatalogueEntry, ...]:
    """The catalogue's Segment Anything models (Select Object), smallest first."""
    return tuple(sorted((e for e in CATALOGUE if e.arch == SEGMENTER), key=lambda e: e.size_mb))


def inpainter_entry(entry_id: str = "lama") -> CatalogueEntry:
    """The catalogue's object remover `entry_id` ("lama", "migan"; its file: the entry's only
    allow pattern)."""
    return next(e for e in CATALOGUE if e.arch == INPAINTER and e.id == entry_id)


def matting_entry() -> CatalogueEntry:
    """The catalogue's background remover (its file: the entry's only allow pattern)."""
    return next(e for e in CATALOGUE if e.arch == MATTING)


def upscaler_entries() -> tuple[CatalogueEntry, ...]:
    """The catalogue's upscalers (Image › Upscale…; each one file, the entry's only allow
    pattern), in catalogue order."""
    return tuple(e for e in CATALOGUE if e.arch == UPSCALER)


def catalogue_entry(entry_id: str) -> CatalogueEntry | None:
    return next((e for e in CATALOGUE if e.id == entry_id), None)


def adapter_entry(cross_dim: int) -> CatalogueEntry | None:
    """The catalogue's IP-Adapter for base models of that cross-attention width, if any."""
    return next((e for e in CATALOGUE if e.arch == IP_ADAPTER
                 and e.adapter_cross_dim == cross_dim), None)

"""Tiny ESRGAN-architecture upscalers with random weights, built at test time.

The network is spandrel's own ESRGAN (old-arch RRDBNet) at a toy width (8 filters, one RRDB
block), seeded, so spandrel detects the architecture and the scale from the saved tensor names
and shapes exactly as it does for a real ESRGAN / Real-ESRGAN file. Saved as `.safetensors`
(safetensors.torch.save_file) or as a pickle `.pth` (torch.save of the state dict).
"""
from __future__ import annotations

from pathlib import Path

from aiart_desktop.ai.backends.local_upscale import spandrel_module
from aiart_desktop.ai.models.catalogue import catalogue_entry
from aiart_desktop.ai.models.registry import ModelRegistry


def tiny_esrgan_state(scale: int = 4, seed: int = 0) -> dict:
    """The state dict of a tiny random-weight ESRGAN (×`scale`: 1, 2, 4 or 8)."""
    import torch

    spandrel_module()  # imports spandrel the app's way (no torchvision needed)
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(seed)
    net = ESRGAN(num_filters=8, num_blocks=1, scale=scale)
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}


def tiny_upscaler(path: Path, scale: int = 4, seed: int = 0) -> Path:
    """A tiny ESRGAN ×`scale` saved at `path` (`.safetensors`, or a pickle for `.pth`/`.pt`)."""
    import torch
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    state = tiny_esrgan_state(scale, seed)
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


def install_tiny_upscaler(reg: ModelRegistry, entry_id: str = "omnisr-x4", scale: int = 4
                          ) -> Path:
    """A tiny ESRGAN saved where the registry expects the catalogue entry's file (the real
    entry is an OmniSR; the registry only looks for the file, spandrel for the network)."""
    entry = catalogue_entry(entry_id)
    assert entry is not None
    return tiny_upscaler(reg.catalogue_folder(entry_id) / entry.allow_patterns[0], scale)


def compact_standin(path: Path, scale: int = 4, residual: float = 0.05, seed: int = 0) -> Path:
    """A small Real-ESRGAN compact (SRVGGNetCompact: 16 features, 4 convolutions) ×`scale`,
    random weights, saved as `.safetensors`. Its output is the nearest-neighbour enlargement
    plus what the network adds; the last convolution is scaled by `residual`, so the random
    network adds a faint texture instead of noise: a stand-in whose results look like the
    picture (for the screenshots), through the very loader and tiles a real file goes."""
    import torch
    from safetensors.torch import save_file

    spandrel_module()
    from spandrel.architectures.Compact.__arch.SRVGG import SRVGGNetCompact

    torch.manual_seed(seed)
    net = SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=16, num_conv=4, upscale=scale)
    last = net.body[-1]
    with torch.no_grad():
        last.weight.mul_(residual)
        last.bias.mul_(residual)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(path))
    return path

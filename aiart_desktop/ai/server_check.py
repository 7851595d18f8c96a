"""What Settings › Where AI runs says about a ComfyUI server when the user presses Test
connection: its devices and memory (`/system_stats`), its ComfyUI version, how many
checkpoints, LoRAs, ControlNets and upscale models it has (`/object_info`). Blocking HTTP:
call it off the UI thread.

    check = check_server("http://gpu-box:8188", token)   # never raises
    check.ok, check.lines       # ["cuda:0 NVIDIA RTX 4090: 24.0 GB VRAM, 21.3 GB free", ...]
    check.error                 # the client's two-line message naming the server, when not ok

No Qt here; the token is only handed to the client (never logged, never in `lines`).
"""
from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from .backends.comfy import comfyui_version
from .backends.comfy_client import ComfyClient, ComfyError

CHECK_TIMEOUT_S = 10.0
GB = 1024 ** 3


@dataclass(frozen=True)
class ServerCheck:
    url: str
    label: str                                  # host:port
    ok: bool
    lines: list[str] = field(default_factory=list)        # devices, memory, version, models
    checkpoints: list[str] = field(default_factory=list)
    error: str = ""                             # two plain lines naming the server


def _gb(n: Any) -> str:
    try:
        return f"{float(n) / GB:.1f} GB"
    except (TypeError, ValueError):
        return "?"


def describe_stats(stats: dict[str, Any]) -> list[str]:
    """A line per device (name, its memory and what is free), the machine's RAM when the
    server says it, and the ComfyUI version ("version not reported" by older servers)."""
    lines = []
    for dev in stats.get("devices") or []:
        if not isinstance(dev, dict):
            continue
        name = str(dev.get("name") or dev.get("type") or "device").split(" : ")[0]
        kind = str(dev.get("type") or "")
        memory = "memory" if kind == "cpu" else "VRAM"
        lines.append(f"{name}: {_gb(dev.get('vram_total'))} {memory}, "
                     f"{_gb(dev.get('vram_free'))} free")
    system = stats.get("system") if isinstance(stats.get("system"), dict) else {}
    if system and system.get("ram_total"):
        lines.append(f"RAM: {_gb(system.get('ram_total'))}, {_gb(system.get('ram_free'))} free")
    version = comfyui_version(stats)
    lines.append(f"ComfyUI {version}" if version else "ComfyUI version not reported")
    return lines


_KINDS = (("checkpoints", "checkpoint"), ("loras", "LoRA"), ("controlnet", "ControlNet"),
          ("upscale_models", "upscale model"))


def count_text(n: int, what: str = "checkpoint") -> str:
    return {0: f"no {what}s", 1: f"1 {what}"}.get(n, f"{n} {what}s")


def models_text(listing: dict[str, list[str]]) -> str:
    """"2 checkpoints, 3 LoRAs, no ControlNets, 1 upscale model" of a server's listing."""
    return ", ".join(count_text(len(listing.get(folder, [])), what) for folder, what in _KINDS)


def check_server(url: str, token: str | None = None,
                 timeout: float = CHECK_TIMEOUT_S) -> ServerCheck:
    """Ask the server what it is and has (see the module). Never raises."""
    try:
        client = ComfyClient(url, token, timeout=timeout)
    except ComfyError as exc:
        return ServerCheck(url, url, False, error=str(exc))
    try:
        stats = client.system_stats(timeout)
        listing = client.listing(timeout)
    except ComfyError as exc:
        return ServerCheck(client.url, client.label, False, error=str(exc))
    lines = describe_stats(stats)
    lines.append(models_text(listing))
    return ServerCheck(client.url, client.label, True, lines, listing.get("checkpoints", []))


def is_this_machine(url: str) -> bool:
    """The server is this computer (localhost, 127.x, ::1): nothing crosses a network."""
    host = urllib.parse.urlsplit(url if "://" in url else "http://" + url).hostname or ""
    if host.lower() in ("localhost", "localhost.localdomain") or \
            host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def unencrypted(url: str) -> bool:
    """Pictures sent to `url` cross a network in clear: plain http to another machine."""
    scheme = urllib.parse.urlsplit(url if "://" in url else "http://" + url).scheme
    return scheme.lower() == "http" and not is_this_machine(url)

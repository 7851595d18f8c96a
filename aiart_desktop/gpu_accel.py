"""GPU acceleration without a multi-GB installer: a CUDA or ROCm torch in a per-user folder.

The installers ship CPU torch (the macOS wheel already has Apple's GPU backend). With the
user's consent this module installs a GPU build of the SAME torch version into
``<data dir>/gpu-torch/<backend>/`` and, once a subprocess has imported it from there and
seen the GPU, records it in ``<data dir>/gpu-torch/state.json``. At the next start
`activate_at_startup()` (called by main.py before anything imports torch) puts that folder at
the front of ``sys.path``; the AI worker imports torch lazily, so it gets the GPU build.

    info = detect()                       # GpuInfo | None: nvidia-smi, /proc, ROCm's /dev/kfd
    backend = choose_backend(info)        # cu128 / cu126 / rocm6.4 ... (GpuAccelError if none)
    plan = plan_install(backend)          # the exact command line, target folder, sizes
    result = run_install(plan, on_line, cancelled)   # blocking; run it on a thread
    if result.ok: activate(result.state)  # now, or "restart" when torch is already loaded

Nothing is recorded unless the install AND the verification succeed; a failure or a cancel
removes the half-installed folder and leaves the settings and the state file as they were.
This module imports no Qt and no torch; only `activate_at_startup` runs at start-up and it
reads one small JSON file.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings.paths import data_dir

TORCH_VERSION = "2.13.0"  # the torch pinned in pyproject.toml (a test keeps them equal)
INDEX = "https://download.pytorch.org/whl"
# (backend, CUDA version, minimum driver on Linux, on Windows), newest first. CUDA 12.x and
# 13.x builds run on any driver of their major version's first release (minor version
# compatibility), which is what uv's --torch-backend=auto assumes too.
CUDA_BACKENDS = (
    ("cu130", (13, 0), (580, 65, 6), (580, 88)),
    ("cu128", (12, 8), (525, 60, 13), (528, 33)),
    ("cu126", (12, 6), (525, 60, 13), (528, 33)),
)
ROCM_BACKENDS = (("rocm6.4", (6, 4)), ("rocm6.3", (6, 3)))
# Rough sizes shown before asking: download, then disk (GB).
SIZES = {"cuda-linux": (2.8, 5.5), "cuda-win32": (2.6, 5.0), "rocm": (4.5, 14.0)}
# What is kept of the install: torch and its GPU runtime libraries. Everything else torch
# depends on (sympy, jinja2, ...) is already in the app, in the same versions.
KEEP = ("torch", "functorch", "nvidia", "triton", "pytorch_triton")
STATE_FILE = "state.json"


class GpuAccelError(Exception):
    """Something the user must be told: no GPU, a driver too old, a failed install."""


@dataclass(frozen=True)
class GpuInfo:
    vendor: str                  # "nvidia" | "amd"
    name: str = ""               # "NVIDIA GeForce RTX 4070"
    driver: str = ""             # "550.54.14"
    cuda: str = ""               # the newest CUDA the driver supports ("12.4"), when known
    rocm: str = ""               # the installed ROCm ("6.3.1"), when known
    source: str = ""             # how it was found: "nvidia-smi", "/proc/driver/nvidia", ...


@dataclass(frozen=True)
class Backend:
    name: str                    # "cu128", "rocm6.4"
    label: str                   # "NVIDIA CUDA 12.8"
    index_url: str
    download_gb: float
    disk_gb: float


@dataclass(frozen=True)
class InstallPlan:
    backend: Backend
    target: Path                 # where torch ends up (recorded when verified)
    staging: Path                # where the installer writes first
    command: list[str]           # the whole command line
    tool: str                    # "pip" | "uv"
    torch_version: str = TORCH_VERSION

    def describe(self) -> str:
        return " ".join(_quote(c) for c in self.command)


@dataclass
class InstallResult:
    ok: bool
    message: str
    cancelled: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


# ---- detection ------------------------------------------------------------------------------
def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def _run(cmd: list[str], timeout: float, path: str | None) -> str | None:
    import subprocess

    exe = shutil.which(cmd[0], path=path)
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=timeout,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def detect(path: str | None = None, proc_root: str | os.PathLike[str] = "/proc",
           dev_root: str | os.PathLike[str] = "/dev",
           rocm_root: str | os.PathLike[str] = "/opt/rocm",
           platform: str = sys.platform, timeout: float = 10.0) -> GpuInfo | None:
    """The GPU a CUDA or ROCm torch could use, or None. `path` replaces $PATH when looking for
    nvidia-smi / rocminfo; the roots stand in for /proc, /dev and /opt/rocm (tests)."""
    if platform == "darwin":
        return None  # the macOS wheel already uses the GPU through MPS
    out = _run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
               timeout, path)
    if out and out.strip():
        name, _, driver = out.strip().splitlines()[0].partition(",")
        header = _run(["nvidia-smi"], timeout, path) or ""
        m = re.search(r"CUDA Version:\s*([\d.]+)", header)
        return GpuInfo("nvidia", name.strip(), driver.strip(), m.group(1) if m else "",
                       source="nvidia-smi")
    if platform.startswith("linux"):
        ver = Path(proc_root) / "driver" / "nvidia" / "version"
        try:
            text = ver.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        m = re.search(r"Kernel Module(?: for \w+)?\s+([\d.]+)", text)
        if m:
            return GpuInfo("nvidia", "NVIDIA GPU", m.group(1), source=str(ver))
        if (Path(dev_root) / "kfd").exists():
            rocm = ""
            try:
                rocm = (Path(rocm_root) / ".info" / "version").read_text().strip()
            except OSError:
                pass
            agents = _run(["rocminfo"], timeout, path) or ""
            names = re.findall(r"Marketing Name:\s*(.+)", agents)
            gpu = next((n.strip() for n in names if "CPU" not in n and "Processor" not in n),
                       "AMD GPU")
            return GpuInfo("amd", gpu, rocm=rocm, source=str(Path(dev_root) / "kfd"))
    return None


def choose_backend(info: GpuInfo | None, platform: str = sys.platform) -> Backend:
    """The torch build for `info`: the newest CUDA its driver runs (no newer than the CUDA
    version nvidia-smi reports), or the ROCm build matching the installed ROCm."""
    if info is None:
        if platform == "darwin":
            raise GpuAccelError("on macOS the app already uses the GPU (Apple Metal); nothing "
                                "needs to be installed")
        raise GpuAccelError("no NVIDIA GPU (nvidia-smi, /proc/driver/nvidia) or AMD ROCm GPU "
                            "(/dev/kfd) was found; AI keeps running on the processor")
    if info.vendor == "nvidia":
        driver = _version(info.driver)
        cap = _version(info.cuda)[:2] if info.cuda else None
        win = platform == "win32"
        runs = [(n, c) for n, c, lin, w in CUDA_BACKENDS
                if not driver or driver >= (w if win else lin)]
        # Within the CUDA the driver reports, else the oldest build of the same major version
        # (minor version compatibility), else nothing.
        fits = [b for b in runs if not cap or b[1] <= cap] or \
            [b for b in reversed(runs) if cap and b[1][0] == cap[0]]
        if fits:
            name, cuda = fits[0]
            dl, disk = SIZES["cuda-win32" if win else "cuda-linux"]
            return Backend(name, f"NVIDIA CUDA {cuda[0]}.{cuda[1]}", f"{INDEX}/{name}", dl, disk)
        raise GpuAccelError(f"the NVIDIA driver {info.driver or '(unknown version)'} is too old "
                            "for the GPU builds of torch; install driver 528 or newer and try "
                            "again")
    if info.vendor == "amd":
        if platform == "win32":
            raise GpuAccelError("torch's ROCm builds are for Linux only; AI keeps running on "
                                "the processor")
        have = _version(info.rocm)[:2]
        name, ver = next(((n, v) for n, v in ROCM_BACKENDS if have and v <= have),
                         ROCM_BACKENDS[0])
        dl, disk = SIZES["rocm"]
        return Backend(name, f"AMD ROCm {ver[0]}.{ver[1]}", f"{INDEX}/{name}", dl, disk)
    raise GpuAccelError(f"unknown GPU vendor {info.vendor!r}")


# ---- install --------------------------------------------------------------------------------
def root_dir() -> Path:
    return data_dir() / "gpu-torch"


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def helper_command() -> list[str]:
    """How to run this module's helper (`pip ...`, `verify DIR`) in a subprocess: the app
    itself when frozen (main.py --gpu-helper), else this interpreter."""
    if frozen():
        return [sys.executable, "--gpu-helper"]
    return [sys.executable, "-m", "aiart_desktop.gpu_accel"]


def plan_install(backend: Backend, *, root: Path | None = None, uv: str | None = None,
                 torch_version: str = TORCH_VERSION) -> InstallPlan:
    """The command installing torch `torch_version` for `backend`: uv (when given or on PATH,
    and not frozen) with ``--torch-backend=auto``, else pip with the backend's index."""
    root = Path(root) if root is not None else root_dir()
    target = root / backend.name
    staging = root / f"{backend.name}.partial"
    if uv is None and not frozen():
        uv = shutil.which("uv")
    spec = f"torch=={torch_version}"
    if uv:
        cmd = [uv, "pip", "install", "--python", sys.executable, "--target", str(staging),
               "--torch-backend=auto", spec]
        return InstallPlan(backend, target, staging, cmd, "uv", torch_version)
    pip = [*helper_command(), "pip"] if frozen() else [sys.executable, "-m", "pip"]
    cmd = [*pip, "install", "--no-input", "--disable-pip-version-check", "--progress-bar",
           "off", "--only-binary=:all:", "--target", str(staging), "--index-url",
           backend.index_url, spec]
    return InstallPlan(backend, target, staging, cmd, "pip", torch_version)


def _quote(arg: str) -> str:
    return f'"{arg}"' if (" " in arg or not arg) else arg


def _stop(proc: Any) -> None:
    """Terminate the installer and everything it started."""
    import signal
    import subprocess

    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except OSError:
            pass
        proc.wait()


def run_install(plan: InstallPlan, on_line: Callable[[str], None] | None = None,
                cancelled: Callable[[], bool] | None = None,
                verify_fn: Callable[[Path], dict[str, Any]] | None = None) -> InstallResult:
    """Run `plan` (blocking: call it on a worker thread), verify, record. `on_line` gets every
    line the installer prints; `cancelled` is polled ten times a second."""
    import queue
    import subprocess

    stop = cancelled or (lambda: False)
    say = on_line or (lambda _line: None)
    log: list[str] = []
    shutil.rmtree(plan.staging, ignore_errors=True)
    plan.staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.Popen(plan.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace",
                                start_new_session=os.name == "posix",
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except OSError as exc:
        return InstallResult(False, f"could not start {plan.tool} ({plan.command[0]}): {exc}")
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip())
        lines.put(None)

    threading.Thread(target=pump, daemon=True, name="gpu-install-output").start()
    done = False
    while not done:
        if stop():
            _stop(proc)
            shutil.rmtree(plan.staging, ignore_errors=True)
            return InstallResult(False, "cancelled: nothing was changed", True, log=log)
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if line is None:
            done = True
        elif line:
            log.append(line)
            say(line)
    code = proc.wait()
    if code != 0:
        shutil.rmtree(plan.staging, ignore_errors=True)
        last = next((x for x in reversed(log) if x.strip()), "no output")
        return InstallResult(False, f"{plan.tool} failed (exit code {code}): {last}", log=log)
    prune(plan.staging)
    say("Checking that torch sees the GPU…")
    info = (verify_fn or verify)(plan.staging)
    if stop():
        shutil.rmtree(plan.staging, ignore_errors=True)
        return InstallResult(False, "cancelled: nothing was changed", True, log=log)
    if not info.get("ok"):
        shutil.rmtree(plan.staging, ignore_errors=True)
        return InstallResult(False, f"the GPU build was installed but does not work here: "
                             f"{info.get('error', 'unknown error')}; nothing was changed",
                             log=log)
    from .core.io.atomic import replace_directory

    try:  # an older build there goes only once the new one is in its place
        replace_directory(plan.staging, plan.target)
    except OSError as exc:
        shutil.rmtree(plan.staging, ignore_errors=True)
        return InstallResult(False, f"the GPU build could not be put in {plan.target}: {exc}; "
                             "nothing was changed", log=log)
    state = {"backend": plan.backend.name, "label": plan.backend.label,
             "path": str(plan.target), "torch_version": info.get("version", ""),
             "app_torch": plan.torch_version, "device": info.get("device", ""),
             "verified": True, "installed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        write_state(state, plan.target.parent)
    except OSError as exc:
        return InstallResult(False, f"the GPU build is in {plan.target} but could not be "
                             f"recorded: {exc}", log=log)
    return InstallResult(True, f"PyTorch {state['torch_version']} with {plan.backend.label} "
                         f"works on {state['device'] or 'the GPU'}", state=state, log=log)


def prune(folder: Path) -> None:
    """Keep only torch and its GPU libraries in an installed folder (see KEEP)."""
    for entry in Path(folder).iterdir():
        if entry.name.lower().startswith(KEEP):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


VERIFY_CODE = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); import os; "
    "r = {'ok': False}; "
    "import torch; r['version'] = torch.__version__; r['file'] = torch.__file__; "
    "ok = torch.cuda.is_available(); "
    "r['device'] = torch.cuda.get_device_name(0) if ok else ''; "
    "r['hip'] = getattr(torch.version, 'hip', None) or ''; "
    "r['cuda'] = getattr(torch.version, 'cuda', None) or ''; "
    "inside = os.path.abspath(torch.__file__).startswith(os.path.abspath(sys.argv[1])); "
    "r['ok'] = bool(ok and inside); "
    "r['error'] = '' if r['ok'] else ('torch was not loaded from the new folder' if not inside "
    "else 'torch.cuda.is_available() is False (driver or GPU not usable)'); "
    "print('AIART-VERIFY ' + json.dumps(r))"
)


def verify(folder: Path, timeout: float = 300.0) -> dict[str, Any]:
    """Import torch from `folder` in a fresh process; {'ok', 'version', 'device', 'error'}."""
    import subprocess

    cmd = [*helper_command(), "verify", str(folder)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                             errors="replace")
    except (OSError, subprocess.SubprocessError) as exc:
        return {"ok": False, "error": f"could not run the check: {exc}"}
    for line in out.stdout.splitlines():
        if line.startswith("AIART-VERIFY "):
            return json.loads(line[len("AIART-VERIFY "):])
    tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return {"ok": False, "error": f"importing torch failed: {tail}"}


# ---- state and activation -------------------------------------------------------------------
def state_path(root: Path | None = None) -> Path:
    return (Path(root) if root is not None else root_dir()) / STATE_FILE


def read_state(root: Path | None = None) -> dict[str, Any]:
    try:
        data = json.loads(state_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(state: dict[str, Any], root: Path | None = None) -> None:
    from .core.io.atomic import atomic_write_json  # not at import: start-up only reads

    p = state_path(root)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(p, state, indent=2)


def remove(root: Path | None = None) -> None:
    """Forget the GPU build and delete its folder (takes effect at the next start)."""
    state = read_state(root)
    state_path(root).unlink(missing_ok=True)
    if state.get("path"):
        shutil.rmtree(state["path"], ignore_errors=True)


def usable(state: dict[str, Any]) -> bool:
    """A verified install for this app's torch version whose folder still exists."""
    return bool(state.get("verified") and state.get("path")
                and state.get("app_torch") == TORCH_VERSION and Path(state["path"]).is_dir())


def activate(state: dict[str, Any]) -> str:
    """Put the GPU build first on sys.path: "active" (now or already), "restart" (torch is
    already imported: the change needs a restart), "unusable" (nothing changed)."""
    if not usable(state):
        return "unusable"
    path = str(state["path"])
    if path in sys.path:
        mod = sys.modules.get("torch")
        loaded = getattr(mod, "__file__", "") or ""
        return "restart" if mod is not None and not loaded.startswith(path) else "active"
    if "torch" in sys.modules:
        return "restart"
    sys.path.insert(0, path)
    return "active"


def activate_at_startup(root: Path | None = None) -> bool:
    """main.py calls this first thing: True when the GPU build is on sys.path."""
    if os.environ.get("AIART_NO_GPU_TORCH"):
        return False
    return activate(read_state(root)) == "active"


def status_text(root: Path | None = None) -> str:
    state = read_state(root)
    if not state:
        return "not installed"
    if not usable(state):
        return "installed for another version of the app: reinstall it"
    active = str(state["path"]) in sys.path
    return (f"{state.get('label', state.get('backend'))} on {state.get('device') or 'the GPU'}"
            + ("" if active else " (active after a restart)"))


# ---- helper process (main.py --gpu-helper / python -m aiart_desktop.gpu_accel) -------------
def helper_main(argv: list[str]) -> int:
    from .privacy import disable_telemetry

    disable_telemetry()  # pip and the verify step's torch import come after this
    if argv[:1] == ["verify"] and len(argv) == 2:
        sys.argv = ["verify", argv[1]]
        exec(compile(VERIFY_CODE, "<gpu-verify>", "exec"), {"__name__": "__verify__"})
        return 0
    if argv[:1] == ["pip"]:
        import runpy

        sys.argv = ["pip", *argv[1:]]
        try:
            runpy.run_module("pip", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            return int(exc.code or 0) if not isinstance(exc.code, str) else 1
        return 0
    print("usage: --gpu-helper verify DIR | --gpu-helper pip ARGS...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(helper_main(sys.argv[1:]))

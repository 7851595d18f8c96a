"""Watch a command's network calls with strace and list every one that leaves the machine.

`run_traced` runs a command (and every process and thread it starts) under
``strace -f -e trace=connect,sendto,sendmsg,sendmmsg``; `outbound` reads strace's log and
returns the calls that are not allowed:

- an internet address (IPv4 / IPv6) that is not loopback, on any port;
- any DNS query (port 53), even to a loopback resolver: looking a name up is already telling
  someone what the program is about to contact;
- systemd-resolved's socket (name look-ups through nss-resolve go there, over AF_UNIX);
- any other address family than AF_UNIX, AF_NETLINK and AF_UNSPEC.

Local sockets (AF_UNIX: D-Bus, X11 or Wayland, nscd for user names) and netlink (the kernel's
interface lists) stay allowed, as do connections to the loopback interface (ports other than
53): a local ComfyUI server is something the user asks for.
"""
from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

CALLS = ("connect", "sendto", "sendmsg", "sendmmsg")
ALLOWED_FAMILIES = {"AF_UNIX", "AF_LOCAL", "AF_NETLINK", "AF_UNSPEC"}
RESOLVER_SOCKETS = ("/run/systemd/resolve/", "/var/run/systemd/resolve/")

_CALL = re.compile(r"\b(" + "|".join(CALLS) + r")\(")
_ADDR = re.compile(r"\{sa_family=(AF_[A-Z0-9]+)([^{}]*)\}")
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
_IP4 = re.compile(r'inet_addr\("([^"]+)"\)')
_IP6 = re.compile(r'inet_pton\(AF_INET6,\s*"([^"]+)"')
_PATH = re.compile(r'sun_path=@?"([^"]*)"')


def strace_path() -> str | None:
    return shutil.which("strace")


def strace_works() -> tuple[bool, str]:
    """Whether strace is installed and may trace here (ptrace can be forbidden in containers)."""
    exe = strace_path()
    if exe is None:
        return False, "strace is not installed (.ci/run installs it)"
    proc = subprocess.run([exe, "-f", "-e", "trace=connect", "-o", "/dev/null", "true"],
                          capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        return False, f"strace cannot trace here: {proc.stderr.strip()[:200]}"
    return True, ""


def run_traced(argv: Sequence[str], log: Path, *, env: dict[str, str] | None = None,
               cwd: str | Path | None = None, timeout: float = 600
               ) -> subprocess.CompletedProcess[str]:
    """Run `argv` under strace, writing strace's log to `log`; the command's own output is in
    the result. Only the traced calls stop the process (seccomp-bpf), so it runs near full
    speed."""
    exe = strace_path()
    if exe is None:
        raise RuntimeError("strace is not installed")
    cmd = [exe, "-f", "--seccomp-bpf", "-qq", "-s", "16", "-e", "trace=" + ",".join(CALLS),
           "-o", str(log), "--", *argv]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _bad_address(family: str, body: str) -> str | None:
    """Why this socket address is not allowed, or None."""
    if family in ALLOWED_FAMILIES:
        path = _PATH.search(body)
        if path and path.group(1).startswith(RESOLVER_SOCKETS):
            return "a name look-up through systemd-resolved"
        return None
    if family not in ("AF_INET", "AF_INET6"):
        return f"address family {family}"
    port_m = _PORT.search(body)
    ip_m = (_IP4 if family == "AF_INET" else _IP6).search(body)
    port = int(port_m.group(1)) if port_m else None
    if port == 53:
        return "a DNS query"
    if ip_m is None:
        return "an internet address strace did not decode"
    ip = ipaddress.ip_address(ip_m.group(1))
    mapped = getattr(ip, "ipv4_mapped", None)
    if (mapped or ip).is_loopback:
        return None
    return "an address outside this machine"


def outbound(strace_log: str) -> list[str]:
    """The lines of `strace_log` whose call sends to, or connects to, an address that is not
    allowed (see the module's docstring), each prefixed with the reason."""
    bad = []
    for line in strace_log.splitlines():
        if not _CALL.search(line):
            continue
        for family, body in _ADDR.findall(line):
            why = _bad_address(family, body)
            if why is not None:
                bad.append(f"{why}: {line.strip()}")
                break
    return bad

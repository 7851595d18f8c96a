"""A tiny loopback reverse proxy that asks for a bearer token, in front of a ComfyUI test
server: what a studio's or a cloud GPU's gateway does. A connection whose request head lacks
`Authorization: Bearer <token>` gets 401; any other is piped to the server byte for byte (so
HTTP and the websocket's upgrade both pass).

    with TokenProxy(server_url, "secret") as proxy:
        proxy.url                      # "http://127.0.0.1:PORT"
        proxy.refused                  # connections turned away
"""
from __future__ import annotations

import socket
import threading
import urllib.parse
from types import TracebackType


class TokenProxy:
    def __init__(self, target: str, token: str) -> None:
        p = urllib.parse.urlsplit(target)
        self.target = (p.hostname or "127.0.0.1", p.port or 80)
        self.token = token
        self.refused = 0
        self._listen = socket.create_server(("127.0.0.1", 0))
        self._listen.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listen.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._accept = threading.Thread(target=self._serve, name="token-proxy", daemon=True)
        self._accept.start()

    def __enter__(self) -> TokenProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._accept.join(5)
        for s in list(self._socks):
            try:
                s.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(5)
        self._listen.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listen.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._socks.append(conn)
            self._spawn(self._handle, conn)

    def _spawn(self, fn: object, *args: object) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(t)
        t.start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    conn.close()
                    return
                head += chunk
        except OSError:
            conn.close()
            return
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
        auth = [v.strip() for k, _, v in (line.partition(":") for line in lines)
                if k.strip().lower() == "authorization"]
        if auth != [f"Bearer {self.token}"]:
            self.refused += 1
            conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n"
                         b"Connection: close\r\n\r\nunauthorized")
            conn.close()
            return
        upstream = socket.create_connection(self.target, timeout=10)
        self._socks.append(upstream)
        conn.settimeout(None)
        upstream.settimeout(None)
        upstream.sendall(head)
        self._spawn(_pipe, upstream, conn)
        _pipe(conn, upstream)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

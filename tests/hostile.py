"""A hostile HTTP server on 127.0.0.1 for tests: every connection gets the same raw answer, which
may be a huge body (streamed, never held in memory), HTML, garbage, or nothing. Bounded: it serves
at most `connections` connections and stops after `life` seconds."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from typing import Iterator

from generator.cli import main


def http(status: int, body: bytes = b"", content_type: str = "application/json", length: int | None = None) -> bytes:
    """The head of an HTTP/1.1 answer (and `body`); `length` announces more than `body` holds."""
    size = len(body) if length is None else length
    return (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {size}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


class Hostile:
    """`head` is sent first, then `flood` bytes of `fill` (in 64 KiB writes), then the socket closes."""

    def __init__(self, head: bytes, flood: int = 0, fill: bytes = b" ", connections: int = 64, life: float = 60.0) -> None:
        self.head, self.flood, self.fill = head, flood, fill
        self.connections, self.life = connections, life
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.most = 0  # the most bytes of flood one connection took before the client hung up
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        ends = time.monotonic() + self.life
        served = 0
        while not self.stop.is_set() and time.monotonic() < ends and served < self.connections:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            served += 1
            threading.Thread(target=self._answer, args=(conn, ends), daemon=True).start()
        self.sock.close()

    def _answer(self, conn: socket.socket, ends: float) -> None:
        chunk = self.fill * (65536 // len(self.fill))
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            conn.recv(65536)  # the request (its head fits)
            conn.sendall(self.head)
            left = self.flood
            while left > 0 and not self.stop.is_set() and time.monotonic() < ends:  # bounded by flood and life
                piece = chunk[:left]
                conn.sendall(piece)
                left -= len(piece)
                self.most = max(self.most, self.flood - left)

    def __enter__(self) -> "Hostile":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


@contextlib.contextmanager
def hostile(head: bytes, flood: int = 0, **kwargs) -> Iterator[Hostile]:
    with Hostile(head, flood, **kwargs) as server:
        yield server


def run(argv: list[str]) -> tuple[int, str, str, float]:
    """The command line in this process: exit code, stdout, stderr and how long it took."""
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), time.monotonic() - started

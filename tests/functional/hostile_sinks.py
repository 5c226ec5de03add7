"""A raw TCP webhook sink that misbehaves on purpose: trickles, hangs, or answers 200 MB; or answers 200 at once.

It speaks just enough HTTP/1.1 to read one request (headers and a Content-Length body) per connection, and
counts what it received, so a test can tell whether an event reached it, and how many times.
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any


class HostileSink:
    def __init__(self, mode: str) -> None:
        self.mode = mode  # "ok", "trickle" (one byte every 5 s), "hang" (never answers), "huge" (200 MB)
        self.received: list[dict[str, Any]] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/hook"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                body += chunk
            with self._lock:
                self.connections += 1
                mode = self.mode
                if mode == "ok":
                    self.received.append(json.loads(body))
            try:
                self._answer(conn, mode)
            except OSError:
                return

    def _answer(self, conn: socket.socket, mode: str) -> None:
        if mode == "ok":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        elif mode == "trickle":
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                if self._closed.wait(5):
                    return
                conn.sendall(bytes([byte]))
        elif mode == "hang":
            self._closed.wait()
        elif mode == "huge":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 209715200\r\n\r\n")
            block = b"\0" * 65536
            for _ in range(3200):
                conn.sendall(block)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()

"""A loopback TCP proxy whose existing connections can be frozen (half-open from the client's
side: the socket stays open but no byte ever comes back). New connections still work."""

from __future__ import annotations

import socket
import threading

from tests.conftest import free_port


class FreezableProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._frozen: list[threading.Event] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def freeze(self) -> None:
        """Every connection open now silently drops all traffic from here on."""
        with self._lock:
            for flag in self._frozen:
                flag.set()

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            frozen = threading.Event()
            with self._lock:
                self._frozen.append(frozen)
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst, frozen), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, frozen: threading.Event) -> None:
        try:
            while data := src.recv(65536):
                if not frozen.is_set():
                    dst.sendall(data)
        except OSError:
            pass

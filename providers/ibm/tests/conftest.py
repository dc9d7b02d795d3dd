"""Shared fixtures: an isolated IBM account environment, and tiny local HTTP servers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

Responder = Callable[[str, str], tuple[int, dict]]
"""(method, path) -> (HTTP status, JSON body)."""


@pytest.fixture
def isolated_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No IBM credentials anywhere: an empty home and no QISKIT_IBM_* variables."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in (
        "QISKIT_IBM_TOKEN",
        "QISKIT_IBM_INSTANCE",
        "QISKIT_IBM_CHANNEL",
        "QISKIT_IBM_URL",
        "IAM_URL",
        "QISKIT_FUNCTIONS_EXPERIMENTAL",
    ):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def closed_port() -> int:
    """A local TCP port nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[Callable[[Responder], str]]:
    """Start a local HTTP server answering with ``responder``; returns its base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(responder: Responder) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                status, body = responder(self.command, self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()

"""A file server on 127.0.0.1 for the online test course: serves a folder (or in-memory files), can replace one
file by corrupt bytes or announce a wrong length, and records every request."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class AssetServer:
    """``files[name]`` (bytes or a path) at ``/name``; ``truncate`` names files sent with a too-large
    Content-Length; ``html`` names files answered by a web page (what a sharing link sends for a large file);
    ``no_head`` names files whose HEAD requests are refused with 403 (a presigned URL signed for GET only)."""

    def __init__(self, files: dict | None = None):
        self.files: dict[str, bytes | Path] = dict(files or {})
        self.truncate: set[str] = set()
        self.html: set[str] = set()
        self.no_head: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, body: bool):
                name = self.path.lstrip("/")
                server.requests.append(f"{self.command} {name}")
                data = server.data(name)
                if data is None:
                    self.send_error(404)
                    return
                if not body and name in server.no_head:
                    self.send_error(403)
                    return
                self.send_response(200)
                html = name in server.html
                self.send_header("Content-Type", "text/html; charset=utf-8" if html else "application/octet-stream")
                self.send_header("Content-Length", str(len(data) + (1000 if name in server.truncate else 0)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_GET(self):
                self._send(True)

            def do_HEAD(self):
                self._send(False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def data(self, name: str) -> bytes | None:
        if name in self.html:
            return b"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>" \
                   b"<body>Google Drive can't scan this file for viruses.</body></html>\n" * 20
        value = self.files.get(name)
        return Path(value).read_bytes() if isinstance(value, (str, Path)) else value

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def gets(self, name: str) -> int:
        return self.requests.count(f"GET {name}")

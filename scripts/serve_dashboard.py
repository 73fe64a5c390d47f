#!/usr/bin/env python3
"""Serve dashboard/dist locally the way S3 + CloudFront serve it.

``/dashboard/cfo`` → ``dashboard/cfo/index.html`` (CloudFront's viewer-request function does the
same rewrite), every response carries the headers of ``dist/headers.json`` (the Content-Security-
Policy CloudFront's response-headers policy sends), HTML and config.json are not cached.

    scripts/serve_dashboard.py --port 8081 --api-url http://localhost:8080 \\
        [--demo-key-id ID --demo-key-secret SECRET] [--no-build] [--dist DIR]

Builds first (``node dashboard/build.mjs``) so config.json and the CSP name this API URL.
"""

from __future__ import annotations

import argparse
import sys
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from cloudtally import webui

ROOT = webui.ROOT
DIST = webui.DIST


def build(out: Path = DIST, *, api_url: str | None = None, refresh_seconds: int | None = None,
          demo_key: dict | None = None) -> dict:
    """Run the dashboard build (bundle, pages, config.json, headers.json); returns its summary."""
    return webui.build(out, api_url=api_url, refresh_seconds=refresh_seconds, demo_key=demo_key)


class Handler(BaseHTTPRequestHandler):
    server_version = "cloudtally-dashboard"
    sys_version = ""

    def __init__(self, *args, dist: Path, **kw):
        self.dist = dist.resolve()
        super().__init__(*args, **kw)

    def log_message(self, fmt: str, *args) -> None:  # one line per request on stderr, no query strings
        if getattr(self.server, "quiet", False):
            return
        sys.stderr.write(f"{self.command} {urlsplit(self.path).path} {args[1] if len(args) > 1 else ''}\n")

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        status, headers, data = webui.static_response(self.dist, urlsplit(self.path).path)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)


def serve(dist: Path = DIST, port: int = 8081, host: str = "127.0.0.1", *,
          quiet: bool = False) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Start serving in a daemon thread; stop with ``server.shutdown(); server.server_close()``."""
    server = ThreadingHTTPServer((host, port), partial(Handler, dist=Path(dist)))
    server.quiet = quiet
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    t.start()
    return server, t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--dist", type=Path, default=DIST)
    p.add_argument("--api-url", help="the API base URL written to config.json and allowed by the CSP")
    p.add_argument("--refresh-seconds", type=int)
    p.add_argument("--demo-key-id")
    p.add_argument("--demo-key-secret")
    p.add_argument("--no-build", action="store_true", help="serve dist as it is")
    a = p.parse_args()
    if not a.no_build:
        demo = {"id": a.demo_key_id, "secret": a.demo_key_secret} if a.demo_key_id and a.demo_key_secret else None
        info = build(a.dist, api_url=a.api_url, refresh_seconds=a.refresh_seconds, demo_key=demo)
        print(f"built {info['js']} into {a.dist}", flush=True)
    server, t = serve(a.dist, a.port, a.host)
    print(f"dashboard on http://{a.host}:{a.port}/", flush=True)
    try:
        t.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

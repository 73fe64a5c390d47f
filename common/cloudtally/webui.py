"""The dashboard and the API on one origin: ``cloudtally dashboard --port 8080`` (the OpenFinOps docs'
``openfinops-dashboard --port 8080``; also the console scripts ``cloudtally-dashboard`` and
``cloudtally-server``) and ``start_server(host, port, debug)`` (the docs' ``openfinops.webui.start_server``).

One threaded server: the API's routes (every path under a prefix of the route table: ``/v1``, ``/api``, ...)
go to the Chalice app exactly as :mod:`cloudtally.devserver` serves it, every other GET is a file of the built
dashboard (``dashboard/dist``) served the way S3 + CloudFront serve it: ``/dashboard/cfo`` is
``dashboard/cfo/index.html``, the pages carry the CSP of ``headers.json``, HTML and ``config.json`` are not
cached. The build's ``config.json`` has an empty ``api_url`` (the page's own origin), so the pages call the
API they were served with::

    http://localhost:8080/                       overview
    http://localhost:8080/dashboard/cfo          CFO   (also /dashboard/coo, /dashboard/infrastructure, /dashboard/llm)
    http://localhost:8080/api/health             the API
"""

from __future__ import annotations

import argparse
import json
import logging
import mimetypes
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import unquote

from .devstack import ROOT
from .errors import ConfigError

DIST = ROOT / "dashboard" / "dist"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
         ".html": "text/html; charset=utf-8", ".json": "application/json", ".txt": "text/plain; charset=utf-8"}
log = logging.getLogger("cloudtally.webui")


def build(out: Path = DIST, *, api_url: str | None = None, refresh_seconds: int | None = None,
          demo_key: dict | None = None) -> dict:
    """Run the dashboard build (``node dashboard/build.mjs``: bundle, pages, config.json, headers.json)."""
    args = ["node", str(ROOT / "dashboard" / "build.mjs"), "--out", str(out)]
    if api_url:
        args += ["--api-url", api_url]
    if refresh_seconds:
        args += ["--refresh-seconds", str(refresh_seconds)]
    if demo_key:
        args += ["--demo-key-id", demo_key["id"], "--demo-key-secret", demo_key["secret"]]
    try:
        r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=180)
    except FileNotFoundError:
        raise ConfigError("the dashboard build needs Node.js 20+ (`node` on PATH) and `npm ci` in the checkout; "
                          "or pass --no-build with an existing --dist") from None
    if r.returncode != 0:
        raise ConfigError(f"dashboard build failed: {r.stderr.strip() or r.stdout.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def resolve(dist: Path, url_path: str) -> Path | None:
    """The file ``url_path`` names under ``dist`` (a folder → its ``index.html``), None outside or missing."""
    dist = dist.resolve()
    target = (dist / unquote(url_path).lstrip("/")).resolve()
    if target != dist and dist not in target.parents:
        return None
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() and target.name != "headers.json" else None


def static_response(dist: Path, url_path: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body for a GET of ``url_path`` from the built dashboard ``dist``."""
    try:
        headers = dict(json.loads((dist / "headers.json").read_text()))
    except FileNotFoundError:
        headers = {}
    target = resolve(dist, url_path)
    if target is None:
        return 404, {**headers, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}, b"not found\n"
    ctype = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    cache = "public, max-age=31536000, immutable" if "/assets/" in url_path else "no-store"
    return 200, {**headers, "Content-Type": ctype, "Cache-Control": cache}, target.read_bytes()


def make_server(host: str = "127.0.0.1", port: int = 8080, *, dist: Path = DIST, stage: str = "local"):
    """The API and the dashboard ``dist`` on one :class:`chalice.local.LocalDevServer` (port 0: any free one)."""
    from . import devserver
    from .api.routes import prefixes

    if not (dist / "index.html").is_file():
        raise ConfigError(f"no built dashboard in {dist}: run `node dashboard/build.mjs` (or drop --no-build)")
    api_prefixes = tuple(prefixes())
    return devserver.make_server(host, port, stage, static=(dist, api_prefixes))


def start_server(host: str = "0.0.0.0", port: int = 8080, debug: bool = False, *, dist: Path | None = None,
                 build_first: bool = True, demo_key: dict | None = None) -> None:
    """Serve the dashboard and the API on ``host:port`` until interrupted (OpenFinOps' ``start_server``).

    The API reads its settings from the environment as ``cloudtally serve`` does (``CLOUDTALLY_TABLE``,
    ``CLOUDTALLY_DYNAMODB_ENDPOINT``, ...). ``debug`` logs every request."""
    logging.basicConfig(stream=sys.stdout, level=logging.DEBUG if debug else logging.INFO, format="%(message)s")
    dist = Path(dist) if dist else DIST
    if build_first:
        build(dist, demo_key=demo_key)
    server = make_server(host, port, dist=dist)
    log.info("CloudTally dashboard and API on http://%s:%s/ (pages /dashboard/cfo, /dashboard/coo, "
             "/dashboard/infrastructure, /dashboard/llm)", host, server.server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()


def _parser(prog: str = "cloudtally dashboard") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Serve the dashboard and the API on one origin.")
    _arguments(p)
    return p


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    p.add_argument("--dist", type=Path, default=DIST, help="the built dashboard (default dashboard/dist)")
    p.add_argument("--no-build", action="store_true", help="serve --dist as it is")
    p.add_argument("--demo-key-id", help="a read key pre-filled in the pages (local stacks only)")
    p.add_argument("--demo-key-secret")
    p.add_argument("--debug", action="store_true")


def _run(a: argparse.Namespace) -> int:
    if bool(a.demo_key_id) != bool(a.demo_key_secret):
        raise ConfigError("--demo-key-id and --demo-key-secret go together")
    demo = {"id": a.demo_key_id, "secret": a.demo_key_secret} if a.demo_key_id else None
    start_server(a.host, a.port, a.debug, dist=a.dist, build_first=not a.no_build, demo_key=demo)
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("dashboard", help="serve the dashboard and the API on one origin (--port 8080)")
    _arguments(p)
    p.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    """``cloudtally-dashboard`` / ``cloudtally-server``: the same as ``cloudtally dashboard``."""
    from .errors import CloudTallyError
    a = _parser(os.path.basename(sys.argv[0]) or "cloudtally-dashboard").parse_args(argv)
    try:
        return _run(a)
    except CloudTallyError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())

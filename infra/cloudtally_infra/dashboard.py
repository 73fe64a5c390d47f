"""What the CDN takes from the dashboard build and the API: response headers, the page-URL rewrite, and
the path patterns that route the API through the dashboard's own origin.

No CDK here (unit tests import it without synthesizing): :mod:`.stack` turns these into a CloudFront
response-headers policy, a CloudFront Function and the distribution's API behaviors.

The deployed dashboard calls its API on its own origin (``config.json`` ``api_url: ""``; CloudFront sends
``/v1/*`` and ``/api/*`` to the API Gateway stage), so the deploy needs no API URL at build time: the
default build (``node dashboard/build.mjs``, ``connect-src 'self'``) is the one to deploy.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from cloudtally.infra_render import ROOT

REWRITE_JS = Path(__file__).with_name("cf_rewrite.js")   # the viewer-request function's code
BUILD_MJS = ROOT / "dashboard" / "build.mjs"
# what the S3 origin serves (build.mjs writes these): an API prefix must not shadow any of them
DASHBOARD_PATHS = frozenset({"/", "/index.html", "/config.json", "/assets/*", "/dashboard/*"})
_META_CSP = re.compile(r'<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"', re.I)


def build_headers(dist: Path) -> dict[str, str]:
    """The response headers of the dashboard build: ``dist/headers.json``, or when the dashboard is not
    built, the same headers from ``build.mjs`` itself (``--print-headers``, no bundling)."""
    built = dist / "headers.json"
    if built.is_file():
        return json.loads(built.read_text())
    r = subprocess.run(["node", str(BUILD_MJS), "--print-headers"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{BUILD_MJS} --print-headers failed: {r.stderr.strip() or r.stdout.strip()}")
    return json.loads(r.stdout)


def same_origin_csp(csp: str) -> str:
    """``csp`` with ``connect-src`` allowing the site only (``'self'``): the deployed dashboard reaches its
    API on its own origin, so a host the build was given (the local API, usually) is dropped. For the
    default build (no ``--api-url``) this is ``csp`` unchanged.

    >>> same_origin_csp("default-src 'none'; connect-src 'self' http://localhost:8080; object-src 'none'")
    "default-src 'none'; connect-src 'self'; object-src 'none'"
    >>> same_origin_csp("default-src 'none'; connect-src 'self'; frame-ancestors 'none'")
    "default-src 'none'; connect-src 'self'; frame-ancestors 'none'"
    >>> same_origin_csp("default-src 'none'")
    "default-src 'none'; connect-src 'self'"
    """
    directives, found = [], False
    for d in csp.split(";"):
        if not d.strip():
            continue
        name, *sources = d.split()
        if name == "connect-src":
            found = True
            sources = ["'self'"]
        directives.append(" ".join([name, *sources]))
    if not found:   # default-src would otherwise decide, and the build's is 'none'
        directives.append("connect-src 'self'")
    return "; ".join(directives)


def allows_same_origin_fetch(csp: str) -> bool:
    """Whether a page under ``csp`` may ``fetch()`` its own origin (``connect-src``, else ``default-src``).

    >>> allows_same_origin_fetch("default-src 'none'; connect-src 'self' http://localhost:8080")
    True
    >>> allows_same_origin_fetch("default-src 'none'; connect-src https://api.example.com")
    False
    >>> allows_same_origin_fetch("default-src 'none'; script-src 'self'")
    False
    >>> allows_same_origin_fetch("script-src 'self'")
    True
    """
    found: dict[str, list[str]] = {}
    for d in csp.split(";"):
        name, *sources = d.split() or [""]
        if name:
            found.setdefault(name.lower(), [s.lower() for s in sources])
    sources = found.get("connect-src", found.get("default-src"))
    return sources is None or "'self'" in sources or "*" in sources


def meta_csps(dist: Path) -> dict[str, str]:
    """The ``<meta http-equiv="Content-Security-Policy">`` of every page in ``dist``, by path: the browser
    enforces it together with the CDN's header, so it must allow what the header allows."""
    out: dict[str, str] = {}
    for page in sorted(dist.rglob("*.html")):
        m = _META_CSP.search(page.read_text(errors="replace"))
        if m:
            out[page.relative_to(dist).as_posix()] = html.unescape(m.group(1))
    return out


def pages_blocking_same_origin(dist: Path) -> list[str]:
    """The pages of ``dist`` whose ``<meta>`` CSP forbids calling their own origin, where the deployed
    dashboard finds its API. Empty for every ``build.mjs`` build (``connect-src 'self'``, plus the
    ``--api-url`` origin if one was given): only a page edited by hand or by another tool lands here."""
    return [page for page, csp in meta_csps(dist).items() if not allows_same_origin_fetch(csp)]


def api_path_patterns(routes: Iterable[str]) -> list[str]:
    """The CloudFront path patterns that send ``routes`` (the API's paths) to the API: one ``/<prefix>/*``
    per first path segment, or the path itself for a one-segment route.

    >>> api_path_patterns(["/v1/records", "/api/health", "/v1/keys/{key_id}", "/api/v1/agents/register"])
    ['/api/*', '/v1/*']
    >>> api_path_patterns(["/dashboard/cfo"])
    Traceback (most recent call last):
    ...
    ValueError: API route /dashboard/cfo would take /dashboard/* from the dashboard's pages
    """
    patterns: dict[str, str] = {}
    for route in routes:
        segments = route.strip("/").split("/")
        if not segments[0] or "{" in segments[0]:
            raise ValueError(f"API route {route!r} has no literal first segment to route on")
        pattern = f"/{segments[0]}/*" if len(segments) > 1 else f"/{segments[0]}"
        if pattern in DASHBOARD_PATHS or f"/{segments[0]}/*" in DASHBOARD_PATHS:
            raise ValueError(f"API route {route} would take {pattern} from the dashboard's pages")
        patterns.setdefault(pattern, route)
    return sorted(patterns)

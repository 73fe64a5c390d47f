"""What the CDN takes from the dashboard build: its response headers and its page-URL rewrite.

No CDK here (unit tests import it without synthesizing): :mod:`.stack` turns these into a CloudFront
response-headers policy and a CloudFront Function.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cloudtally.infra_render import ROOT

REWRITE_JS = Path(__file__).with_name("cf_rewrite.js")   # the viewer-request function's code
BUILD_MJS = ROOT / "dashboard" / "build.mjs"


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


def connect_origins(csp: str) -> list[str]:
    """The host sources of ``csp``'s ``connect-src`` (the API origins a page may call).

    >>> connect_origins("default-src 'none'; connect-src 'self' http://localhost:8080; object-src 'none'")
    ['http://localhost:8080']
    """
    for d in csp.split(";"):
        name, *sources = d.split() or [""]
        if name == "connect-src":
            return [s for s in sources if not s.startswith("'")]
    return []


def with_api_origin(csp: str, api_origin: str) -> str:
    """``csp`` with ``connect-src`` allowing the site and ``api_origin`` instead of the origin the build
    was given (the local API, usually); keyword sources such as ``'self'`` stay.

    >>> with_api_origin("default-src 'none'; connect-src 'self' http://localhost:8080; object-src 'none'",
    ...                 "https://*.execute-api.eu-west-1.amazonaws.com")
    "default-src 'none'; connect-src 'self' https://*.execute-api.eu-west-1.amazonaws.com; object-src 'none'"
    >>> with_api_origin("default-src 'none'", "https://api.example.com")
    "default-src 'none'; connect-src 'self' https://api.example.com"
    """
    directives, found = [], False
    for d in csp.split(";"):
        if not d.strip():
            continue
        name, *sources = d.split()
        if name == "connect-src":
            found = True
            sources = [s for s in sources if s.startswith("'")] + [api_origin]
        directives.append(" ".join([name, *sources]))
    if not found:   # default-src would otherwise decide, and the build's is 'none'
        directives.append(f"connect-src 'self' {api_origin}")
    return "; ".join(directives)

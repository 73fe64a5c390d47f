"""``chalice local`` for the API, answering every HTTP method like API Gateway (no 501s).

Python's http.server answers methods its handler lacks (TRACE, CONNECT, QUERY, ...) with a 501; API Gateway
answers them with a 4xx. Routing them to the app gives Chalice's 405 in CloudTally's error format.
"""

from __future__ import annotations

import os
import sys

from .devstack import ROOT


def main(argv: list[str] | None = None) -> int:
    from chalice import local
    from chalice.cli import main as chalice_main

    handler = local.ChaliceRequestHandler

    def any_method(self, name: str):
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    handler.__getattr__ = any_method  # type: ignore[attr-defined]
    os.chdir(ROOT / "functions" / "api")
    sys.argv = ["chalice", "local", "--no-autoreload", *(argv if argv is not None else sys.argv[1:])]
    return chalice_main()


if __name__ == "__main__":
    sys.exit(main())

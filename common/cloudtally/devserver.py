"""The local API server: the Chalice app (functions/api/app.py, as deployed) behind a threaded HTTP server.

It is ``chalice local``'s gateway (``chalice.local``: the API Gateway event shape, CORS preflight, binary
types, a thread-local ``app.current_request``) with two changes:

- **a listen backlog of** :data:`BACKLOG` **connections**. ``chalice local`` keeps Python's
  ``socketserver`` default of 5: when more clients connect at once than the accept loop takes (16 agents or
  collectors posting together), the kernel's accept queue overflows and connections are reset. A thread
  serves each accepted connection, as before.
- **every HTTP method reaches the app**, like API Gateway. Python's http.server answers methods its handler
  lacks (TRACE, CONNECT, QUERY, ...) with a 501; routed to the app they get Chalice's 405 in CloudTally's
  error format.

    python -m cloudtally.devserver --host 127.0.0.1 --port 8080 --stage local
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from .devstack import ROOT

PROJECT_DIR = ROOT / "functions" / "api"
# the kernel caps it at net.core.somaxconn (4096 on current Linux); ordinary servers use 128 to 2048
BACKLOG = 1024


def _classes(static: tuple[Any, tuple[str, ...]] | None = None) -> tuple[type, type]:
    """The request handler and server classes (built on first use: importing chalice.local is not free).

    ``static=(dist, api_prefixes)``: GET and HEAD of a path outside the API's prefixes are files of the built
    dashboard ``dist`` (:func:`cloudtally.webui.static_response`): the dashboard and the API on one origin."""
    from chalice import local

    class Handler(local.ChaliceRequestHandler):
        def __getattr__(self, name: str) -> Any:
            # http.server looks up do_<METHOD>; any method it has no handler for goes to the app too
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

        def _get_or_static(self) -> None:
            if static is not None:
                from urllib.parse import urlsplit
                path = urlsplit(self.path).path
                if not any(path == p or path.startswith(p + "/") for p in static[1]):
                    from .webui import static_response
                    status, headers, data = static_response(static[0], path)
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command == "GET":
                        self.wfile.write(data)
                    return
            self._generic_handle()

        do_GET = do_HEAD = _get_or_static

    class Server(local.ThreadedHTTPServer):
        request_queue_size = BACKLOG
        daemon_threads = True       # a client holding a connection open never blocks the shutdown
        block_on_close = False

    return Handler, Server


def make_server(host: str, port: int, stage: str = "local", *, static: tuple[Any, tuple[str, ...]] | None = None):
    """A :class:`chalice.local.LocalDevServer` for the API project, bound to ``host:port`` (port 0: any free one;
    read it back from ``server.server.server_address``). ``serve_forever()`` serves it; ``shutdown()`` from
    another thread stops it."""
    from chalice import local
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.validate import validate_routes

    handler, server = _classes(static)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    config = CLIFactory(str(PROJECT_DIR), environ=os.environ).create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    validate_routes(app.routes)            # what `chalice deploy` would refuse, refused here too
    # as chalice.local.create_local_server does: the app's current_request becomes thread-local
    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)
    app.__class__ = local.CustomLocalChalice
    return local.LocalDevServer(app, config, host, port, handler_cls=handler, server_cls=server)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="cloudtally.devserver", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--stage", default="local", help="the stage in functions/api/.chalice/config.json")
    ap.add_argument("--no-autoreload", action="store_true", help="accepted for `chalice local` compatibility; "
                                                                  "this server never reloads")
    a = ap.parse_args(argv)
    # chalice local's logging: the app's JSON request lines on stdout
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    os.chdir(PROJECT_DIR)
    server = make_server(a.host, a.port, a.stage)
    try:
        server.serve_forever()
    except KeyboardInterrupt:      # Ctrl-C: a normal stop
        return 0
    finally:
        server.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

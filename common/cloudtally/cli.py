"""The ``cloudtally`` command. Subcommands live in their feature modules and register here.

Exit codes come from the error hierarchy (:mod:`cloudtally.errors`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Callable, Sequence

from .errors import CloudTallyError

# modules exposing ``add_commands(subparsers)``; each command sets ``func(args) -> int``
COMMAND_MODULES = ["cloudtally.commands", "cloudtally.collectors.cli", "cloudtally.infra_render",
                   "cloudtally.alerts_cli", "cloudtally.importers.cli", "cloudtally.providers.azure.deploy",
                   "cloudtally.webui"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cloudtally", description="CloudTally: FOCUS cost records, budgets, dashboards")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for m in COMMAND_MODULES:
        importlib.import_module(m).add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return int(func(args) or 0)
    except CloudTallyError as e:
        print(f"error: {e.message}", file=sys.stderr)
        if e.details:
            from .money import dumps
            print(dumps(e.details), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

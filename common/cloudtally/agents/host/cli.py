"""``cloudtally-agent``: the TelemetryFlow-compatible host agent.

    cloudtally-agent --config /etc/cloudtally/agent.yaml            # run until SIGINT / SIGTERM
    cloudtally-agent --config agent.yaml --once                      # collect, heartbeat, send, exit
    cloudtally-agent --config agent.yaml --print-config              # the effective config, secrets as ***

Exit codes: 0 after a clean stop (or ``--once`` with everything acknowledged), 1 when ``--once`` could not
send everything, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from ...errors import CloudTallyError
from . import config as agent_config


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower(),
               "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup_logging(cfg: agent_config.Logging, verbose: bool = False) -> None:
    handler: logging.Handler = logging.FileHandler(cfg.file) if cfg.file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if cfg.format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else getattr(logging, cfg.level.upper()))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cloudtally-agent", description="TelemetryFlow-compatible host agent: "
                                "system info, heartbeat, disk buffer, OTLP/HTTP export")
    p.add_argument("--config", "-c", help=f"YAML config (default {agent_config.DEFAULT_FILE} when it exists); "
                                          "TELEMETRYFLOW_* variables override it")
    p.add_argument("--once", action="store_true", help="collect once, send the heartbeat and the buffer, exit")
    p.add_argument("--print-config", action="store_true", help="print the effective config (secrets redacted)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = args.config or (agent_config.DEFAULT_FILE if Path(agent_config.DEFAULT_FILE).exists() else None)
    try:
        cfg = agent_config.load(path)
        if args.print_config:
            import yaml
            sys.stdout.write(yaml.safe_dump(agent_config.redacted(cfg), sort_keys=False))
            return 0
        setup_logging(cfg.logging, args.verbose)
        from .agent import HostAgent
        agent = HostAgent(cfg)
        return agent.once() if args.once else agent.run()
    except CloudTallyError as e:
        print(f"cloudtally-agent: {e.message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""``cloudtally alerts evaluate`` and ``cloudtally budgets list|create|status|delete``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from .money import dumps, loads


def add_commands(sub: argparse._SubParsersAction) -> None:
    al = sub.add_parser("alerts", help="budget and anomaly alerts")
    asub = al.add_subparsers(dest="alerts_cmd", required=True)
    ev = asub.add_parser("evaluate", help="evaluate budgets and anomalies now and publish alerts to SNS "
                                          "(table and topic from CLOUDTALLY_TABLE / CLOUDTALLY_SNS_TOPIC_ARN)")
    ev.add_argument("--now", help="evaluate as of this UTC time (ISO 8601); default: now")
    ev.add_argument("--no-anomalies", action="store_true", help="budgets only")
    ev.add_argument("--no-budgets", action="store_true", help="anomalies only")
    ev.add_argument("--sns-endpoint", default=None, help="SNS endpoint URL (local stacks)")
    ev.set_defaults(func=_evaluate)

    bu = sub.add_parser("budgets", help="manage budgets through the API (CLOUDTALLY_API_URL and an admin key)")
    bsub = bu.add_subparsers(dest="budgets_cmd", required=True)
    for name, fn, hlp in (("list", _list, "list budgets"), ("status", _status, "status of every budget")):
        p = bsub.add_parser(name, help=hlp)
        p.add_argument("--api-url", default=os.environ.get("CLOUDTALLY_API_URL"))
        p.set_defaults(func=fn)
    c = bsub.add_parser("create", help="create a budget from a JSON file ('-' for stdin)")
    c.add_argument("file")
    c.add_argument("--api-url", default=os.environ.get("CLOUDTALLY_API_URL"))
    c.set_defaults(func=_create)
    d = bsub.add_parser("delete", help="delete a budget")
    d.add_argument("budget_id")
    d.add_argument("--api-url", default=os.environ.get("CLOUDTALLY_API_URL"))
    d.set_defaults(func=_delete)


def _evaluate(args: argparse.Namespace) -> int:
    import boto3

    from .alerts import AlertEvaluator
    from .config import settings
    from .store import Store
    cfg = settings()
    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")) if args.now else None
    sns = boto3.client("sns", region_name=cfg.region, endpoint_url=args.sns_endpoint)
    report = AlertEvaluator(Store(cfg), sns, cfg).run(now, budgets=not args.no_budgets,
                                                      anomalies=not args.no_anomalies)
    print(dumps(report.to_dict(), indent=2))
    return 1 if report.failed else 0


def _client(args: argparse.Namespace):
    from .client import Client
    from .config import ENV_API_KEY_ID, ENV_API_KEY_SECRET
    return Client(args.api_url or "", os.environ.get(ENV_API_KEY_ID, ""), os.environ.get(ENV_API_KEY_SECRET, ""))


def _list(args: argparse.Namespace) -> int:
    print(dumps(_client(args).request("GET", "/v1/budgets")[0], indent=2))
    return 0


def _status(args: argparse.Namespace) -> int:
    res = _client(args).request("GET", "/v1/budgets/status")[0]
    for bid, st in res["budgets"].items():
        if st["status"] == "cannot_evaluate":
            print(f"{bid}  {st['name']}: cannot be evaluated: {st['reason']}")
            continue
        fc = (st.get("forecast") or {}).get("value")
        print(f"{bid}  {st['name']}: {st['spent']} of {st['amount']} {st['currency']} ({st['percentage_used']} %), "
              f"{st['status']}, forecast {fc} for {st['period']['label']}")
    return 0


def _create(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    print(dumps(_client(args).request("POST", "/v1/budgets", body=loads(text))[0], indent=2))
    return 0


def _delete(args: argparse.Namespace) -> int:
    print(json.dumps(_client(args).request("DELETE", f"/v1/budgets/{args.budget_id}")[0]))
    return 0

#!/usr/bin/env python3
"""Regenerate common/cloudtally/catalog/data/aws-<today>.json from the AWS Price List API.

Needs AWS credentials with pricing:GetProducts (the API answers in us-east-1). Maintainers run it and
commit the new file after reviewing the diff; collectors never call the Price List API.

    python scripts/refresh_aws_catalog.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import sys

from cloudtally import catalog
from cloudtally.catalog.refresh import refresh_aws


def main(argv: list[str] | None = None, pricing=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="output path (default: catalog/data/aws-<today>.json)")
    a = p.parse_args(argv)
    if pricing is None:
        import boto3
        pricing = boto3.client("pricing", region_name="us-east-1")
    base = catalog.load("aws")
    doc = refresh_aws(base.doc, pricing)
    out = a.out or str(catalog.DATA / f"aws-{doc['version']}.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

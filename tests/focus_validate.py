"""Run the FinOps Foundation's focus-validator on one FOCUS CSV; print one JSON object.

Runs under the validator's own interpreter (``.venv-focus``, Python 3.12: ``make test`` builds it),
from the folder above ``focus_validator/`` so its relative ``focus_validator/rules/currency_codes.csv``
resolves, with the FOCUS 1.2 rules bundled in the package (no download) and every applicability
criterion declared (``ALL``: every capability FOCUS knows is claimed, so every conditional rule applies).

    .venv-focus/bin/python tests/focus_validate.py export.csv

One change to how the validator *reads* a CSV, none to its rules: its CSV loader infers each
column's type from the values, so an all-digit BillingAccountId (``111122223333``) is read as an
integer and then fails "BillingAccountId MUST be of type String" although a CSV carries no types.
The loader already forces the spec's type on columns it finds all-null; the same mechanism is
applied to every column the FOCUS spec types String. Decimal and date columns are read as the
validator reads them.

Output: ``{"rules": n, "passed", "failed", "skipped", "failures": [{"rule", "violations", "message",
"must_satisfy"}], "effective": [rule ids], "passed_rules": [rule ids]}``. ``effective`` are the failing rules (composites
excluded) whose failure reaches the dataset's verdict: a failing rule under an OR composite that
passed through another branch does not count.
"""

from __future__ import annotations

import json
import logging
import os
import sys


def main(path: str) -> None:
    import focus_validator
    from focus_validator.data_loaders import csv_data_loader
    from focus_validator.validator import Validator

    os.chdir(os.path.dirname(os.path.dirname(focus_validator.__file__)))
    logging.disable(logging.CRITICAL)
    peek = csv_data_loader.CSVDataLoader._peek_for_all_null_columns

    def peek_strings(self, filename_or_buffer, dtype_dict, peek_rows=5000):
        return peek(self, filename_or_buffer, dtype_dict, peek_rows) | {
            c for c, t in dtype_dict.items() if t == "string"}

    csv_data_loader.CSVDataLoader._peek_for_all_null_columns = peek_strings
    v = Validator(data_filename=path, rule_set_path="focus_validator/rules", rules_version="1.2",
                  output_type="console", output_destination=None, column_namespace=None,
                  focus_dataset="CostAndUsage", filter_rules=None, rules_force_remote_download=False,
                  rules_block_remote_download=True, allow_draft_releases=False, allow_prerelease_releases=False,
                  applicability_criteria="ALL")
    stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")   # the console outputter prints every rule
    try:
        res = v.validate()
    finally:
        sys.stdout.close()
        sys.stdout = stdout
    status = {}
    for rid, entry in res.by_rule_id.items():
        d = entry.get("details") or {}
        status[rid] = "skipped" if d.get("skipped") else "passed" if entry.get("ok") else "failed"
    children: dict[str, set[str]] = {}

    def refs(req) -> set[str]:
        if isinstance(req, dict):
            out = {req["ModelRuleId"]} if req.get("CheckFunction") == "CheckModelRule" else set()
            for x in req.get("Items") or []:
                out |= refs(x)
            return out
        return set()

    for rid, rule in res.rules.items():
        req = rule.validation_criteria.requirement
        children[rid] = refs(req if isinstance(req, dict) else getattr(req, "__dict__", {}))
    parents: dict[str, set[str]] = {}
    for p, cs in children.items():
        for c in cs:
            parents.setdefault(c, set()).add(p)
    effective: set[str] = set()

    def reaches(rid: str, seen: frozenset = frozenset()) -> bool:
        if status.get(rid) != "failed" or rid in seen:
            return False
        ps = parents.get(rid) or set()
        return not ps or any(reaches(p, seen | {rid}) for p in ps)

    for rid, st in status.items():
        if st == "failed" and not children.get(rid) and reaches(rid):
            effective.add(rid)
    failures = []
    for rid in sorted(r for r, st in status.items() if st == "failed"):
        d = res.by_rule_id[rid].get("details") or {}
        rule = res.rules.get(rid)
        failures.append({"rule": rid, "violations": d.get("violations"), "message": str(d.get("message") or "")[:300],
                         "must_satisfy": rule.validation_criteria.must_satisfy if rule else None})
    print(json.dumps({"rules": len(status), "passed": sum(s == "passed" for s in status.values()),
                      "failed": sum(s == "failed" for s in status.values()),
                      "skipped": sum(s == "skipped" for s in status.values()),
                      "failures": failures, "effective": sorted(effective),
                      "passed_rules": sorted(r for r, st in status.items() if st == "passed")}))


if __name__ == "__main__":
    main(sys.argv[1])

"""The provider taxonomies (``cloudtally.providers.<provider>.taxonomy``) as polars expressions.

The billing-export mappings run over columns, so they read the same tables the collectors read
record by record: a lookup is a ``replace_strict`` over the (grouped) rows, never a Python call per
row. Each function mirrors the taxonomy function of the same name.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from ..providers.aws import taxonomy as aws
from ..providers.azure import taxonomy as azure
from ..providers.gcp import taxonomy as gcp
from ..providers.oci import taxonomy as oci

SEP = "\x1f"


def lookup(expr: pl.Expr, table: dict[str, str]) -> pl.Expr:
    """``table[expr]``, null where the table has no entry."""
    return expr.replace_strict(table, default=None, return_dtype=pl.String)


def part(expr: pl.Expr, i: int) -> pl.Expr:
    """Field ``i`` of a ``SEP``-joined lookup result."""
    return expr.str.split(SEP).list.get(i, null_on_oob=True)


def other(category: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit("Other ("), category, pl.lit(")")])


# ------------------------------------------------------------------ AWS
def aws_units(unit: pl.Expr) -> pl.Expr:
    """:func:`aws.pricing_unit` over a column."""
    u = unit.replace(aws.UNIT_ALIASES)
    for rx, repl in aws.UNIT_SUFFIXES:
        u = u.str.replace(rx, repl)
    return u


@lru_cache(maxsize=1)
def _aws_tables() -> dict[str, dict[str, str]]:
    return {"code_cat": {k: v[0] for k, v in aws.BY_CODE.items()}, "code_sub": {k: v[1] for k, v in aws.BY_CODE.items()},
            "name_cat": {k: v[0] for k, v in aws.BY_NAME.items()}, "name_sub": {k: v[1] for k, v in aws.BY_NAME.items()},
            "code_by_name": dict(aws._CODE_BY_NAME)}


def aws_service(code: pl.Expr | None, name: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(ServiceCategory, ServiceSubcategory) by product code, else by service name, else Other."""
    t = _aws_tables()
    low = name.str.to_lowercase()
    cat, sub = lookup(low, t["name_cat"]), lookup(low, t["name_sub"])
    if code is not None:
        # the code decides when it is known (both lookups then hit): a code and a name never disagree
        known = code.is_in(list(t["code_cat"]))
        cat = pl.when(known).then(lookup(code, t["code_cat"])).otherwise(cat)
        sub = pl.when(known).then(lookup(code, t["code_sub"])).otherwise(sub)
    cat = pl.coalesce(cat, pl.lit("Other"))
    return cat, pl.coalesce(sub, other(cat))


def aws_region_name(region_id: pl.Expr) -> pl.Expr:
    return lookup(region_id, aws.REGIONS)


def aws_resource_type(resource_id: pl.Expr, code: pl.Expr | None, service_name: pl.Expr) -> pl.Expr:
    """:func:`aws.resource_type` over a column: an ARN's type, an id prefix's, the service's kind."""
    arn_kind = resource_id.str.extract(r"^arn:[^:]+:[^:]+:[^:]*:[^:]*:([^/:]+)[/:]", 1)
    arn_svc = resource_id.str.extract(r"^arn:[^:]+:([^:]+):", 1)
    prefix = resource_id.str.extract(r"^([a-z]+)-[0-9a-zA-Z]+$", 1)
    if code is None:
        code = lookup(service_name.str.to_lowercase(), _aws_tables()["code_by_name"])
    kind = pl.coalesce(arn_kind, pl.when(arn_svc == "s3").then(pl.lit("bucket")).otherwise(arn_svc),
                       lookup(prefix, aws.ID_PREFIXES), lookup(code, aws.SERVICE_RESOURCE), service_name)
    return pl.when(resource_id.is_not_null()).then(kind)


def aws_invoice_issuer(entity: pl.Expr) -> pl.Expr:
    """:func:`aws.invoice_issuer` over a column."""
    own = entity.is_null() | entity.str.starts_with("Amazon ") | entity.str.starts_with("AWS ") | (entity == "AWS")
    return pl.when(own).then(pl.lit(aws.PROVIDER)).otherwise(entity)


# ------------------------------------------------------------------ Azure
@lru_cache(maxsize=1)
def _azure_tables() -> dict[str, dict[str, str]]:
    pairs, names = azure.services()
    by_name = {n: SEP.join(v) for n, v in names.items()}
    for n, cat in azure.METER_CATEGORIES.items():
        by_name.setdefault(n, SEP.join((cat, f"Other ({cat})")))
    return {"pairs": {f"{cs}|{rt}": SEP.join(v) for (cs, rt), v in pairs.items()}, "name": by_name,
            "region_id": {k: v[0] for k, v in azure.regions().items()},
            "region_name": {k: v[1] for k, v in azure.regions().items()},
            "unit": {k: v[0] for k, v in azure.units().items()}, "rtype": azure.resource_type_names()}


def azure_arm_type(resource_id: pl.Expr) -> pl.Expr:
    """:func:`azure.arm_type` over a column."""
    ns = resource_id.str.extract(r"(?i)/providers/([^/]+)/", 1)
    path = resource_id.str.extract(r"(?i)/providers/[^/]+/(.+)$", 1)
    types = path.str.split("/").list.gather_every(2).list.join("/")
    return pl.concat_str([ns, pl.lit("/"), types]).str.to_lowercase()


def azure_service(consumed: pl.Expr, arm_type: pl.Expr, meter_category: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(ServiceName, ServiceCategory, ServiceSubcategory): :func:`azure.service` over columns."""
    t = _azure_tables()
    cs, rt = consumed.str.to_lowercase().fill_null(""), arm_type.fill_null("")
    hit = pl.coalesce(lookup(pl.concat_str([cs, pl.lit("|"), rt]), t["pairs"]),
                      lookup(pl.concat_str([pl.lit("|"), rt]), t["pairs"]),
                      lookup(pl.concat_str([cs, pl.lit("|")]), t["pairs"]))
    name = pl.coalesce(part(hit, 0), meter_category, consumed, pl.lit("Unknown"))
    by_name = lookup(name.str.to_lowercase(), t["name"])
    cat = pl.coalesce(part(hit, 1), part(by_name, 0), pl.lit("Other"))
    sub = pl.coalesce(part(hit, 2), part(by_name, 1), other(cat))
    return name, cat, sub


def azure_by_name(name: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    hit = lookup(name.str.to_lowercase(), _azure_tables()["name"])
    return part(hit, 0), part(hit, 1)


def azure_region(location: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(RegionId, RegionName) of an Azure location column; an unknown location keeps its own spelling."""
    t = _azure_tables()
    low = location.str.to_lowercase()
    bare = low.str.replace_all(" ", "")
    rid = pl.coalesce(lookup(low, t["region_id"]), lookup(bare, t["region_id"]), bare)
    return rid, pl.coalesce(lookup(low, t["region_name"]), lookup(bare, t["region_name"]), location)


def azure_unit(unit_of_measure: pl.Expr) -> pl.Expr:
    return pl.coalesce(lookup(unit_of_measure, _azure_tables()["unit"]), unit_of_measure)


def azure_resource_type(resource_id: pl.Expr, service_name: pl.Expr) -> pl.Expr:
    rt = azure_arm_type(resource_id)
    return pl.when(resource_id.is_not_null()).then(
        pl.coalesce(lookup(rt, _azure_tables()["rtype"]), rt, service_name))


def azure_region_name(region_id: pl.Expr) -> pl.Expr:
    return lookup(region_id.str.to_lowercase(), _azure_tables()["region_name"])


# ------------------------------------------------------------------ Google Cloud, OCI
def gcp_service(name: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    hit = lookup(name.str.to_lowercase(), {k: SEP.join(v) for k, v in gcp.SERVICES.items()})
    cat = pl.coalesce(part(hit, 0), pl.lit("Other"))
    return cat, pl.coalesce(part(hit, 1), other(cat))


def gcp_units(unit: pl.Expr) -> pl.Expr:
    return pl.coalesce(lookup(unit.str.to_lowercase(), gcp.UNITS), unit)


def gcp_region_name(region_id: pl.Expr) -> pl.Expr:
    return lookup(region_id.str.to_lowercase(), gcp.REGIONS)


def oci_service(name: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    hit = lookup(name.str.to_lowercase(), {k: SEP.join(v) for k, v in oci.SERVICES.items()})
    cat = pl.coalesce(part(hit, 0), pl.lit("Other"))
    return cat, pl.coalesce(part(hit, 1), other(cat))


def oci_region_name(region_id: pl.Expr) -> pl.Expr:
    return lookup(region_id.str.to_lowercase(), oci.REGIONS)


# ------------------------------------------------------------------ FOCUS files: each row by its provider
TAXONOMIES = {"AWS": aws, "Microsoft": azure, "Google Cloud": gcp, "Oracle": oci}


def account_types(provider: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(BillingAccountType, SubAccountType) of a provider column (null for a provider with no taxonomy)."""
    ba = {"AWS": aws.BILLING_ACCOUNT_TYPE, "Microsoft": azure.DEFAULT_BILLING_ACCOUNT_TYPE,
          "Google Cloud": gcp.BILLING_ACCOUNT_TYPE, "Oracle": oci.BILLING_ACCOUNT_TYPE}
    sa = {"AWS": aws.SUB_ACCOUNT_TYPE, "Microsoft": azure.SUB_ACCOUNT_TYPE, "Google Cloud": gcp.SUB_ACCOUNT_TYPE,
          "Oracle": oci.SUB_ACCOUNT_TYPE}
    return lookup(provider, ba), lookup(provider, sa)


def by_provider(provider: pl.Expr, branches: dict[str, pl.Expr], default: pl.Expr) -> pl.Expr:
    """``branches[provider]`` row by row, ``default`` for the other providers."""
    out = None
    for p, e in branches.items():
        out = (pl.when(provider == p) if out is None else out.when(provider == p)).then(e)
    return default if out is None else out.otherwise(default)

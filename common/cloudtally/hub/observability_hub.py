"""``ObservabilityHub``'s data-platform queries from the OpenFinOps docs, backed by the CloudTally API::

    hub = ObservabilityHub()                       # the API at CLOUDTALLY_API_URL (key from the env)
    hub.get_costs_by_category("databricks")["all_purpose"]
    hub.get_databricks_job_costs(hours_lookback=24)      # [{"job_id", "cost", ...}]
    hub.get_snowflake_warehouse_costs(hours_lookback=24) # [{"name", "credits", "cost", ...}]
    hub.get_snowflake_storage_metrics()["total_tb"]

Amounts are exact :class:`~decimal.Decimal` (``f"{x:.2f}"`` works as with floats); look-backs cover the
whole UTC days they touch (the records are daily).
"""

from __future__ import annotations

from typing import Any

from ..client import Client, from_env
from ..errors import ValidationError
from ..money import parse_amount

_AMOUNTS = ("cost", "credits", "dbus", "idle_credits", "cloud_services_credits", "total_tb", "stage_tb",
            "monthly_cost", "price_per_tb_month", "database_tb", "failsafe_tb", "current_storage_tb", "total")


def _dec(d: dict[str, Any], keys: tuple[str, ...] = _AMOUNTS) -> dict[str, Any]:
    return {k: (parse_amount(v) if k in keys and isinstance(v, (str, int)) and not isinstance(v, bool) else v)
            for k, v in d.items()}


class ObservabilityHub:
    def __init__(self, client: Client | None = None):
        self.client = client or from_env()

    def get_costs_by_category(self, platform: str = "databricks", *, hours_lookback: int | None = None) -> dict[str, Any]:
        if str(platform).lower() != "databricks":
            raise ValidationError(f"get_costs_by_category({platform!r}): this hub answers 'databricks'",
                                  details=[{"field": "platform", "message": "one of: databricks"}])
        res = self.client.databricks_costs_by_category(hours_lookback=hours_lookback)
        from ..providers.databricks.taxonomy import CATEGORIES
        return _dec(res, tuple(CATEGORIES) + ("total",))

    def get_databricks_job_costs(self, hours_lookback: int = 24) -> list[dict[str, Any]]:
        return [_dec(j) for j in self.client.databricks_job_costs(hours_lookback)["jobs"]]

    def get_snowflake_warehouse_costs(self, hours_lookback: int = 24) -> list[dict[str, Any]]:
        return [_dec(w) for w in self.client.snowflake_warehouse_costs(hours_lookback)["warehouses"]]

    def get_snowflake_storage_metrics(self) -> dict[str, Any]:
        res = _dec(self.client.snowflake_storage_metrics())
        res["databases"] = [_dec(d) for d in res.get("databases", [])]
        return res


__all__ = ["ObservabilityHub"]

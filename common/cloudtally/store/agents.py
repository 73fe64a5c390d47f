"""Registered agents (partition ``A``): OpenFinOps-style agents and host agents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PynamoDBException

from ..focus import UTC
from .base import conditional_failed
from .models import AgentItem


class AgentsMixin:
    def register_agent(self, agent_id: str, info: dict[str, Any], *, now: datetime | None = None) -> AgentItem:
        now = now or datetime.now(UTC)
        item = self.m.AgentItem(pk="A", sk=agent_id, registered_at=now, last_seen=now, **info)
        item.save()
        return item

    def touch_agent(self, agent_id: str, *, now: datetime | None = None) -> None:
        """Mark a registered agent seen (an unregistered one is ignored)."""
        try:
            self.m.AgentItem(pk="A", sk=agent_id).update(
                actions=[self.m.AgentItem.last_seen.set(now or datetime.now(UTC))],
                condition=self.m.AgentItem.pk.exists())
        except PynamoDBException as e:
            if not conditional_failed(e):
                raise

    def list_agents(self) -> list[AgentItem]:
        return list(self.m.AgentItem.query("A"))

"""Resources: everything that talks to the outside world. Imports no capability."""

from __future__ import annotations

from podemos_assets.config import Settings
from podemos_assets.resources.alerts import AlertsResource
from podemos_assets.resources.branches import BranchesResource
from podemos_assets.resources.clock import ClockResource
from podemos_assets.resources.lake import LakeResource
from podemos_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource

__all__ = ["AlertsResource", "LakeResource", "WarehouseResource", "WAREHOUSE_POOL", "build_resources"]


def build_resources(settings: Settings) -> dict[str, object]:
    """The one place where the environment picks the implementation of each resource.

    Capabilities may add their own resource classes in `resources/` and register them here, keyed by
    the parameter name their assets use.
    """
    from podemos_assets.resources.dbt import dbt_resource  # here: importing dagster-dbt costs seconds

    return {
        "lake": LakeResource(url=settings.lake_url),
        "sources": LakeResource(url=settings.sources_url),
        "outbox": LakeResource(url=settings.outbox_url),
        "warehouse": WarehouseResource(url=settings.warehouse_url),
        "alerts": AlertsResource(url=settings.alerts_url),
        "branches": BranchesResource(home=str(settings.home)),
        "dbt": dbt_resource(settings),
        "clock": ClockResource(),  # regulatorio: deadlines ask it for "now" (pinned in tests/demo)
    }

"""Resources: everything that talks to the outside world. Imports no capability."""

from __future__ import annotations

from urllib.parse import urlparse

from podemos_assets.config import ConfigError, Settings
from podemos_assets.resources.alerts import AlertsResource
from podemos_assets.resources.branches import BranchesResource
from podemos_assets.resources.clock import ClockResource
from podemos_assets.resources.lake import LakeResource
from podemos_assets.resources.spark import spark_resource
from podemos_assets.resources.warehouse import WAREHOUSE_POOL, DuckDBWarehouse, RedshiftWarehouse, WarehouseResource

__all__ = ["AlertsResource", "LakeResource", "WarehouseResource", "DuckDBWarehouse", "RedshiftWarehouse",
           "WAREHOUSE_POOL", "build_resources", "build_warehouse"]

# PODEMOS_WAREHOUSE_URL scheme -> the warehouse class that serves it
WAREHOUSES: dict[str, type[WarehouseResource]] = {"duckdb": DuckDBWarehouse, "redshift": RedshiftWarehouse}


def build_warehouse(url: str) -> WarehouseResource:
    """The warehouse of a PODEMOS_WAREHOUSE_URL, picked by its scheme (the message never repeats the URL,
    which may hold a credential)."""
    scheme = urlparse(url).scheme
    if scheme not in WAREHOUSES:
        raise ConfigError(f"PODEMOS_WAREHOUSE_URL: unknown warehouse scheme {scheme!r}: expected "
                          f"{' or '.join(s + '://' for s in WAREHOUSES)}.")
    return WAREHOUSES[scheme].from_url(url)


def build_resources(settings: Settings) -> dict[str, object]:
    """The one place where the environment picks the implementation of each resource.

    Capabilities may add their own resource classes in `resources/` and register them here, keyed by
    the parameter name their assets use.
    """
    from podemos_assets.resources.dbt import dbt_resource  # here: importing dagster-dbt costs seconds

    warehouse = build_warehouse(settings.warehouse_url)  # the one place that looks at the engine
    return {
        "lake": LakeResource(url=settings.lake_url),
        "sources": LakeResource(url=settings.sources_url),
        "outbox": LakeResource(url=settings.outbox_url),
        "warehouse": warehouse,
        "alerts": AlertsResource(url=settings.alerts_url),
        "branches": BranchesResource(home=str(settings.home)),
        "dbt": dbt_resource(settings, warehouse),
        "clock": ClockResource(),  # regulatorio: deadlines ask it for "now" (pinned in tests/demo)
        "spark": spark_resource(settings),  # pagos: the bulk job's launcher (PODEMOS_SPARK_MODE)
    }

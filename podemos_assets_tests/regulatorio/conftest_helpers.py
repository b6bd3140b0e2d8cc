"""Shared helpers of the regulatory tests: land a whole day of sources the way their producers would."""

from __future__ import annotations

from datetime import datetime, timedelta

from podemos_assets.demo import regulatorio as gen
from podemos_assets.regulatorio.extracts import ingest
from podemos_assets.regulatorio.registry import load_sources
from podemos_assets_tests.regulatorio.warehouse_fixture import Warehouse

SCALE = 0.02


def land_files(resources, fecha: str, when: datetime, skip=(), now: datetime | None = None) -> None:
    """Every file and lake source of `fecha` dropped at `when` and ingested (not the warehouse source)."""
    sources, lake = resources["sources"], resources["lake"]
    for name, source in load_sources().items():
        if name in skip or source.format == "warehouse":
            continue
        if source.format == "lake":
            gen.write_lake_sources(lake, fecha, scale=SCALE, only=(name,))
        else:
            gen.write_source(sources, name, fecha, gen.source_bytes(name, fecha, scale=SCALE), when)
        ingest(source, fecha, sources, lake, now=now or when)


def branch_day(wh: Warehouse, fecha: str, n: int = 6) -> list[tuple[str, int]]:
    """n payments of `fecha` at the two test branches, merged; returns their (branch, id)."""
    day = datetime.fromisoformat(fecha)
    wh.seed(fecha)
    ids = [(suc, wh.pay(suc, day + timedelta(hours=8, minutes=37 * i), f"{100 + 17 * i}.{i}3",
                        canal=("VENTANILLA", "CAJA")[i % 2]))
           for i, suc in enumerate(["suc_001", "suc_003"] * (n // 2))]
    wh.merge(fecha)
    return ids

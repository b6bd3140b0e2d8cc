"""One data path to the regulator: the branch payments come from pagos_historicos by fecha_pago (after dedup,
quarantine and tombstones), reconcile with cobranza_diaria_sucursal to the cent, and a late update of an
already reported payment re-delivers its day."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest

from podemos_assets.regulatorio.assets import COBRANZA_CHECK, REPORT_KEY, reporte_regulatorio_diario
from podemos_assets.regulatorio.automation import arrival_requests, delivery_requests
from podemos_assets.regulatorio.extracts import extract_versions, ingest
from podemos_assets.regulatorio.registry import CUTOFF, TZ, at, load_sources
from podemos_assets.regulatorio.report import read_manifest, versions
from podemos_assets.resources.clock import ClockResource
from podemos_assets_tests.instancia import instance_for_test
from podemos_assets_tests.regulatorio.conftest_helpers import branch_day, land_files
from podemos_assets_tests.regulatorio.warehouse_fixture import Warehouse, gid

FECHA = "2026-10-12"
SOURCE = load_sources()["sucursales_pagos"]


def section_totals(outbox, fecha, version) -> dict[str, tuple[int, Decimal]]:
    lines = outbox.read_bytes(f"reporte_regulatorio/{fecha}/v{version}/pagos_recibidos.csv").decode().splitlines()
    out: dict[str, list] = {}
    for line in lines[1:]:
        origen, suc, _, pagos, monto = line.split(",")
        if origen == "sucursales_pagos":
            t = out.setdefault(suc, [0, Decimal("0.00")])
            t[0] += int(pagos)
            t[1] += Decimal(monto)
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_section_equals_pagos_historicos_by_fecha_pago_to_the_cent(resources):
    lake, warehouse = resources["lake"], resources["warehouse"]
    wh = Warehouse(lake, warehouse)
    branch_day(wh, FECHA)
    # 23:30 in Cancun is still the 12th there (06:30 UTC on the 13th): its business day is the branch's date
    wh.pay("suc_003", datetime(2026, 10, 12, 23, 30), "77.77")
    wh.pay("suc_001", datetime(2026, 10, 13, 0, 5), "5.00")  # the next day: not in this report
    wh.merge(FECHA)
    wh.merge("2026-10-13")
    extract = ingest(SOURCE, FECHA, resources["sources"], lake, now=at(FECHA, CUTOFF), warehouse=warehouse)
    with warehouse.connect(read_only=True) as con:
        want = con.execute("SELECT id_pago, monto, sucursal FROM pagos_historicos WHERE fecha_pago = DATE '2026-10-12' "
                           "ORDER BY id_pago").fetchall()
    got = list(zip(*[extract.table[c].to_pylist() for c in ("id", "monto", "sucursal")]))
    assert got == want and len(want) == 7
    assert sum(r[1] for r in got) == sum(v[1] for v in wh.expected(FECHA).values())

    land_files(resources, FECHA, at(FECHA, CUTOFF) - timedelta(hours=4))
    from podemos_assets.regulatorio.report import deliver
    delivery = deliver(FECHA, lake, resources["outbox"], at(FECHA, CUTOFF), warehouse=warehouse)
    assert section_totals(resources["outbox"], FECHA, delivery.version) == wh.expected(FECHA)
    rows = delivery.manifest["conciliacion_cobranza"]
    assert {r["sucursal"] for r in rows} == {"suc_001", "suc_003"} and all(Decimal(r["diferencia"]) == 0 for r in rows)


def test_quarantined_and_deleted_payments_are_not_reported(resources):
    lake, warehouse = resources["lake"], resources["warehouse"]
    wh = Warehouse(lake, warehouse)
    ids = branch_day(wh, FECHA)
    wh.pay("suc_001", datetime(2026, 10, 12, 12), "999.99", loan=99)  # unknown loan: pagos_cuarentena
    wh.merge(FECHA)
    first = ingest(SOURCE, FECHA, resources["sources"], lake, now=at(FECHA, CUTOFF), warehouse=warehouse)
    assert Decimal("999.99") not in first.table["monto"].to_pylist()
    suc, deleted = ids[2]
    wh.delete(suc, deleted, "2026-10-14")  # a hard delete at the branch, seen two days later
    wh.merge("2026-10-14")
    second = ingest(SOURCE, FECHA, resources["sources"], lake, now=at("2026-10-14", CUTOFF), warehouse=warehouse)
    assert gid(deleted, suc) in first.table["id"].to_pylist()
    assert gid(deleted, suc) not in second.table["id"].to_pylist()
    assert (second.control["version"], second.control["leido"]["filas"]) == (2, first.rows - 1)
    assert extract_versions("sucursales_pagos", FECHA, lake) == [1, 2]  # the data behind v1 is kept


def test_update_of_a_reported_payment_redelivers_its_day_through_the_sensors(resources):
    lake, outbox, warehouse, sources = resources["lake"], resources["outbox"], resources["warehouse"], resources["sources"]
    with instance_for_test() as instance:
        wh = Warehouse(lake, warehouse, instance)
        ids = branch_day(wh, FECHA)
        land_files(resources, FECHA, at(FECHA, CUTOFF) - timedelta(hours=4))

        def night(now, cursors):
            requests, cursors["a"] = arrival_requests(now, sources, lake, warehouse, instance, cursors.get("a", {}))
            for r in requests:
                for key in r.asset_selection:
                    ingest(load_sources()[key.path[-1]], r.partition_key, sources, lake, now=now, warehouse=warehouse)
            done, cursors["e"] = delivery_requests(now, lake, outbox, warehouse, instance, cursors.get("e", {}))
            from podemos_assets.regulatorio.report import deliver
            for r in done:
                deliver(r.partition_key, lake, outbox, now, warehouse=warehouse)
            return requests, done

        cursors: dict = {}
        t0 = datetime(2026, 10, 13, 2, 10, tzinfo=TZ)
        requests, done = night(t0, cursors)
        assert [r.asset_selection for r in requests] == [[dg.AssetKey(["regulatorio", "sucursales_pagos"])]]
        # (the open days before it have no source at all: past their cut-off they go out partial, honestly)
        assert FECHA in [r.partition_key for r in done] and versions(FECHA, outbox) == [1]
        assert not read_manifest(FECHA, 1, outbox)["parcial"]
        assert night(t0 + timedelta(minutes=5), cursors) == ([], [])
        assert night(t0 + timedelta(minutes=10), {}) == ([], [])  # a fresh cursor: decided from the lake/outbox

        # three days later the branch corrects an old payment (its updated_at is the 15th, its date the 12th)
        suc, paid = ids[1]
        old = wh.truth[(suc, paid)]
        wh.pay(suc, old["fecha"], "1.01", id=paid, updated_at=datetime(2026, 10, 15, 10), canal=old["canal"])
        wh.merge("2026-10-15")
        requests, done = night(datetime(2026, 10, 16, 3, 40, tzinfo=TZ), cursors)
        assert [(r.partition_key, [k.path[-1] for k in r.asset_selection]) for r in requests] == [
            (FECHA, ["sucursales_pagos"])]
        assert FECHA in [r.partition_key for r in done]
        assert versions(FECHA, outbox) == [1, 2]
        v1, v2 = read_manifest(FECHA, 1, outbox), read_manifest(FECHA, 2, outbox)
        assert section_totals(outbox, FECHA, 2) == wh.expected(FECHA) != section_totals(outbox, FECHA, 1)
        assert v2["fuentes"]["sucursales_pagos"]["version"] == 2 and v1["fuentes"]["sucursales_pagos"]["version"] == 1
        assert v2["version_anterior"]["version"] == 1 and not v2["a_tiempo"]


def test_collections_mismatch_fails_the_blocking_check_and_delivers_nothing(resources):
    lake, outbox, warehouse = resources["lake"], resources["outbox"], resources["warehouse"]
    wh = Warehouse(lake, warehouse)
    branch_day(wh, FECHA)
    land_files(resources, FECHA, at(FECHA, CUTOFF) - timedelta(hours=4))
    ingest(SOURCE, FECHA, resources["sources"], lake, now=at(FECHA, CUTOFF), warehouse=warehouse)
    with warehouse.connect() as con:  # the dbt model disagrees by one cent for one branch
        con.execute("UPDATE cobranza_diaria_sucursal SET monto_neto = monto_neto + 0.01 WHERE sucursal = 'suc_003'")
    with instance_for_test() as instance:
        result = dg.materialize([reporte_regulatorio_diario], partition_key=FECHA, instance=instance,
                                resources={**resources, "clock": ClockResource.at(at(FECHA, CUTOFF))},
                                raise_on_error=False)
        assert not result.success
        key = dg.AssetCheckKey(REPORT_KEY, COBRANZA_CHECK)
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        assert record.status.value == "FAILED"
        evaluation = record.event.asset_check_evaluation
        diffs = evaluation.metadata["diferencias"].value
        assert [(d["sucursal"], d["medida"], d["diferencia"]) for d in diffs] == [("suc_003", "monto", "-0.01")]
        assert evaluation.metadata["por_dia"].value[FECHA]["estado"] == "falla"
        assert instance.get_materialized_partitions(REPORT_KEY) == set()
    assert versions(FECHA, outbox) == []  # nothing delivered


@pytest.mark.parametrize("late_hours", [3])
def test_branch_payments_window_allows_tijuana_extracts_and_the_merge(late_hours):
    """Tijuana's 01:00 extraction is 03:00 Mexico City in winter; the merge runs after it."""
    start, end = SOURCE.window_on("2026-12-01")
    assert end - start >= timedelta(hours=late_hours, minutes=30)


def test_branch_payments_wait_while_a_merge_is_newer_than_its_collections(resources):
    """A merge can change any payment date, and cobranza_diaria_sucursal catches up only at its next dbt build:
    reading sucursales_pagos in between would fail the report's blocking reconciliation. The sensor waits."""
    lake, warehouse, sources = resources["lake"], resources["warehouse"], resources["sources"]
    key = dg.AssetKey(["regulatorio", "sucursales_pagos"])
    now = datetime(2026, 10, 13, 2, 10, tzinfo=TZ)
    with instance_for_test() as instance:
        wh = Warehouse(lake, warehouse, instance)
        branch_day(wh, FECHA)  # merged and summarised, as pagos' automation leaves it
        # the next extraction day's merge has landed; its dbt build has not run yet
        instance.report_runless_asset_event(dg.AssetMaterialization("pagos_historicos", partition="2026-10-13"))
        requests, _ = arrival_requests(now, sources, lake, warehouse, instance, {})
        assert [r.partition_key for r in requests if key in r.asset_selection] == []
        instance.report_runless_asset_event(dg.AssetMaterialization("cobranza_diaria_sucursal", partition="2026-10-13"))
        requests, _ = arrival_requests(now, sources, lake, warehouse, instance, {})
        assert [r.partition_key for r in requests if key in r.asset_selection] == [FECHA]


def test_a_day_is_not_redelivered_until_its_branch_payments_are_re_read(resources):
    """A merge into a day changes cobranza_diaria_sucursal at once, but the day's `sucursales_pagos` extract only
    at the arrival sensor's next tick: delivering the extract read before that merge (new, not yet delivered)
    would fail the blocking reconciliation. The delivery sensor waits for the re-read (seen in the demo)."""
    from podemos_assets.regulatorio.report import deliver

    lake, outbox, warehouse, sources = resources["lake"], resources["outbox"], resources["warehouse"], resources["sources"]
    with instance_for_test() as instance:
        wh = Warehouse(lake, warehouse, instance)
        ids = branch_day(wh, FECHA)
        land_files(resources, FECHA, at(FECHA, CUTOFF) - timedelta(hours=4))
        t0 = datetime(2026, 10, 13, 2, 10, tzinfo=TZ)
        for r in arrival_requests(t0, sources, lake, warehouse, instance, {})[0]:
            for key in r.asset_selection:
                ingest(load_sources()[key.path[-1]], r.partition_key, sources, lake, now=t0, warehouse=warehouse)
        done, cursor = delivery_requests(t0, lake, outbox, warehouse, instance, {})
        for r in done:
            deliver(r.partition_key, lake, outbox, t0, warehouse=warehouse)
        assert versions(FECHA, outbox) == [1]

        def reread(now):
            for r in arrival_requests(now, sources, lake, warehouse, instance, {})[0]:
                for key in r.asset_selection:
                    ingest(load_sources()[key.path[-1]], r.partition_key, sources, lake, now=now, warehouse=warehouse)

        suc, paid = ids[1]
        old = wh.truth[(suc, paid)]
        wh.pay(suc, old["fecha"], "2.02", id=paid, updated_at=datetime(2026, 10, 15, 10), canal=old["canal"])
        wh.merge("2026-10-15")
        reread(datetime(2026, 10, 16, 3, 38, tzinfo=TZ))  # a new extract of FECHA, not yet delivered...
        wh.pay(suc, old["fecha"], "3.03", id=paid, updated_at=datetime(2026, 10, 16, 3, 0), canal=old["canal"])
        wh.merge("2026-10-16")  # ...and another merge changes FECHA again before the delivery sensor's tick
        now = datetime(2026, 10, 16, 3, 40, tzinfo=TZ)
        held, cursor = delivery_requests(now, lake, outbox, warehouse, instance, cursor)
        assert FECHA not in [r.partition_key for r in held]

        reread(now)
        done, _ = delivery_requests(now, lake, outbox, warehouse, instance, cursor)
        assert FECHA in [r.partition_key for r in done]
        for r in done:
            if r.partition_key == FECHA:
                deliver(FECHA, lake, outbox, now, warehouse=warehouse)
        assert versions(FECHA, outbox) == [1, 2]
        assert section_totals(outbox, FECHA, 2) == wh.expected(FECHA)

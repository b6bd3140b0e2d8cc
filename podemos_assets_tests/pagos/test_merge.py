"""Merge semantics of pagos_historicos (DESIGN.md §4): latest wins, duplicates, tombstones, quarantine, zones."""

from __future__ import annotations

from datetime import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from podemos_assets.pagos import layout
from podemos_assets.pagos.extracts import ExtractContractError, read_day
from podemos_assets.pagos.merge import CURRENT_POR_CLIENTE, RETIRADOS, merge_day
from podemos_assets.resources.lake import LakeResource
from podemos_assets_tests.pagos.lake_fixture import (
    ZONES,
    cliente,
    cuenta,
    gid,
    tx,
    write_bajas,
    write_extract,
)


@pytest.fixture
def lake(tmp_path):
    return LakeResource(url=f"file://{tmp_path}/lake")


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def merge(lake, con, fecha):
    inputs, _ = read_day(lake, fecha)
    return merge_day(con, fecha, inputs, ZONES)


def seed_dims(lake, con, suc="suc_001", fecha="2026-11-01", cuentas=(10,), clientes=(5,)):
    write_extract(lake, "cuentas", fecha, suc, [cuenta(c, dt(2026, 11, 1, 0, 5)) for c in cuentas])
    write_extract(lake, "clientes", fecha, suc, [cliente(c, dt(2026, 11, 1, 0, 5)) for c in clientes])


def pagos(con, table="pagos_historicos"):
    return con.execute(f"SELECT id_pago, monto, extraccion FROM {table} ORDER BY id_pago").fetchall()


def projection(con):
    """What the client projection holds (its rows minus the retired ones), as the client report reads it."""
    return con.execute(f"SELECT id_cliente, id_pago, monto FROM ({CURRENT_POR_CLIENTE}) ORDER BY ALL").fetchall()


def published_by_client(con):
    return con.execute("SELECT id_cliente, id_pago, monto FROM pagos_historicos ORDER BY ALL").fetchall()


def test_latest_version_wins_by_source_updated_at(lake, con):
    seed_dims(lake, con)
    write_extract(lake, "transacciones", "2026-11-01", "suc_001", [tx(1, 10, 5, dt(2026, 11, 1, 9), "100.00")])
    merge(lake, con, "2026-11-01")
    # corrected two days later at the branch
    write_extract(lake, "transacciones", "2026-11-03", "suc_001",
                  [tx(1, 10, 5, dt(2026, 11, 1, 9), "150.00", updated_at=dt(2026, 11, 3, 8))])
    merge(lake, con, "2026-11-03")
    assert pagos(con) == [(gid(1, "suc_001"), Decimal("150.00"), "2026-11-03|suc_001")]
    # re-running the older day (settling window) does not bring the old version back
    merge(lake, con, "2026-11-01")
    assert pagos(con) == [(gid(1, "suc_001"), Decimal("150.00"), "2026-11-03|suc_001")]
    assert con.execute("SELECT pagos, monto FROM pagos_diario_sucursal").fetchall() == [(1, Decimal("150.00"))]


def test_tied_updated_at_resolved_by_extraction_order(lake, con):
    seed_dims(lake, con)
    same = dt(2026, 11, 1, 23, 59, 59)
    write_extract(lake, "transacciones", "2026-11-01", "suc_001", [tx(1, 10, 5, dt(2026, 11, 1, 9), "1.00", same)])
    write_extract(lake, "transacciones", "2026-11-02", "suc_001", [tx(1, 10, 5, dt(2026, 11, 1, 9), "2.00", same)])
    merge(lake, con, "2026-11-02")
    merge(lake, con, "2026-11-01")
    assert pagos(con) == [(gid(1, "suc_001"), Decimal("2.00"), "2026-11-02|suc_001")]


def test_redelivered_day_changes_nothing(lake, con):
    seed_dims(lake, con)
    write_extract(lake, "transacciones", "2026-11-01", "suc_001",
                  [tx(i, 10, 5, dt(2026, 11, 1, 9), f"{i}.25") for i in range(1, 6)])
    merge(lake, con, "2026-11-01")
    before = con.execute("SELECT * FROM pagos_historicos ORDER BY id_pago").fetchall()
    stats = merge(lake, con, "2026-11-01")
    assert stats.pagos_new_or_changed == 0 and stats.fechas_recomputed == 0
    assert con.execute("SELECT * FROM pagos_historicos ORDER BY id_pago").fetchall() == before


def test_same_source_id_in_two_branches_are_two_payments(lake, con):
    seed_dims(lake, con, "suc_001")
    seed_dims(lake, con, "suc_002")
    for suc in ("suc_001", "suc_002"):
        write_extract(lake, "transacciones", "2026-11-01", suc, [tx(1, 10, 5, dt(2026, 11, 1, 9), "10.00")])
    merge(lake, con, "2026-11-01")
    assert [r[0] for r in pagos(con)] == [1001, 1002]


def test_tombstone_moves_payment_to_quarantine_and_redelivery_does_not_resurrect(lake, con):
    seed_dims(lake, con)
    write_extract(lake, "transacciones", "2026-11-01", "suc_001",
                  [tx(1, 10, 5, dt(2026, 11, 1, 9), "10.00"), tx(2, 10, 5, dt(2026, 11, 1, 10), "20.00")])
    merge(lake, con, "2026-11-01")
    write_bajas(lake, "transacciones", "suc_001", "2026-11-04", [1])
    merge(lake, con, "2026-11-04")
    assert [r[0] for r in pagos(con)] == [gid(2, "suc_001")]
    assert con.execute("SELECT id_pago, motivo FROM pagos_cuarentena").fetchall() == [(gid(1, "suc_001"),
                                                                                    "baja_en_sucursal")]
    merge(lake, con, "2026-11-01")  # the old extract again
    assert [r[0] for r in pagos(con)] == [gid(2, "suc_001")]
    assert con.execute("SELECT sum(monto) FROM pagos_diario_sucursal").fetchone()[0] == Decimal("20.00")


def test_unknown_loan_waits_in_quarantine_and_leaves_when_the_loan_arrives(lake, con):
    seed_dims(lake, con, cuentas=(10,), clientes=(5,))
    write_extract(lake, "transacciones", "2026-11-01", "suc_001",
                  [tx(1, 11, 5, dt(2026, 11, 1, 9), "10.00"), tx(2, 10, 6, dt(2026, 11, 1, 9), "20.00")])
    stats = merge(lake, con, "2026-11-01")
    assert stats.pagos_quarantined == {"prestamo_desconocido": 1, "cliente_desconocido": 1}
    assert pagos(con) == []
    write_extract(lake, "cuentas", "2026-11-02", "suc_001", [cuenta(11, dt(2026, 11, 2, 7))])
    write_extract(lake, "clientes", "2026-11-02", "suc_001", [cliente(6, dt(2026, 11, 2, 7))])
    stats = merge(lake, con, "2026-11-02")
    assert stats.pagos_released == 2
    assert [r[0] for r in pagos(con)] == [gid(1, "suc_001"), gid(2, "suc_001")]
    assert pagos(con, "pagos_cuarentena") == []
    assert len(projection(con)) == 2 and projection(con) == published_by_client(con)


def test_local_dates_and_utc_instants_per_branch_zone(lake, con):
    # Tijuana, 1 Nov 2026 01:30 happens twice (DST ends at 02:00): the first one (PDT, -7) like the extractor.
    seed_dims(lake, con, "suc_002")
    seed_dims(lake, con, "suc_003")
    write_extract(lake, "transacciones", "2026-11-01", "suc_002", [tx(1, 10, 5, dt(2026, 11, 1, 1, 30), "1.00"),
                                                                   tx(2, 10, 5, dt(2026, 11, 1, 23, 30), "1.00")])
    write_extract(lake, "transacciones", "2026-11-01", "suc_003", [tx(1, 10, 5, dt(2026, 11, 1, 23, 30), "1.00")])
    merge(lake, con, "2026-11-01")
    rows = con.execute("SELECT id_pago, fecha_pago, strftime(fecha_pago_utc, '%Y-%m-%d %H:%M') "
                       "FROM pagos_historicos ORDER BY id_pago").fetchall()
    assert [(r[0], str(r[1]), r[2]) for r in rows] == [
        (1002, "2026-11-01", "2026-11-01 08:30"),  # America/Tijuana, first 01:30 (UTC-7)
        (1003, "2026-11-01", "2026-11-02 04:30"),  # America/Cancun, UTC-5: the local day stays the 1st
        (2002, "2026-11-01", "2026-11-02 07:30"),  # America/Tijuana after the change (UTC-8)
    ]


def test_unknown_branch_is_quarantined_not_lost(lake, con):
    write_extract(lake, "cuentas", "2026-11-01", "suc_001", [cuenta(10, dt(2026, 11, 1, 1))])
    write_extract(lake, "transacciones", "2026-11-01", "suc_001", [tx(1, 10, 5, dt(2026, 11, 1, 9), "1.00")])
    inputs, _ = read_day(lake, "2026-11-01")
    merge_day(con, "2026-11-01", inputs, {"suc_002": "America/Tijuana"})
    assert con.execute("SELECT motivo FROM pagos_cuarentena").fetchall() == [("sucursal_desconocida",)]


def test_extract_missing_a_column_names_file_and_column(lake, con):
    import pyarrow as pa

    key = "raw/sucursales/transacciones/fecha=2026-11-01/sucursal=suc_001/part-0.parquet"
    lake.write_parquet(key, pa.table({"id": [1]}))
    with pytest.raises(ExtractContractError, match=r"sucursal=suc_001/part-0.parquet: column 'cuenta_id' is missing"):
        read_day(lake, "2026-11-01")


def test_tombstone_check_fails_while_a_deleted_payment_is_live(lake, con):
    from podemos_assets.pagos.checks import LIVE_BUT_DELETED

    seed_dims(lake, con)
    write_extract(lake, "transacciones", "2026-11-01", "suc_001", [tx(1, 10, 5, dt(2026, 11, 1, 9), "10.00")])
    merge(lake, con, "2026-11-01")
    write_bajas(lake, "transacciones", "suc_001", "2026-11-04", [1])
    con.execute("INSERT INTO pagos_bajas VALUES ('transacciones', 'suc_001', 1, DATE '2026-11-04')")
    assert con.execute(LIVE_BUT_DELETED).fetchall() == [("suc_001", 1)]  # tombstone known, merge not yet run
    merge(lake, con, "2026-11-04")
    assert con.execute(LIVE_BUT_DELETED).fetchall() == []


def test_stored_versions_are_found_by_id_range_even_when_ids_do_not_follow_the_dates(lake, con):
    """The merge reads stored versions only on days whose id range holds the key: a payment whose date was
    corrected, and one inserted late with an old date (a high id on an old day), must still be found."""
    seed_dims(lake, con)
    for day, ids in ((1, (1, 2)), (5, (3, 4)), (9, (5, 6))):
        write_extract(lake, "transacciones", f"2026-11-{day:02d}", "suc_001",
                      [tx(i, 10, 5, dt(2026, 11, day, 9), "10.00") for i in ids])
        merge(lake, con, f"2026-11-{day:02d}")
    # id 7 arrives late for Nov 1: that day's range becomes 1..7 and covers Nov 5 and 9's ids too
    write_extract(lake, "transacciones", "2026-11-10", "suc_001", [tx(7, 10, 5, dt(2026, 11, 1, 9), "70.00")])
    merge(lake, con, "2026-11-10")
    assert con.execute("SELECT id_origen_min, id_origen_max FROM pagos_diario_sucursal "
                       "WHERE fecha_pago = DATE '2026-11-01'").fetchall() == [(1, 7)]
    # corrections, none of them on Nov 1 any more: 7 (late on Nov 1) and 1 moved to other days; 4 and 6
    # stay on their days, which Nov 1's range covers too
    write_extract(lake, "transacciones", "2026-11-12", "suc_001", [
        tx(7, 10, 5, dt(2026, 11, 5, 9), "71.00", updated_at=dt(2026, 11, 12, 8)),
        tx(1, 10, 5, dt(2026, 11, 9, 9), "11.00", updated_at=dt(2026, 11, 12, 8)),
        tx(4, 10, 5, dt(2026, 11, 5, 9), "14.00", updated_at=dt(2026, 11, 12, 8)),
        tx(6, 10, 5, dt(2026, 11, 9, 9), "16.00", updated_at=dt(2026, 11, 12, 8))])
    stats = merge(lake, con, "2026-11-12")
    assert stats.pagos_new_or_changed == 4
    rows = con.execute("SELECT id_origen, fecha_pago, monto FROM pagos_historicos ORDER BY id_origen").fetchall()
    assert [(i, str(f), str(m)) for i, f, m in rows] == [
        (1, "2026-11-09", "11.00"), (2, "2026-11-01", "10.00"), (3, "2026-11-05", "10.00"),
        (4, "2026-11-05", "14.00"), (5, "2026-11-09", "10.00"), (6, "2026-11-09", "16.00"),
        (7, "2026-11-05", "71.00")]
    assert con.execute(f"SELECT count(*), count(DISTINCT id_pago) FROM ({CURRENT_POR_CLIENTE})").fetchone() == (7, 7)
    assert projection(con) == published_by_client(con)
    rollup = con.execute("SELECT fecha_pago, pagos, monto, id_origen_min, id_origen_max FROM pagos_diario_sucursal "
                         "ORDER BY 1").fetchall()
    assert [(str(f), p, str(m), lo, hi) for f, p, m, lo, hi in rollup] == [
        ("2026-11-01", 1, "10.00", 2, 2), ("2026-11-05", 3, "95.00", 3, 7), ("2026-11-09", 3, "37.00", 1, 6)]


def test_a_warehouse_without_id_ranges_gets_them_filled_before_its_next_merge(lake, con):
    """Upgrading a warehouse built before the rollup carried id ranges: the columns are added and filled from
    pagos_historicos once, and the next merge still finds the stored versions (no payment twice)."""
    seed_dims(lake, con)
    write_extract(lake, "transacciones", "2026-11-01", "suc_001",
                  [tx(1, 10, 5, dt(2026, 11, 1, 9), "10.00"), tx(2, 10, 5, dt(2026, 11, 1, 10), "20.00")])
    merge(lake, con, "2026-11-01")
    # the old rollup: without the two columns
    con.execute("CREATE TABLE viejo AS SELECT fecha_pago, sucursal, status_pago, pagos, monto FROM pagos_diario_sucursal")
    con.execute("DROP TABLE pagos_diario_sucursal")
    con.execute("ALTER TABLE viejo RENAME TO pagos_diario_sucursal")
    write_extract(lake, "transacciones", "2026-11-03", "suc_001",
                  [tx(2, 10, 5, dt(2026, 11, 1, 10), "25.00", updated_at=dt(2026, 11, 3, 8))])
    merge(lake, con, "2026-11-03")
    assert [(r[0], r[1]) for r in pagos(con)] == [(gid(1, "suc_001"), Decimal("10.00")),
                                                  (gid(2, "suc_001"), Decimal("25.00"))]
    assert con.execute("SELECT pagos, monto, id_origen_min, id_origen_max FROM pagos_diario_sucursal").fetchall() == [
        (2, Decimal("35.00"), 1, 2)]


def test_the_client_projection_is_appended_to_and_holds_exactly_the_latest_versions(lake, con):
    """A correction back to earlier values (A -> B -> A), a payment moved to another client and a payment
    deleted at the branch: the merge deletes nothing from the projection, yet it holds what is published;
    compaction applies the retirements and leaves the same rows."""
    seed_dims(lake, con, clientes=(5, 6))
    day1 = [tx(1, 10, 5, dt(2026, 11, 1, 9), "100.00"), tx(2, 10, 5, dt(2026, 11, 1, 9), "20.00"),
            tx(3, 10, 5, dt(2026, 11, 1, 9), "30.00")]
    write_extract(lake, "transacciones", "2026-11-01", "suc_001", day1)
    merge(lake, con, "2026-11-01")
    write_extract(lake, "transacciones", "2026-11-02", "suc_001", [
        tx(1, 10, 5, dt(2026, 11, 1, 9), "150.00", updated_at=dt(2026, 11, 2, 8)),   # A -> B
        tx(2, 10, 6, dt(2026, 11, 1, 9), "20.00", updated_at=dt(2026, 11, 2, 8))])   # client 5 -> 6
    write_bajas(lake, "transacciones", "suc_001", "2026-11-02", [3])                # deleted at the branch
    merge(lake, con, "2026-11-02")
    write_extract(lake, "transacciones", "2026-11-03", "suc_001",
                  [tx(1, 10, 5, dt(2026, 11, 1, 9), "100.00", updated_at=dt(2026, 11, 3, 8))])  # B -> A
    merge(lake, con, "2026-11-03")

    expected = [(gid(5, "suc_001"), gid(1, "suc_001"), Decimal("100.00")),
                (gid(6, "suc_001"), gid(2, "suc_001"), Decimal("20.00"))]
    assert published_by_client(con) == expected
    assert projection(con) == expected
    # appended, not deleted: the 3 first rows and the 3 versions since; one retirement per replaced row (4)
    assert con.execute("SELECT count(*) FROM pagos_por_cliente").fetchone()[0] == 6
    assert con.execute(f"SELECT count(*) FROM {RETIRADOS}").fetchone()[0] == 4
    layout.compact(con, "pagos_por_cliente")
    assert con.execute("SELECT count(*) FROM pagos_por_cliente").fetchone()[0] == 2
    assert con.execute(f"SELECT count(*) FROM {RETIRADOS}").fetchone()[0] == 0
    assert projection(con) == expected


def test_utc_instants_by_minute_equal_the_per_row_conversion_across_every_mexican_offset_change(con):
    """The daily merge converts each distinct (zone, local minute) once and joins it back; the per-row
    conversion (PAGOS_SELECT, what the Spark job and the merge did before) must give the same instant for
    every row, on the days offsets change (DST in and out, ambiguous and skipped local times included)."""
    import random
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    import pyarrow as pa

    from podemos_assets.pagos import merge as m
    from podemos_assets.pagos.extracts import INPUT_SCHEMAS

    zones = ["America/Mexico_City", "America/Tijuana", "America/Cancun", "America/Hermosillo", "America/Chihuahua",
             "America/Ojinaga", "America/Matamoros", "America/Mazatlan", "America/Merida", "America/Monterrey"]
    branches = {f"suc_{i + 1:03d}": z for i, z in enumerate(zones)}
    rng, rows = random.Random(5), []
    for suc, zone in branches.items():
        tz, day = ZoneInfo(zone), dt(2015, 1, 1)
        while day < dt(2027, 1, 1):  # every day whose offset changes: each of its minutes, random seconds
            if dt.combine(day, dt.min.time(), tz).utcoffset() != (day + timedelta(days=1)).replace(tzinfo=tz).utcoffset():
                rows += [(suc, day + timedelta(minutes=k, seconds=rng.randrange(60))) for k in range(0, 1440, 3)]
            day += timedelta(days=1)
        rows += [(suc, dt(2015, 1, 1) + timedelta(seconds=rng.randrange(12 * 365 * 86400))) for _ in range(300)]
    rows.append(("suc_999", dt(2026, 11, 1, 1, 30)))  # a branch without a zone: no instant, either way
    n = len(rows)
    data = {"id": range(n), "cuenta_id": [1] * n, "cliente_id": [1] * n, "monto": [Decimal("1.00")] * n,
            "fecha": [r[1] for r in rows], "canal": ["ventanilla"] * n, "updated_at": [r[1] for r in rows],
            "sucursal": [r[0] for r in rows], "updated_at_utc": [None] * n, "extraccion": ["x"] * n}
    schema = INPUT_SCHEMAS["transacciones"]
    con.register("in_transacciones", pa.table({f.name: data[f.name] for f in schema}, schema=schema))
    m._session(con, branches)
    con.execute(m.MINUTOS)
    per_row = con.execute(f"SELECT id_origen, fecha_pago_utc FROM ({m.PAGOS_SELECT}) ORDER BY 1").fetchall()
    by_minute = con.execute(f"SELECT id_origen, fecha_pago_utc FROM ({m.PAGOS_STAGE}) ORDER BY 1").fetchall()
    assert n > 10_000 and len(by_minute) == n
    assert by_minute == per_row
    assert per_row[-1][1] is None

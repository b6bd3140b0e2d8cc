"""Branch extraction against a real MariaDB: windows, types, faults, late rows, deletes, duplicates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from podemos_assets.contracts.lake import branch_extract, fingerprint, key_index
from podemos_assets.contracts.sucursales import TABLAS
from podemos_assets.resources.branches import BranchUnreachable, MySQLBranchReader
from podemos_assets.resources.lake import LakeResource
from podemos_assets.sucursales import assets as assets_module
from podemos_assets.sucursales.assets import extraccion_sucursales, extract_box
from podemos_assets.sucursales.automation import catch_up_requests, failed_days
from podemos_assets.sucursales.conciliacion import compare_fingerprints, detect_deletes
from podemos_assets.sucursales.extract import read_branch_day, reconcile, validate
from podemos_assets.sucursales.partitions import day_window, range_tags
from podemos_assets_tests.sucursales.mariadb import free_port

pytestmark = pytest.mark.mariadb
DAY = date(2026, 11, 3)


def insert_tx(mariadb, db, rows):
    """rows: (id, updated_at, monto[, fecha]) into transacciones."""
    con = mariadb.connect(db)
    with con.cursor() as cur:
        cur.executemany(
            "INSERT INTO transacciones (id, cuenta_id, cliente_id, fecha, monto, canal, updated_at) "
            "VALUES (%s, 1, 1, %s, %s, 'VENTANILLA', %s)",
            [(r[0], r[3] if len(r) > 3 else r[1], r[2], r[1]) for r in rows],
        )
    con.close()


def ids(table: pa.Table) -> list[int]:
    return sorted(table["id"].to_pylist())


class _Done:
    def __init__(self, outcome):
        self.success = not outcome.failures and not any(outcome.mismatches.values())


def box(lake, branches, day, suc):
    """The asset's logic without Dagster's event bookkeeping (which the offline/stopped tests exercise)."""
    return _Done(extract_box(lake, branches, [f"{day}|{suc}"]))


def run_box(lake, branches, first, last, b0, b1, instance=None):
    return dg.materialize(
        [extraccion_sucursales], instance=instance or dg.DagsterInstance.ephemeral(),
        resources={"lake": lake, "branches": branches}, tags=range_tags(first, last, b0, b1), raise_on_error=False,
    )


def test_tied_timestamps_at_day_boundary_are_never_skipped(mariadb, branch_db, fast_branches):
    db = branch_db()
    insert_tx(mariadb, db, [(1, "2026-11-03 23:59:59", "10.00"), (2, "2026-11-03 23:59:59", "20.00"),
                            (3, "2026-11-04 00:00:00", "30.00"), (4, "2026-11-03 00:00:00", "40.00")])
    reader = fast_branches.reader("suc_001", mariadb.url(db))
    first = reader.extract("transacciones", *day_window(DAY))
    # a row with the same second arrives after the run: the day's re-run (settling) picks it up
    insert_tx(mariadb, db, [(5, "2026-11-03 23:59:59", "50.00")])
    rerun = reader.extract("transacciones", *day_window(DAY))
    nxt = reader.extract("transacciones", *day_window(DAY + timedelta(days=1)))
    assert ids(first) == [1, 2, 4]
    assert ids(rerun) == [1, 2, 4, 5] and ids(nxt) == [3]
    assert set(ids(rerun)).isdisjoint(ids(nxt))


def test_datetime6_bounds_are_half_open_and_keep_microseconds(mariadb, branch_db, fast_branches):
    db = branch_db(fractional=6)
    insert_tx(mariadb, db, [(1, "2026-11-02 23:59:59.999999", "1.00"), (2, "2026-11-03 00:00:00.000000", "2.00"),
                            (3, "2026-11-03 23:59:59.999999", "3.00"), (4, "2026-11-04 00:00:00.000000", "4.00")])
    table = fast_branches.reader("suc_001", mariadb.url(db)).extract("transacciones", *day_window(DAY))
    assert ids(table) == [2, 3]
    assert table.schema.field("updated_at").type == pa.timestamp("us")
    assert table["updated_at"].to_pylist()[1] == datetime(2026, 11, 3, 23, 59, 59, 999999)


def test_money_stays_exact_decimal(mariadb, branch_db, fast_branches):
    db = branch_db()
    insert_tx(mariadb, db, [(1, "2026-11-03 10:00:00", "9999999999999.99"), (2, "2026-11-03 10:00:00", "-0.01")])
    reader = fast_branches.reader("suc_001", mariadb.url(db))
    table = reader.extract("transacciones", *day_window(DAY))
    assert table.schema.field("monto").type == pa.decimal128(15, 2)
    assert table["monto"].to_pylist() == [Decimal("9999999999999.99"), Decimal("-0.01")]
    assert reader.totals("transacciones", *day_window(DAY)) == (2, Decimal("9999999999999.98"))


def test_dst_fall_back_day_in_tijuana_gets_correct_utc(mariadb, branch_db, fast_branches):
    db = branch_db()
    day = date(2026, 11, 1)  # 02:00 PDT -> 01:00 PST: the hour 01:00-02:00 happens twice, the day has 25 h
    insert_tx(mariadb, db, [(1, "2026-11-01 00:30:00", "1.00"), (2, "2026-11-01 01:30:00", "2.00"),
                            (3, "2026-11-01 03:00:00", "3.00"), (4, "2026-11-01 23:59:59", "4.00"),
                            (5, "2026-11-02 00:00:00", "5.00")])
    reader = fast_branches.reader("suc_101", mariadb.url(db))
    got = read_branch_day(reader, "suc_101", "America/Tijuana", day).tables["transacciones"]
    utc = dict(zip(got["id"].to_pylist(), got["updated_at_utc"].to_pylist()))
    assert sorted(utc) == [1, 2, 3, 4]
    assert utc[1].isoformat() == "2026-11-01T07:30:00+00:00"  # PDT, UTC-7
    assert utc[2].isoformat() == "2026-11-01T08:30:00+00:00"  # ambiguous: first occurrence (PDT)
    assert utc[3].isoformat() == "2026-11-01T11:00:00+00:00"  # PST, UTC-8
    assert got["extraccion"].unique().to_pylist() == ["2026-11-01|suc_101"]


def test_malformed_rows_go_to_quarantine_with_reason_and_the_rest_materializes(mariadb, branch_db, fast_branches):
    db = branch_db()
    con = mariadb.connect(db)
    with con.cursor() as cur:
        cur.executemany(
            "INSERT INTO calendario_pagos VALUES (%s, 1, %s, %s, '2026-11-10', %s, '2026-11-03 09:00:00')",
            [(1, 1, "500.00", "PAGADO"), (2, 2, None, "PENDIENTE"), (3, 3, "-500.00", "PENDIENTE"), (4, 4, "500.00", "EXTRAVIADO")],
        )
    con.close()
    reader = fast_branches.reader("suc_001", mariadb.url(db))
    day = read_branch_day(reader, "suc_001", "America/Mexico_City", DAY)
    valid, quarantine = validate("calendario_pagos", day.tables["calendario_pagos"])
    assert ids(valid) == [1] and ids(quarantine) == [2, 3, 4]
    motivos = dict(zip(quarantine["id"].to_pylist(), quarantine["motivo"].to_pylist()))
    assert "monto" in motivos[2] and "not_nullable" in motivos[2]
    assert "monto" in motivos[3] and "greater_than" in motivos[3]
    assert "estatus" in motivos[4] and "EXTRAVIADO" in motivos[4]
    assert reconcile("calendario_pagos", valid, quarantine, day.totals["calendario_pagos"]) is None


def test_connection_cut_mid_stream_is_retried_without_loss_or_duplicates(mariadb, branch_db, fast_branches, proxy):
    db = branch_db()
    insert_tx(mariadb, db, [(i, f"2026-11-03 {i % 24:02d}:{i % 60:02d}:00", f"{i}.25") for i in range(1, 5001)])
    proxy.cut_after = 60_000  # the first connection dies in the middle of the result set
    table = fast_branches.reader("suc_001", mariadb.url(db, port=proxy.port)).extract("transacciones", *day_window(DAY))
    assert proxy.cuts >= 1
    assert ids(table) == list(range(1, 5001))
    assert pc.sum(table["monto"]).as_py() == sum(Decimal(f"{i}.25") for i in range(1, 5001))


def test_unreachable_branch_error_names_branch_host_and_cause_but_not_the_password(fast_branches):
    port = free_port()  # nothing listens there
    reader = fast_branches.reader("suc_042", f"mysql://etl:S3cr3t-pw@127.0.0.1:{port}/suc_042")
    with pytest.raises(BranchUnreachable) as err:
        reader.extract("transacciones", *day_window(DAY))
    text = str(err.value)
    assert "suc_042" in text and f"127.0.0.1:{port}" in text and "after 3 attempt(s)" in text
    assert "S3cr3t-pw" not in text and "podemos backfill --sucursal suc_042" in text


def test_server_stopped_mid_extraction_writes_nothing_then_rerun_is_complete(
        mariadb, branch_db, fast_branches, lake, point_branch):
    db = branch_db()
    insert_tx(mariadb, db, [(i, "2026-11-03 12:00:00", "5.00") for i in range(1, 101)])
    con = mariadb.connect(db)  # a second table with rows: only tables with rows that day are read
    with con.cursor() as cur:
        cur.execute("INSERT INTO grupos VALUES (1, 'Las Abejas', 'suc_001', '2026-01-01 09:00:00', '2026-11-03 09:00:00')")
    con.close()
    point_branch("suc_001", mariadb.url(db))
    calls = {"n": 0}
    original = MySQLBranchReader.extract

    def stop_after_first_table(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            mariadb.stop()
        return original(self, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MySQLBranchReader, "extract", stop_after_first_table)
        result = run_box(lake, fast_branches, DAY, DAY, "suc_001", "suc_001")
    mariadb.start()
    assert not result.success
    message = result.failure_data_for_node("extraccion_sucursales").error.message
    assert "suc_001 is unreachable at 127.0.0.1" in message
    assert not lake.exists(branch_extract("grupos", DAY, "suc_001"))  # nothing half-written
    assert run_box(lake, fast_branches, DAY, DAY, "suc_001", "suc_001").success
    assert ids(lake.read_parquet(branch_extract("transacciones", DAY, "suc_001"))) == list(range(1, 101))


def test_offline_branch_for_three_days_then_catch_up_fills_every_day(
        mariadb, branch_db, fast_branches, lake, point_branch):
    up, flaky = branch_db(), branch_db()
    days = [DAY + timedelta(days=n) for n in range(4)]
    for db in (up, flaky):
        insert_tx(mariadb, db, [(n + 1, f"{d} 10:00:00", "100.00") for n, d in enumerate(days)])
    point_branch("suc_001", mariadb.url(up))
    point_branch("suc_002", mariadb.url(flaky, port=free_port()))  # the link is down: nothing answers there
    instance = dg.DagsterInstance.ephemeral()
    # three nights in one box run: only suc_002's partitions fail
    result = run_box(lake, fast_branches, days[0], days[2], "suc_001", "suc_002", instance)
    assert not result.success
    message = result.failure_data_for_node("extraccion_sucursales").error.message
    assert "3 of 6 branch-day(s) not extracted" in message and "suc_002 is unreachable at 127.0.0.1" in message
    for d in days[:3]:
        assert lake.exists(branch_extract("transacciones", d, "suc_001"))
        assert not lake.exists(branch_extract("transacciones", d, "suc_002"))
    assert failed_days(instance, ["suc_001", "suc_002"], days[0], days[2]) == {"suc_002": days[:3]}
    requests, down, _ = catch_up_requests(instance, fast_branches, ["suc_001", "suc_002"], days[0], days[2])
    assert requests == [] and down == ["suc_002"]
    point_branch("suc_002", mariadb.url(flaky))  # the link is back
    requests, down, _ = catch_up_requests(instance, fast_branches, ["suc_001", "suc_002"], days[0], days[2])
    assert down == [] and len(requests) == 1
    assert requests[0].tags["dagster/asset_partition_range_start"] == f"{days[0]}|suc_002"
    assert requests[0].tags["dagster/asset_partition_range_end"] == f"{days[2]}|suc_002"
    assert run_box(lake, fast_branches, days[0], days[2], "suc_002", "suc_002", instance).success
    assert failed_days(instance, ["suc_001", "suc_002"], days[0], days[2]) == {}
    got = sorted(i for d in days[:3] for i in lake.read_parquet(branch_extract("transacciones", d, "suc_002"))["id"].to_pylist())
    assert got == [1, 2, 3]


def test_a_day_whose_re_extraction_failed_after_a_good_one_is_caught_up(
        mariadb, branch_db, fast_branches, lake, point_branch):
    db = branch_db()
    insert_tx(mariadb, db, [(1, f"{DAY} 10:00:00", "100.00")])
    point_branch("suc_001", mariadb.url(db))
    instance = dg.DagsterInstance.ephemeral()
    assert run_box(lake, fast_branches, DAY, DAY, "suc_001", "suc_001", instance).success
    insert_tx(mariadb, db, [(2, f"{DAY} 11:00:00", "50.00")])  # late row: the day must be extracted again
    point_branch("suc_001", mariadb.url(db, port=free_port()))
    assert not run_box(lake, fast_branches, DAY, DAY, "suc_001", "suc_001", instance).success
    assert failed_days(instance, ["suc_001"], DAY, DAY) == {"suc_001": [DAY]}  # materialized once, failed since
    point_branch("suc_001", mariadb.url(db))
    requests, down, _ = catch_up_requests(instance, fast_branches, ["suc_001"], DAY, DAY)
    assert len(requests) == 1 and down == []
    assert run_box(lake, fast_branches, DAY, DAY, "suc_001", "suc_001", instance).success
    assert ids(lake.read_parquet(branch_extract("transacciones", DAY, "suc_001"))) == [1, 2]


def test_late_commit_of_any_age_is_found_by_the_fingerprint(mariadb, branch_db, fast_branches, lake, point_branch):
    db = branch_db()
    old, other = DAY - timedelta(days=20), DAY - timedelta(days=19)
    insert_tx(mariadb, db, [(1, f"{old} 09:00:00", "10.00"), (3, f"{other} 09:00:00", "7.00")])
    point_branch("suc_001", mariadb.url(db))
    reader = fast_branches.reader("suc_001", mariadb.url(db))
    for d in (old, other):
        assert box(lake, fast_branches, d, "suc_001").success
    assert compare_fingerprints(lake, reader, "suc_001", old, DAY).num_rows == 0
    insert_tx(mariadb, db, [(2, f"{old} 18:00:00", "99.90")])  # committed 20 days late, stamped with its old day
    diff = compare_fingerprints(lake, reader, "suc_001", old, DAY).to_pylist()
    assert [(d["tabla"], d["fecha"], d["filas_fuente"], d["filas_lago"], d["monto_fuente"], d["monto_lago"])
            for d in diff] == [("transacciones", old, 2, 1, "109.90", "10.00")]  # exactly that day, to the cent
    assert box(lake, fast_branches, old, "suc_001").success
    assert ids(lake.read_parquet(branch_extract("transacciones", old, "suc_001"))) == [1, 2]
    assert compare_fingerprints(lake, reader, "suc_001", old, DAY).num_rows == 0


def test_rows_at_the_branch_on_a_day_never_extracted_are_found(mariadb, branch_db, fast_branches, lake, point_branch):
    db = branch_db()
    insert_tx(mariadb, db, [(1, f"{DAY} 09:00:00", "10.00")])
    point_branch("suc_001", mariadb.url(db))
    diff = compare_fingerprints(lake, fast_branches.reader("suc_001", mariadb.url(db)), "suc_001", DAY, DAY)
    assert {(d["tabla"], d["fecha"], d["filas_lago"]) for d in diff.to_pylist()} == {("transacciones", DAY, -1)}


def test_same_rows_delivered_twice_give_identical_files_and_one_row_per_key(
        mariadb, branch_db, fast_branches, lake, point_branch):
    db = branch_db()
    insert_tx(mariadb, db, [(1, "2026-11-03 09:00:00", "10.00"), (2, "2026-11-03 09:00:00", "20.00")])
    point_branch("suc_001", mariadb.url(db))
    assert box(lake, fast_branches, DAY, "suc_001").success
    path = branch_extract("transacciones", DAY, "suc_001")
    first = lake.read_bytes(path)
    assert box(lake, fast_branches, DAY, "suc_001").success
    assert lake.read_bytes(path) == first  # idempotent: same bytes
    # the correspondent re-sends payment 1 the next day: it lands in a second extract, same key
    con = mariadb.connect(db)
    with con.cursor() as cur:
        cur.execute("UPDATE transacciones SET updated_at = '2026-11-04 07:00:00' WHERE id = 1")
    con.close()
    nxt = DAY + timedelta(days=1)
    assert box(lake, fast_branches, nxt, "suc_001").success
    both = pa.concat_tables([lake.read_parquet(path), lake.read_parquet(branch_extract("transacciones", nxt, "suc_001"))])
    assert sorted(both["id"].to_pylist()) == [1, 1, 2]  # the raw lake keeps every delivery for audit
    latest = both.group_by("id").aggregate([("updated_at", "max")])
    assert latest.num_rows == 2  # one version per key for the warehouse (latest updated_at wins)


def test_hard_delete_is_seen_even_after_its_day_was_re_extracted(mariadb, branch_db, fast_branches, lake, point_branch):
    db = branch_db()
    insert_tx(mariadb, db, [(1, "2026-11-03 09:00:00", "10.00"), (2, "2026-11-03 09:00:00", "20.00")])
    point_branch("suc_001", mariadb.url(db))
    assert box(lake, fast_branches, DAY, "suc_001").success
    con = mariadb.connect(db)
    with con.cursor() as cur:
        cur.execute("DELETE FROM transacciones WHERE id = 2")
    con.close()
    # the next night re-extracts the day (settling): its file no longer holds the row ...
    assert box(lake, fast_branches, DAY, "suc_001").success
    assert ids(lake.read_parquet(branch_extract("transacciones", DAY, "suc_001"))) == [1]
    # ... but the key index still does, so the reconciliation sees the delete
    reader = fast_branches.reader("suc_001", mariadb.url(db))
    tomb = detect_deletes(lake, reader, "transacciones", "suc_001", DAY + timedelta(days=2))
    assert tomb.to_pylist() == [{"tabla": "transacciones", "id": 2, "sucursal": "suc_001", "fecha": DAY + timedelta(days=2)}]


@pytest.fixture(scope="module")
def day_of_ties(mariadb):
    """A day with many rows sharing seconds, microseconds at the edges, and rows just outside."""
    mariadb.create_branch("suc_prop", fractional=6)
    stamps = ["2026-11-02 23:59:59.999999", "2026-11-04 00:00:00"] + [
        f"2026-11-03 {h:02d}:{m:02d}:{s:02d}{frac}" for h in (0, 6, 12, 23) for m in (0, 30, 59) for s in (0, 59)
        for frac in ("", ".000001", ".5")]
    con = mariadb.connect("suc_prop")
    with con.cursor() as cur:
        cur.executemany("INSERT INTO transacciones VALUES (%s, 1, 1, %s, '1.00', 'SPEI', %s)",
                        [(i, ts, ts) for i, ts in enumerate(stamps + stamps[2:], start=1)])  # every stamp twice
    con.close()
    return mariadb.url("suc_prop")


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=86_400 * 1_000_000 - 1), max_size=6, unique=True))
def test_any_split_of_a_day_into_runs_yields_exactly_the_rows_of_the_day(day_of_ties, fast_branches, cuts):
    reader = fast_branches.reader("suc_001", day_of_ties)
    start, end = day_window(DAY)
    bounds = [start] + [start + timedelta(microseconds=c) for c in sorted(cuts)] + [end]
    pieces = [reader.extract("transacciones", a, b) for a, b in zip(bounds, bounds[1:])]
    whole = reader.extract("transacciones", start, end)
    got = [i for p in pieces for i in p["id"].to_pylist()]
    assert sorted(got) == ids(whole)  # nothing lost, nothing twice
    assert len(got) == len(set(got)) == whole.num_rows == 2 * (whole.num_rows // 2)


def test_each_branch_day_keeps_its_own_verdicts_beside_the_run_check(
        mariadb, branch_db, fast_branches, lake, point_branch, monkeypatch):
    """A run judges a box of days in one check result; each day's materialization keeps that day's own
    verdict, so a day that did not reconcile stays visible per partition after later runs pass."""
    import podemos_assets.sucursales.assets as assets_module

    db = branch_db()
    days = [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    insert_tx(mariadb, db, [(1, f"{days[0]} 10:00:00", "100.00"), (2, f"{days[1]} 10:00:00", "20.00")])
    point_branch("suc_001", mariadb.url(db))
    read = assets_module.read_branch_day

    def branch_counts_one_more_on_the_second_day(reader, suc, zona, fecha, *args):
        day = read(reader, suc, zona, fecha, *args)
        if fecha == days[1]:  # as if a row committed between the extract and the branch's own count
            count, total = day.totals["transacciones"]
            day.totals["transacciones"] = (count + 1, total)
        return day

    monkeypatch.setattr(assets_module, "read_branch_day", branch_counts_one_more_on_the_second_day)
    instance = dg.DagsterInstance.ephemeral()
    result = run_box(lake, fast_branches, days[0], days[2], "suc_001", "suc_001", instance)
    (check,) = [c for c in result.get_asset_check_evaluations()
                if c.asset_key == dg.AssetKey(["sucursales", "transacciones"]) and c.check_name == "conciliacion"]
    assert not check.passed and "1 difference(s)" in check.description

    def verdicts(fecha):
        (record,) = instance.fetch_materializations(dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(["sucursales", "transacciones"]), asset_partitions=[f"{fecha}|suc_001"]), limit=1).records
        md = record.asset_materialization.metadata
        return md["conciliacion"].value, md["con_pagos"].value

    assert verdicts(days[0]) == ("ok: lake + quarantine equal the branch", True)
    conciliacion, con_pagos = verdicts(days[1])
    assert conciliacion == "DIFERENCIA: transacciones: branch reports 2 rows, extract+quarantine hold 1" and con_pagos
    assert verdicts(days[2]) == ("ok: lake + quarantine equal the branch", False)  # no payments that day


def test_a_day_without_changes_costs_two_queries_and_writes_what_reading_every_table_writes(
        mariadb, branch_db, fast_branches, tmp_path, point_branch, monkeypatch):
    """One query counts the six tables' rows in the window, one re-queries their totals: a table without rows
    is not read, and its files (and the sidecars) are byte for byte what reading it would have written."""
    db = branch_db()
    insert_tx(mariadb, db, [(1, f"{DAY} 09:00:00", "10.00"), (2, f"{DAY} 10:00:00", "-0.50")])
    point_branch("suc_001", mariadb.url(db))
    keys = [f"{DAY}|suc_001", f"{DAY - timedelta(days=1)}|suc_001"]  # a day with payments, a day without anything
    queries = []
    original = MySQLBranchReader._query
    monkeypatch.setattr(MySQLBranchReader, "_query", lambda self, sql, params: queries.append(sql) or original(self, sql, params))

    def lake_files(lake_dir):
        return {p.relative_to(lake_dir): p.read_bytes() for p in sorted(lake_dir.rglob("*")) if p.is_file()}

    out = extract_box(LakeResource(url=f"file://{tmp_path}/skip"), fast_branches, keys)
    assert not out.failures and not any(out.mismatches.values())
    assert len(queries) == 2 + 2 + 1  # quiet day: count + totals; the other: count + transacciones + totals
    monkeypatch.setattr(MySQLBranchReader, "window_counts", lambda self, start, end, tablas=TABLAS: dict.fromkeys(tablas, 1))
    assert not extract_box(LakeResource(url=f"file://{tmp_path}/read"), fast_branches, keys).failures
    skipped, read = lake_files(tmp_path / "skip"), lake_files(tmp_path / "read")
    assert len(skipped) == 2 * (len(TABLAS) + 2) and skipped == read
    assert {Path(fingerprint("suc_001", DAY)), Path(key_index("suc_001", DAY))} <= set(skipped)


def test_window_totals_in_one_query_equal_the_per_table_totals(mariadb, branch_db, fast_branches):
    db = branch_db(fractional=6)
    insert_tx(mariadb, db, [(1, "2026-11-03 00:00:00.000001", "9999999999999.99"), (2, "2026-11-03 23:59:59.999999", "-0.01"),
                            (3, "2026-11-04 00:00:00", "5.00")])
    con = mariadb.connect(db)
    with con.cursor() as cur:
        cur.execute("INSERT INTO calendario_pagos VALUES (1, 1, 1, NULL, '2026-11-10', 'PENDIENTE', '2026-11-03 09:00:00'), "
                    "(2, 1, 2, 750.25, '2026-11-17', 'PAGADO', '2026-11-03 09:00:00')")
        cur.execute("INSERT INTO miembros VALUES (1, 1, '2026-11-03 12:00:00')")
    con.close()
    reader = fast_branches.reader("suc_001", mariadb.url(db))
    window = day_window(DAY)
    assert reader.window_totals(*window) == {t: reader.totals(t, *window) for t in TABLAS}
    assert reader.window_totals(*window)["transacciones"] == (2, Decimal("9999999999999.98"))
    assert reader.window_counts(*window) == {t: reader.totals(t, *window)[0] for t in TABLAS}


def test_a_box_of_many_chunks_isolates_failures_and_reports_every_written_partition(
        mariadb, branch_db, fast_branches, lake, point_branch, monkeypatch):
    """Partitions are read, validated and written in chunks while the earlier ones are reported: an
    unreachable branch in the middle fails only its own partitions, in every chunk."""
    monkeypatch.setattr(assets_module, "CHUNK", 2)
    days = [DAY, DAY + timedelta(days=1)]
    for suc in ("suc_001", "suc_003"):
        db = branch_db()
        insert_tx(mariadb, db, [(1, f"{days[0]} 10:00:00", "100.00")])  # the second day has no payment
        point_branch(suc, mariadb.url(db))
    point_branch("suc_002", mariadb.url(branch_db(), port=free_port()))
    instance = dg.DagsterInstance.ephemeral()
    result = run_box(lake, fast_branches, days[0], days[1], "suc_001", "suc_003", instance)
    assert not result.success
    assert "2 of 6 branch-day(s) not extracted" in result.failure_data_for_node("extraccion_sucursales").error.message
    done = {str(k) for k in instance.get_materialized_partitions(dg.AssetKey(["sucursales", "grupos"]))}
    assert done == {f"{d}|{s}" for d in days for s in ("suc_001", "suc_003")}
    for tabla in TABLAS:
        assert {str(k) for k in instance.get_materialized_partitions(dg.AssetKey(["sucursales", tabla]))} == done
    (frescura,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "frescura"]
    assert frescura.metadata["sin_pagos"].value == f"- {days[1]}|suc_001\n- {days[1]}|suc_003"


def test_an_unexpected_error_while_writing_fails_the_run_and_stops_the_work(
        mariadb, branch_db, fast_branches, lake, point_branch, monkeypatch):
    monkeypatch.setattr(assets_module, "CHUNK", 1)
    for suc in ("suc_001", "suc_002", "suc_003"):
        point_branch(suc, mariadb.url(branch_db()))
    written = []
    original = assets_module._write_partition

    def disk_full_on_the_second(lake, key, day, tables):
        if key.endswith("suc_002"):
            raise OSError(28, "No space left on device")
        written.append(key)
        return original(lake, key, day, tables)

    monkeypatch.setattr(assets_module, "_write_partition", disk_full_on_the_second)
    with pytest.raises(OSError, match="No space left"):
        extract_box(lake, fast_branches, [f"{DAY}|suc_001", f"{DAY}|suc_002", f"{DAY}|suc_003"])
    assert written == [f"{DAY}|suc_001"]  # nothing after the failed chunk was started


def test_a_chunk_is_reported_together_and_a_failed_write_keeps_what_was_written_before_it(
        mariadb, branch_db, fast_branches, lake, point_branch, monkeypatch):
    """A chunk's partitions are handed to the op together (one batch of Dagster events per table); when a
    write fails, the partitions written before it in the chunk are still reported, then the error."""
    monkeypatch.setattr(assets_module, "CHUNK", 3)
    keys = [f"{DAY}|suc_00{n}" for n in range(1, 7)]
    for n in range(1, 7):
        point_branch(f"suc_00{n}", mariadb.url(branch_db()))
    original = assets_module._write_partition

    def disk_full_on_the_fifth(lake, key, day, tables):
        if key.endswith("suc_005"):
            raise OSError(28, "No space left on device")
        return original(lake, key, day, tables)

    monkeypatch.setattr(assets_module, "_write_partition", disk_full_on_the_fifth)
    reported = []
    with pytest.raises(OSError, match="No space left"):
        for written in assets_module.iter_box(lake, fast_branches, keys, assets_module.BoxOutcome()):
            reported.append(sorted({key for _, key, _ in written}))
    assert reported == [keys[:3], keys[3:4]]  # the first chunk at once; of the second, what preceded the failure

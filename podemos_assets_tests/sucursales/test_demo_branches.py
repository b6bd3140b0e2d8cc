"""The demo's branches: realistic, deterministic data, and the demo step's failure-and-catch-up story."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from podemos_assets.demo import branches as demo_branches
from podemos_assets.demo.scenario import Scenario
from podemos_assets.resources.branches import BranchUnreachable, SqliteBranchReader
from podemos_assets.sucursales.extract import read_branch_day
from podemos_assets.sucursales.partitions import day_window

START = date(2026, 11, 20)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_scenario_gives_same_bytes_and_valid_identifiers(settings, tmp_path):
    scenario = Scenario(start=START, days=5, branches=14, clients_per_branch=40)
    summary = demo_branches.generate(scenario, settings)
    first = digest(settings.home / "sucursales")
    demo_branches.generate(scenario, settings)
    assert digest(settings.home / "sucursales") == first
    assert summary["branches"] == 14 and summary["clientes"] == 14 * 40
    con = sqlite3.connect(settings.home / "sucursales" / "suc_001.sqlite")
    for curp, rfc, tel in con.execute("SELECT curp, rfc, telefono FROM clientes"):
        assert len(curp) == 18 and curp[10] == "M" and curp[-1] == demo_branches.curp_check_digit(curp[:17])
        assert len(rfc) == 13 and rfc[:10] == curp[:10] and len(tel) == 10 and tel.isdigit()
    sizes = [n for (n,) in con.execute("SELECT COUNT(*) FROM miembros GROUP BY grupo_id")]
    assert all(10 <= n <= 40 for n in sizes[:-1]) and sum(sizes) == 40
    stamps = [u for (u,) in con.execute("SELECT updated_at FROM transacciones UNION ALL SELECT updated_at FROM cuentas")]
    assert all(str(START) <= u[:10] <= str(scenario.end) for u in stamps)  # every change inside the demo days
    assert all("." not in str(m) or len(str(m).split(".")[1]) == 2 for (m,) in con.execute("SELECT monto FROM transacciones"))


def test_sqlite_reader_returns_exact_types_and_the_demo_link_goes_down_and_up(settings):
    from podemos_assets.demo.world import World

    scenario = Scenario(start=START, days=5, branches=14, clients_per_branch=20)
    demo_branches.generate(scenario, settings)
    folder = settings.home / "sucursales"
    reader = SqliteBranchReader("suc_013", f"sqlite:///{folder}/suc_013.sqlite", attempts=2, base_delay=0, max_delay=0)
    day = read_branch_day(reader, "suc_013", "America/Mexico_City", START)
    tx = day.tables["transacciones"]
    assert str(tx.schema.field("monto").type) == "decimal128(15, 2)" and tx.num_rows == day.totals["transacciones"][0]
    assert sum(tx["monto"].to_pylist(), Decimal(0)) == day.totals["transacciones"][1]
    # The demo's world acts out the planned outage: on a down day the platform finds no branch there.
    down = json.loads((folder / "offline.json").read_text())["sucursales"]["suc_013"]
    world = World(type("Ctx", (), {"settings": settings, "scenario": scenario})())
    assert world._links(date.fromisoformat(down[0])) == ["the link to suc_013 is down"]
    with pytest.raises(BranchUnreachable, match="suc_013 is unreachable"):
        reader.extract("transacciones", *day_window(START))
    late = date.fromisoformat(down[-1]) + timedelta(days=1)
    assert world._links(late) == ["the link to suc_013 is back"]
    assert read_branch_day(reader, "suc_013", "America/Mexico_City", START).tables["transacciones"].equals(tx)


def test_backoff_is_exponential_with_full_jitter_and_capped():
    sleeps = []
    reader = SqliteBranchReader("suc_001", "sqlite:////nonexistent/x.sqlite", attempts=6, base_delay=0.5,
                                max_delay=4.0, sleep=sleeps.append)
    with pytest.raises(BranchUnreachable, match="after 6 attempt"):
        reader.extract("grupos", *day_window(START))
    caps = [0.5, 1.0, 2.0, 4.0, 4.0]
    assert len(sleeps) == 5 and all(0 <= s <= c for s, c in zip(sleeps, caps))
    assert len(set(sleeps)) == 5  # jittered, not a fixed ladder


def test_the_sensor_alone_runs_the_nights_and_catches_up_the_offline_branch(settings, monkeypatch):
    """Only `sucursales_automatizacion`, evaluated at simulated times, decides; nobody requests a run by hand."""
    from podemos_assets.demo.world import World
    from podemos_assets.resources import build_resources
    from podemos_assets.simulation import SimulatedDaemon
    from podemos_assets.sucursales import defs as sucursales_defs
    from podemos_assets.sucursales import partitions
    from podemos_assets.sucursales.automation import failed_days
    from podemos_assets.sucursales.schemas import KEYS

    scenario = Scenario(start=START, days=5, branches=4, clients_per_branch=15, offline_branch="suc_002")
    demo_branches.generate(scenario, settings)
    for suc in list(partitions.BRANCHES)[4:]:  # the company is these four branches (the demo's registry)
        monkeypatch.delitem(partitions.BRANCHES, suc)
    resources = build_resources(settings)
    defs = dg.Definitions.merge(sucursales_defs, dg.Definitions(resources=resources))
    ids = list(partitions.BRANCHES)
    with dg.DagsterInstance.ephemeral() as instance:
        daemon = SimulatedDaemon(defs, instance, resources)
        world = World(type("Ctx", (), {"settings": settings, "scenario": scenario})())
        world._phones = lambda: []  # no phones in this test
        failed_midway = {}
        for day in [*scenario.dates, scenario.end + timedelta(days=1)]:  # the link is back on the last night
            for hour in (0, 1, 2, 3):
                now = datetime.combine(day + timedelta(days=1), time(hour, 5), ZoneInfo("America/Mexico_City"))
                world.advance(now)
                daemon.tick(now)
            failed_midway[day] = failed_days(instance, ids, scenario.start, scenario.end)
        assert all(r.by == "sucursales_automatizacion" for r in daemon.runs)
        # the offline branch's nights failed while its link was down (and only its partitions) ...
        assert any("suc_002" in f for f in failed_midway.values())
        assert all(set(f) <= {"suc_002"} for f in failed_midway.values())
        # ... and once it answered again, the sensor caught every day up: nothing failed or missing
        assert failed_days(instance, ids, scenario.start, scenario.end) == {}
        done = {str(k) for k in instance.get_materialized_partitions(KEYS["transacciones"])}
        assert {f"{d}|{s}" for d in scenario.dates for s in ids} <= done
        # the nights ran once each: a second evaluation at the same time requests nothing
        runs = len(daemon.runs)
        daemon.tick(now + timedelta(minutes=10))
        assert len(daemon.runs) == runs
    lake = settings.home / "lake"
    assert list(lake.glob("cuarentena/sucursales/*/*/*/part-0.parquet"))  # the malformed rows
    assert list(lake.glob("raw/sucursales/_bajas/transacciones/*/*/part-0.parquet")) or not any(
        m["tipo"] == "baja" for m in json.loads((settings.home / "sucursales" / "mutaciones.json").read_text()))

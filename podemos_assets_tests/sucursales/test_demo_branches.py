"""The demo's branches: realistic, deterministic data, and the demo step's failure-and-catch-up story."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from datetime import date
from decimal import Decimal

import dagster as dg
import pytest

from podemos_assets.demo import branches as demo_branches
from podemos_assets.demo.scenario import Scenario
from podemos_assets.resources.branches import BranchUnreachable, SqliteBranchReader, day_window
from podemos_assets.sucursales.extract import read_branch_day

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


def test_sqlite_reader_returns_exact_types_and_honours_the_offline_marker(settings):
    demo_branches.generate(Scenario(start=START, days=5, branches=14, clients_per_branch=20), settings)
    folder = settings.home / "sucursales"
    reader = SqliteBranchReader("suc_013", f"sqlite:///{folder}/suc_013.sqlite", attempts=2, base_delay=0, max_delay=0)
    day = read_branch_day(reader, "suc_013", "America/Mexico_City", START)
    tx = day.tables["transacciones"]
    assert str(tx.schema.field("monto").type) == "decimal128(15, 2)" and tx.num_rows == day.totals["transacciones"][0]
    assert sum(tx["monto"].to_pylist(), Decimal(0)) == day.totals["transacciones"][1]
    marker = json.loads((folder / "offline.json").read_text())
    (folder / "offline.json").write_text(json.dumps({**marker, "hoy": marker["sucursales"]["suc_013"][0]}))
    with pytest.raises(BranchUnreachable, match="suc_013 is unreachable"):
        reader.extract("transacciones", *day_window(START))


def test_backoff_is_exponential_with_full_jitter_and_capped():
    sleeps = []
    reader = SqliteBranchReader("suc_001", "sqlite:////nonexistent/x.sqlite", attempts=6, base_delay=0.5,
                                max_delay=4.0, rng=random.Random(1), sleep=sleeps.append)
    with pytest.raises(BranchUnreachable, match="after 6 attempt"):
        reader.extract("grupos", *day_window(START))
    caps = [0.5, 1.0, 2.0, 4.0, 4.0]
    assert len(sleeps) == 5 and all(0 <= s <= c for s, c in zip(sleeps, caps))
    assert len(set(sleeps)) == 5  # jittered, not a fixed ladder


def test_demo_step_extracts_every_day_and_catches_up_the_offline_branch(settings, tmp_path, capsys, monkeypatch):
    from podemos_assets.definitions import build_definitions
    from podemos_assets.demo import steps_sucursales
    from podemos_assets.demo.run import DemoContext
    from podemos_assets.sucursales import partitions
    from podemos_assets.sucursales.automation import missing_days

    scenario = Scenario(start=START, days=5, branches=4, clients_per_branch=15, offline_branch="suc_002")
    demo_branches.generate(scenario, settings)
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        steps_sucursales.run(DemoContext(settings, scenario, instance, defs))
        out = capsys.readouterr().out
        ids = list(partitions.BRANCHES)[:4]
        assert missing_days(instance, ids, scenario.start, scenario.end) == {}
    assert "suc_002 is unreachable" in out and "catch-up: 1 branch(es) answer again" in out
    assert "branch-days not extracted: 0" in out
    lake = settings.home / "lake"
    assert len(list(lake.glob("raw/sucursales/transacciones/*/*/part-0.parquet"))) == 4 * 5
    assert list(lake.glob("cuarentena/sucursales/*/*/*/part-0.parquet"))  # the malformed rows

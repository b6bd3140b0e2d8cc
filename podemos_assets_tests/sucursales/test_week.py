"""A week run only by the automation: at the end the warehouse is what the branches say, to the cent.

Four branches, two of them on a real MariaDB (one of those behind a link that is down for three nights),
seven days plus the night the link comes back. Planted at the other MariaDB branch (one whose loans are all
valid, so its payments are published rather than held behind a generator-planted malformed loan): a payment committed six
days late with its old updated_at, a hard delete, a payment delivered again, and an update of a payment
whose day was already reported. The driver (week_driver.py, its own process) ticks the simulated daemon every
few minutes through each night; nothing else requests a run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from decimal import Decimal

import dagster as dg
import duckdb
import pytest

from podemos_assets.config import REPO_ROOT, load_settings
from podemos_assets.demo.generate import generate
from podemos_assets.demo.scenario import Scenario, default_start
from podemos_assets.regulatorio.report import versions
from podemos_assets.resources import LakeResource
from podemos_assets.resources.branches import BRANCH_TABLES
from podemos_assets.sucursales.registry import COLUMNS, load_registry
from podemos_assets_tests.sucursales.mariadb import free_port
from podemos_assets_tests.ui.tiny_demo import isolated_env, podemos

# 192 simulated ticks take 10.5 minutes on the 2-core machine (2026-12-04): beyond `make test`'s 15-minute budget,
# so opt-in: `make test-week` (PODEMOS_WEEK_TEST=1). Passed on 2026-12-04; its figures are in that day's note.
pytestmark = [pytest.mark.mariadb, pytest.mark.slow,
              pytest.mark.skipif(not os.environ.get("PODEMOS_WEEK_TEST"), reason="opt-in: PODEMOS_WEEK_TEST=1")]
OFFLINE = "suc_002"  # on MariaDB, the link down for three nights
VALID_LOAN_STATUS = ("ACTIVA", "CERRADA", "CASTIGADA")


def _copy_to_mariadb(mariadb, sqlite_path, db: str) -> None:
    mariadb.create_branch(db)
    src = sqlite3.connect(sqlite_path)
    con = mariadb.connect(db)
    with con.cursor() as cur:
        for tabla, cols in BRANCH_TABLES.items():
            rows = src.execute(f"SELECT {', '.join(cols)} FROM {tabla}").fetchall()
            cur.executemany(f"INSERT INTO {tabla} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})", rows)
    con.close()
    src.close()


def _source_payments(url_db, mariadb, home) -> dict[int, Decimal]:
    """id -> monto of the live source rows of one branch."""
    if url_db.startswith("sqlite"):
        con = sqlite3.connect(home / "sucursales" / url_db.rsplit("/", 1)[-1])
        rows = con.execute("SELECT id, monto FROM transacciones").fetchall()
        con.close()
        return {i: Decimal(m) for i, m in rows}
    con = mariadb.connect(url_db.rsplit("/", 1)[-1])
    with con.cursor() as cur:
        cur.execute("SELECT id, monto FROM transacciones")
        rows = cur.fetchall()
    con.close()
    return {i: Decimal(m) for i, m in rows}


def _branch_section(outbox, fecha: str, version: int) -> dict[str, tuple[int, Decimal]]:
    """sucursal -> (payments, amount) of the branch rows of a delivered report's `pagos_recibidos`."""
    text = outbox.read_bytes(f"reporte_regulatorio/{fecha}/v{version}/pagos_recibidos.csv").decode()
    out: dict[str, tuple[int, Decimal]] = {}
    for line in [row for row in text.splitlines() if not row.startswith("#")][1:]:  # a marked section, the header
        origen, suc, _, pagos, monto = line.split(",")
        if origen == "sucursales_pagos":
            n, m = out.get(suc, (0, Decimal("0.00")))
            out[suc] = (n + int(pagos), m + Decimal(monto))
    return out


def _healthy_branch(home, branches) -> str:
    """A branch whose loans are all valid, for the planted payments: the generator plants a malformed loan in
    some branches (quarantined, with every payment of it as prestamo_desconocido), which would hide them."""
    for b in branches:
        con = sqlite3.connect(home / "sucursales" / f"{b.id}.sqlite")
        statuses = {r[0] for r in con.execute("SELECT estatus FROM cuentas")}
        con.close()
        if b.id != OFFLINE and statuses and statuses <= set(VALID_LOAN_STATUS):
            return b.id
    raise AssertionError("the generated scenario has no branch with only valid loans to plant in")


def _plant(mariadb, db: str, branch: str, days) -> tuple[list[dict], dict]:
    """The week's trouble at a MariaDB branch, as mutations the world applies on their day."""
    con = mariadb.connect(db)
    with con.cursor() as cur:
        cur.execute("SELECT t.id, t.cuenta_id, t.cliente_id, DATE(t.fecha) FROM transacciones t ORDER BY t.id")
        tx = cur.fetchall()
        assert tx, f"{db}: the generated branch has no payments"
        cur.execute("SELECT MAX(id) FROM transacciones")
        next_id = cur.fetchone()[0] + 1000
    con.close()
    early = [t for t in tx if t[3] in (days[0], days[1])] or tx  # payments whose day is reported early in the week
    deleted, redelivered, updated = early[0], early[len(early) // 2], early[-1]
    late_ts = f"{days[0]} 15:00:00"
    mutations = [
        {"dia": str(days[6]), "sucursal": branch, "tipo": "tardia",
         "sql": "INSERT INTO transacciones VALUES (?,?,?,?,?,?,?)",
         "params": [next_id, deleted[1], deleted[2], late_ts, "321.45", "VENTANILLA", late_ts],
         "nota": f"payment {next_id} committed six days late with updated_at {late_ts}"},
        {"dia": str(days[3]), "sucursal": branch, "tipo": "baja",
         "sql": "DELETE FROM transacciones WHERE id = ?", "params": [deleted[0]], "nota": f"payment {deleted[0]} deleted"},
        {"dia": str(days[4]), "sucursal": branch, "tipo": "duplicada",
         "sql": "UPDATE transacciones SET updated_at = ? WHERE id = ?", "params": [f"{days[4]} 08:00:00", redelivered[0]],
         "nota": f"payment {redelivered[0]} delivered again"},
        {"dia": str(days[5]), "sucursal": branch, "tipo": "actualizada",
         "sql": "UPDATE transacciones SET monto = monto + 10.01, updated_at = ? WHERE id = ?",
         "params": [f"{days[5]} 10:00:00", updated[0]],
         "nota": f"payment {updated[0]} of {updated[3]} corrected after its day was reported"},
    ]
    return mutations, {"late": next_id, "deleted": deleted[0], "redelivered": redelivered[0], "updated": updated[0],
                       "updated_day": str(updated[3])}


def test_a_week_run_only_by_the_automation_matches_the_branches_to_the_cent(mariadb, tmp_path):
    home = tmp_path / "podemos"
    env = isolated_env(home)
    podemos(env, "instance-setup")
    settings = load_settings({"PODEMOS_HOME": str(home)})
    scenario = Scenario(start=default_start(7), days=7, branches=4, clients_per_branch=15, offline_branch=OFFLINE)
    generate(scenario, settings)

    link_port = free_port()
    registry = home / "sucursales" / "sucursales.csv"
    branches = list(load_registry(registry))
    planted_at = _healthy_branch(home, branches)
    mysql_branches = (planted_at, OFFLINE)  # two branches on the real MariaDB server, the others SQLite
    urls = {}
    for b in branches:
        if b.id in mysql_branches:
            db = f"semana_{b.id}"
            _copy_to_mariadb(mariadb, home / "sucursales" / f"{b.id}.sqlite", db)
            urls[b.id] = mariadb.url(db, port=link_port if b.id == OFFLINE else None)
        else:
            urls[b.id] = b.url
    with registry.open("w") as f:
        f.write(",".join(COLUMNS) + "\n")
        for b in branches:
            f.write(",".join([b.id, b.nombre, b.estado, b.zona_horaria, urls[b.id], ""]) + "\n")
    mutations_file = home / "sucursales" / "mutaciones.json"
    mutations, planted = _plant(mariadb, f"semana_{planted_at}", planted_at, scenario.dates)
    mutations_file.write_text(json.dumps(json.loads(mutations_file.read_text()) + mutations, indent=1))

    out = tmp_path / "week.json"
    proc = subprocess.run(
        [sys.executable, "-m", "podemos_assets_tests.sucursales.week_driver", "--out", str(out), "--offline-branch", OFFLINE,
         "--mariadb-port", str(mariadb.port), "--link-port", str(link_port), "--step", "20"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=2700)
    assert proc.returncode == 0, proc.stderr[-6000:]
    week = json.loads(out.read_text())

    # Nothing ran that the automation did not request.
    assert len(week["instance_runs"]) == len(week["runs"]) > 0
    assert all("dagster/sensor_name" in r["tags"] or "dagster/schedule_name" in r["tags"] for r in week["instance_runs"])
    failed = [r for r in week["runs"] if not r["success"]]
    assert failed and all(OFFLINE in r["error"] or "planted" in r["error"].lower() or r["by"] != "sucursales_automatizacion"
                          for r in failed), failed

    # The warehouse is what the branches hold now, payment by payment, to the cent.
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        hist = con.execute("SELECT sucursal, id_origen, monto FROM pagos_historicos").fetchall()
        held = con.execute("SELECT sucursal, id_origen, monto, motivo FROM pagos_cuarentena").fetchall()
        bajas = con.execute("SELECT sucursal, id_origen FROM pagos_bajas WHERE tabla = 'transacciones'").fetchall()
        dups = con.execute("SELECT count(*) - count(DISTINCT id_pago) FROM pagos_historicos").fetchone()[0]
        by_day = dict(con.execute("SELECT CAST(fecha_pago AS VARCHAR), sum(monto) FROM pagos_historicos GROUP BY 1").fetchall())
        per_branch_day = con.execute("SELECT CAST(fecha_pago AS VARCHAR), sucursal, count(*), sum(monto) "
                                     "FROM pagos_historicos GROUP BY ALL").fetchall()
        cobranza = dict(con.execute(
            "SELECT CAST(fecha_pago AS VARCHAR), sum(monto_neto) FROM cobranza_diaria_sucursal GROUP BY 1").fetchall())
    assert dups == 0
    for b in branches:
        source = _source_payments(urls[b.id], mariadb, home)
        published = {i: m for s, i, m in hist if s == b.id}
        waiting = {i: m for s, i, m, motivo in held if s == b.id and motivo != "baja_en_sucursal"}
        assert {**published, **waiting} == source, f"{b.id}: warehouse differs from the branch"
        assert not set(published) & set(waiting)
        assert sum(published.values(), Decimal(0)) == sum(source[i] for i in published)
    published_at = {i for s, i, _ in hist if s == planted_at}
    assert (planted_at, planted["deleted"]) in bajas and planted["deleted"] not in published_at
    assert (planted_at, planted["deleted"]) in {(s, i) for s, i, _, m in held if m == "baja_en_sucursal"}
    assert planted["late"] in published_at and planted["redelivered"] in published_at
    # The dbt report of daily collections agrees with the warehouse for every day, to the cent.
    for day, total in by_day.items():
        assert cobranza.get(day) == total, f"{day}: cobranza_diaria_sucursal {cobranza.get(day)} != {total}"
    # The regulator's latest version of every day reports what the warehouse holds for that payment date, per
    # branch (a later change re-delivered the day), to the cent.
    outbox = LakeResource(url=settings.outbox_url)
    delivered = {}
    for day in map(str, scenario.dates):
        assert versions(day, outbox), f"{day}: no report delivered"
        delivered[day] = versions(day, outbox)[-1]
        section = _branch_section(outbox, day, delivered[day])
        expected = {s: (n, m) for d, s, n, m in per_branch_day if d == day}
        assert section == expected, f"{day} v{delivered[day]}: the report's branch payments differ from pagos_historicos"

    by = Counter(r["by"] for r in week["runs"])
    settled = [r for r in week["runs"] if r["by"] == "sucursales_automatizacion" and r["success"]
               and "sucursales/transacciones" in r["assets"]]
    print(f"\nweek: {week['ticks']} ticks in {week['seconds']} s; runs {dict(by)}; failed {len(failed)}; "
          f"extraction runs {len(settled)}; report versions {delivered}; planted {planted}")
    for name, values in sorted(week["tick_seconds"].items()):
        print(f"  {name}: {len(values)} evaluations, mean {sum(values) / len(values):.2f} s, max {max(values):.2f} s")
    with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        assert instance.get_runs_count() == len(week["runs"])

"""End to end: branch extracts -> pagos_merge -> dbt reports; every number equals a direct computation
from the generated branch rows, to the cent. Also: the dbt tests and layout checks ran and passed."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import duckdb
import pytest

from podemos_assets.pagos import defs as pagos_defs
from podemos_assets_tests.pagos.lake_fixture import cliente, cuenta, cuota, gid, tx, write_bajas, write_extract

BRANCHES = ("suc_001", "suc_170")  # America/Mexico_City and America/Cancun in the registry
DAYS = [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)]
CENT = Decimal("0.01")


def generate(lake, seed=7) -> dict:
    """Branch rows for three days, with updates, a deletion and an unknown loan; returns what was written."""
    rnd = random.Random(seed)
    truth = {"tx": {}, "cuentas": {}, "cuotas": {}, "bajas": set()}
    for suc in BRANCHES:
        d0 = datetime.combine(DAYS[0], datetime.min.time())
        loans = list(range(1, 9))
        cuentas = [cuenta(c, d0 + timedelta(minutes=c), saldo=f"{rnd.randint(500, 9000)}.{rnd.randint(0, 99):02d}",
                          estatus="CERRADA" if c == 8 else "ACTIVA") for c in loans]
        write_extract(lake, "cuentas", DAYS[0].isoformat(), suc, cuentas)
        write_extract(lake, "clientes", DAYS[0].isoformat(), suc, [cliente(k, d0) for k in range(1, 21)])
        cuotas = []
        for c in loans:
            first_due = DAYS[0] - timedelta(days=rnd.choice([3, 20, 45, 75, 100, 130]))
            for n in range(1, 6):
                due = first_due + timedelta(days=7 * (n - 1))
                cuotas.append(cuota(c * 100 + n, c, n, due, d0, estatus=rnd.choice(["PAGADO", "PENDIENTE", "ATRASADO"])))
        write_extract(lake, "calendario_pagos", DAYS[0].isoformat(), suc, cuotas)
        truth["cuentas"].update({(suc, r["id"]): r for r in cuentas})
        truth["cuotas"].update({(suc, r["id"]): r for r in cuotas})
        next_id = 1
        for day in DAYS:
            base = datetime.combine(day, datetime.min.time())
            rows = []
            for _ in range(rnd.randint(15, 25)):
                when = base + timedelta(minutes=rnd.randint(0, 24 * 60 - 1))
                monto = Decimal(rnd.randint(-2000, 90000)) / 100
                rows.append(tx(next_id, rnd.choice(loans + [99]), rnd.randint(1, 20), when, str(monto)))
                next_id += 1
            if day != DAYS[0]:  # an update of a payment of the day before (corrected amount)
                old = dict(truth["tx"][(suc, next_id - len(rows) - 3)])
                old.update(monto=old["monto"] + Decimal("1.11"), updated_at=base + timedelta(hours=1))
                rows.append(old)
            write_extract(lake, "transacciones", day.isoformat(), suc, rows)
            truth["tx"].update({(suc, r["id"]): r for r in rows})
        write_bajas(lake, "transacciones", suc, DAYS[2].isoformat(), [2])
        truth["bajas"].add((suc, 2))
    return truth


def published(truth) -> list[tuple]:
    return [(suc, r) for (suc, i), r in truth["tx"].items()
            if (suc, i) not in truth["bajas"] and (suc, r["cuenta_id"]) in truth["cuentas"]]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from podemos_assets.config import load_settings
    from podemos_assets.resources import build_resources

    settings = load_settings({"PODEMOS_HOME": str(tmp_path_factory.mktemp("podemos"))})
    resources = build_resources(settings)
    truth = generate(resources["lake"])
    assets = [*pagos_defs.assets, *pagos_defs.asset_checks]
    result = dg.materialize(
        assets, resources=resources, selection=dg.AssetSelection.all(),
        tags={"dagster/asset_partition_range_start": DAYS[0].isoformat(),
              "dagster/asset_partition_range_end": DAYS[-1].isoformat()},
    )
    assert result.success
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield truth, con, result
    con.close()


def test_daily_collections_match_branch_rows_to_the_cent(built):
    truth, con, _ = built
    want = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for suc, r in published(truth):
        w = want[(r["fecha"].date(), suc)]
        w[0] += r["monto"] >= 0
        w[1 if r["monto"] >= 0 else 2] += r["monto"]
    got = {(f, s): [n, c, rv] for f, s, n, c, rv in con.execute(
        "SELECT fecha_pago, sucursal, pagos_aplicados, monto_cobrado, monto_reversado FROM cobranza_diaria_sucursal"
    ).fetchall()}
    assert got == {k: [v[0], v[1].quantize(CENT), v[2].quantize(CENT)] for k, v in want.items()}


def test_monthly_summary_matches_branch_rows(built):
    truth, con, _ = built
    want = defaultdict(lambda: [0, Decimal(0)])
    for suc, r in published(truth):
        w = want[(r["fecha"].date().replace(day=1), suc, "REVERSO" if r["monto"] < 0 else "APLICADO")]
        w[0] += 1
        w[1] += r["monto"]
    got = {(m, s, st): [n, monto] for m, s, st, n, monto in con.execute(
        "SELECT mes, sucursal, status_pago, pagos, monto FROM resumen_mensual_sucursal").fetchall()}
    assert got == {k: [v[0], v[1].quantize(CENT)] for k, v in want.items()}


def test_portfolio_at_risk_buckets_match_the_instalment_calendar(built):
    truth, con, _ = built
    want = {}
    for corte in DAYS:
        for (suc, c), loan in truth["cuentas"].items():
            if loan["estatus"] != "ACTIVA":
                continue
            row = want.setdefault((corte, suc), [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
            row[0] += 1
            row[1] += loan["saldo"]
            unpaid = [q["fecha_pago"] for (s, _), q in truth["cuotas"].items()
                      if s == suc and q["cuenta_id"] == c and q["estatus"] != "PAGADO" and q["fecha_pago"] < corte]
            if unpaid:
                days = (corte - min(unpaid)).days
                row[2 + (0 if days <= 30 else 1 if days <= 60 else 2 if days <= 90 else 3)] += loan["saldo"]
    got = {(f, s): list(rest) for f, s, *rest in con.execute(
        "SELECT fecha_corte, sucursal, cuentas_activas, cartera_total, par_1_30, par_31_60, par_61_90, par_90_mas "
        "FROM cartera_en_riesgo_sucursal").fetchall()}
    assert got == want
    assert any(v[5] > 0 for v in want.values()) and any(v[2] > 0 for v in want.values())  # buckets exercised


def test_client_history_and_quarantine(built):
    truth, con, _ = built
    suc, client = "suc_170", 7
    want = sorted((gid(r["id"], s), r["monto"]) for s, r in published(truth) if s == suc and r["cliente_id"] == client)
    got = con.execute("SELECT id_pago, monto FROM historial_pagos_cliente WHERE id_cliente = ? ORDER BY id_pago",
                      [gid(client, suc)]).fetchall()
    assert got == want and want
    motivos = dict(con.execute("SELECT motivo, count(*) FROM pagos_cuarentena GROUP BY 1").fetchall())
    unknown_loan = sum(1 for (s, i), r in truth["tx"].items() if r["cuenta_id"] == 99 and (s, i) not in truth["bajas"])
    assert motivos.get("prestamo_desconocido") == unknown_loan
    assert motivos.get("baja_en_sucursal") == len(truth["bajas"])
    n_in = len(truth["tx"])
    n_out = con.execute("SELECT (SELECT count(*) FROM pagos_historicos) + (SELECT count(*) FROM pagos_cuarentena)")
    assert n_out.fetchone()[0] == n_in  # every payment ends in the table or in quarantine


def test_dbt_tests_and_layout_checks_ran_and_passed(built):
    _, _, result = built
    evaluations = result.get_asset_check_evaluations()
    names = {e.check_name for e in evaluations}
    assert {"orden_fecha_pago", "estadisticas_vigentes", "tamano_y_reparto", "orden_id_cliente"} <= names
    assert any(n.startswith("unique_combination_cobranza") for n in names)
    assert [e.check_name for e in evaluations if not e.passed] == []


def _collections(con) -> dict:
    return {(f, s): (n, c) for f, s, n, c in con.execute(
        "SELECT fecha_pago, sucursal, pagos_aplicados, monto_cobrado FROM cobranza_diaria_sucursal").fetchall()}


def _want_collections(truth) -> dict:
    want = defaultdict(lambda: [0, Decimal(0)])
    for suc, r in published(truth):
        if r["monto"] >= 0:
            w = want[(r["fecha"].date(), suc)]
            w[0] += 1
            w[1] += r["monto"]
    return {k: (n, m.quantize(CENT)) for k, (n, m) in want.items()}


def test_a_later_day_that_changes_an_old_payment_date_rebuilds_that_date(tmp_path):
    """The next extraction day carries a payment of DAYS[0] committed late and deletes every payment of
    suc_001 on DAYS[1]: building only that later partition must still leave cobranza_diaria_sucursal equal to
    the branch rows on DAYS[0] and DAYS[1] (the regulator reconciles against it, to the cent)."""
    from podemos_assets.config import load_settings
    from podemos_assets.resources import build_resources

    settings = load_settings({"PODEMOS_HOME": str(tmp_path)})
    resources = build_resources(settings)
    truth = generate(resources["lake"])
    assets = [*pagos_defs.assets, *pagos_defs.asset_checks]
    first = dg.materialize(assets, resources=resources, selection=dg.AssetSelection.all(),
                           tags={"dagster/asset_partition_range_start": DAYS[0].isoformat(),
                                 "dagster/asset_partition_range_end": DAYS[-1].isoformat()})
    assert first.success
    later = DAYS[-1] + timedelta(days=1)
    late = tx(5000, 1, 1, datetime.combine(DAYS[0], datetime.min.time()) + timedelta(hours=18, minutes=30),
              "275.55", updated_at=datetime.combine(later, datetime.min.time()) + timedelta(hours=9))
    write_extract(resources["lake"], "transacciones", later.isoformat(), "suc_001", [late])
    truth["tx"][("suc_001", 5000)] = late
    gone = [i for (s, i), r in truth["tx"].items() if s == "suc_001" and r["fecha"].date() == DAYS[1]]
    write_bajas(resources["lake"], "transacciones", "suc_001", later.isoformat(), gone)
    truth["bajas"] |= {("suc_001", i) for i in gone}
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    before = _collections(con)
    con.close()
    assert (DAYS[1], "suc_001") in before  # the day the deletes empty for suc_001 was there

    second = dg.materialize(assets, resources=resources, selection=dg.AssetSelection.all(), partition_key=later.isoformat())
    assert second.success
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        got = _collections(con)
    finally:
        con.close()
    want = _want_collections(truth)
    assert (DAYS[1], "suc_001") not in want and got[(DAYS[0], "suc_001")] == want[(DAYS[0], "suc_001")]
    assert got == want
    assert got[(DAYS[0], "suc_001")] != before[(DAYS[0], "suc_001")]
    # The second build started from the first one's parse state in this home: the window reaches dbt as
    # environment variables, so only the two daily models re-parse (a change of --vars, as before, made dbt
    # re-parse the whole project on every build, ~3 s).
    events = [json.loads(line) for line in (tmp_path / "dbt" / "reportes_diarios" / "dbt.log").read_text().splitlines()]
    builds = [e["info"]["invocation_id"] for e in events if e["info"]["name"] == "CommandCompleted"]
    full_parses = {e["info"]["invocation_id"] for e in events if e["info"]["name"] == "UnableToPartialParse"}
    assert len(builds) == 2 and full_parses == {builds[0]}, (builds, full_parses)  # the home's first build only


def _built_nodes(target) -> set[str]:
    return {r["unique_id"].split(".")[2]
            for r in json.loads((target / "run_results.json").read_text())["results"]}


def test_each_dbt_group_builds_its_models_and_a_subset_only_the_subset(tmp_path):
    """The groups are declared on a manifest filtered to their models, with select="" (dbt-core is not in the
    Dagster venv to evaluate a selection): the build must still select exactly the group's models and their
    tests, not the project, and a subset launched from the UI only what was selected."""
    from podemos_assets.config import load_settings
    from podemos_assets.resources import build_resources

    settings = load_settings({"PODEMOS_HOME": str(tmp_path)})
    resources = build_resources(settings)
    generate(resources["lake"])
    assert dg.materialize([*pagos_defs.assets, *pagos_defs.asset_checks], resources=resources,
                          selection=dg.AssetSelection.all(), partition_key=DAYS[0].isoformat()).success
    daily = _built_nodes(settings.home / "dbt" / "reportes_diarios")
    assert {n for n in daily if not n.startswith(("not_null", "unique", "par_", "cobranza_cuadra"))} == {
        "cobranza_diaria_sucursal", "cartera_en_riesgo_sucursal"}, daily
    whole = _built_nodes(settings.home / "dbt" / "reportes_generales")
    assert {n for n in whole if not n.startswith(("not_null", "unique", "accepted_values"))} == {
        "resumen_mensual_sucursal", "historial_pagos_cliente"}, whole
    assert any(n.startswith("unique_historial_pagos_cliente") for n in whole)

    history = dg.AssetKey(["historial_pagos_cliente"])
    result = dg.materialize([*pagos_defs.assets, *pagos_defs.asset_checks], resources=resources,
                            selection=dg.AssetSelection.assets(history))
    assert result.success
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [history]
    subset = _built_nodes(settings.home / "dbt" / "reportes_generales")
    assert {n for n in subset if not n.startswith("unique")} == {"historial_pagos_cliente"}, subset

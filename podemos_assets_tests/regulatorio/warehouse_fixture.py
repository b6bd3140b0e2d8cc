"""A payments warehouse built the way production builds it: branch extracts written per the lake contract
(pagos' own lake fixture), merged by the real `pagos` merge into DuckDB, and `cobranza_diaria_sucursal`
built from the dbt model's own SQL (rendered here without dbt: the model is a delete+insert by
fecha_pago over the merge's rollup, so rendering its SQL is exact and takes milliseconds, not a dbt run).

`Warehouse.pay(...)` writes a payment into the branch extract of its `updated_at` day; `merge(day)` merges
that extraction day and rebuilds the collections of every payment date it touched, and records the
materializations pagos' automation would (pagos_historicos for the extraction day, cobranza for each date).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import dagster as dg

from podemos_assets.config import REPO_ROOT
from podemos_assets.pagos.extracts import read_day
from podemos_assets.pagos.merge import merge_day
from podemos_assets_tests.pagos.lake_fixture import ZONES, cliente, cuenta, gid, tx, write_bajas, write_extract

BRANCHES = ("suc_001", "suc_003")  # Mexico City and Cancun
MODEL = REPO_ROOT / "sql" / "models" / "reportes" / "cobranza_diaria_sucursal.sql"


def render_cobranza(min_date: str, max_date: str) -> str:
    sql = MODEL.read_text()
    sql = re.sub(r"\{\{\s*config\(.*?\n\)\s*\}\}", "", sql, flags=re.S)  # its closing `) }}` has a line
    sql = re.sub(r"\{%\s*if is_incremental\(\)\s*%\}.*?\{%\s*endif\s*%\}", "", sql, flags=re.S)  # a full build
    sql = re.sub(r"\{\{\s*source\('pagos',\s*'pagos_diario_sucursal'\)\s*\}\}", "pagos_diario_sucursal", sql)
    sql = sql.replace('{{ env_var("PODEMOS_DBT_MIN_DATE") }}', min_date)
    sql = sql.replace('{{ env_var("PODEMOS_DBT_MAX_DATE") }}', max_date)
    sql = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    assert "{{" not in sql, sql
    return sql


class Warehouse:
    def __init__(self, lake, warehouse, instance: dg.DagsterInstance | None = None):
        self.lake, self.warehouse, self.instance = lake, warehouse, instance
        self.rows: dict[tuple[str, str], list[dict]] = defaultdict(list)  # (extraction day, branch) -> rows
        self.truth: dict[tuple[str, int], dict] = {}  # (branch, source id) -> latest row (live at the branch)
        self.deleted: set[tuple[str, int]] = set()
        self.next_id = defaultdict(lambda: 1)

    def seed(self, day: str, loans=(1, 2, 3), clients=(1, 2, 3)) -> None:
        at = datetime.fromisoformat(day) + timedelta(minutes=1)
        for suc in BRANCHES:
            self.rows[(day, "cuentas", suc)] = [cuenta(c, at) for c in loans]
            self.rows[(day, "clientes", suc)] = [cliente(c, at) for c in clients]
            write_extract(self.lake, "cuentas", day, suc, self.rows[(day, "cuentas", suc)])
            write_extract(self.lake, "clientes", day, suc, self.rows[(day, "clientes", suc)])

    def pay(self, suc: str, when: datetime, monto: str, loan: int = 1, client: int = 1, canal: str = "VENTANILLA",
            id: int | None = None, updated_at: datetime | None = None) -> int:
        """A payment (or, with `id`, a new version of one) at branch `suc`; returns its source id."""
        if id is None:
            id = self.next_id[suc]
            self.next_id[suc] += 1
        row = tx(id, loan, client, when, monto, updated_at=updated_at or when, canal=canal)
        day = (updated_at or when).date().isoformat()
        self.rows[(day, "transacciones", suc)] = [r for r in self.rows[(day, "transacciones", suc)] if r["id"] != id]
        self.rows[(day, "transacciones", suc)].append(row)
        write_extract(self.lake, "transacciones", day, suc, self.rows[(day, "transacciones", suc)])
        if loan in (1, 2, 3) and client in (1, 2, 3):
            self.truth[(suc, id)] = row
        return id

    def delete(self, suc: str, id: int, day: str) -> None:
        write_bajas(self.lake, "transacciones", suc, day, [id])
        self.truth.pop((suc, id), None)
        self.deleted.add((suc, id))

    def merge(self, day: str) -> None:
        inputs, _ = read_day(self.lake, day)
        with self.warehouse.connect() as con:
            merge_day(con, day, inputs, ZONES)
            dates = [str(r[0]) for r in con.execute("SELECT DISTINCT fecha_pago FROM pagos_diario_sucursal").fetchall()]
            for fecha in dates:  # what pagos' automation must do: rebuild the collections of every touched date
                nxt = (datetime.fromisoformat(fecha) + timedelta(days=1)).date().isoformat()
                sql = render_cobranza(fecha, nxt)
                con.execute(f"CREATE TABLE IF NOT EXISTS cobranza_diaria_sucursal AS SELECT * FROM ({sql}) WHERE false")
                con.execute(f"DELETE FROM cobranza_diaria_sucursal WHERE fecha_pago = DATE '{fecha}'")
                con.execute(f"INSERT INTO cobranza_diaria_sucursal {sql}")
            con.execute("CHECKPOINT")
        if self.instance is not None:
            self.instance.report_runless_asset_event(dg.AssetMaterialization("pagos_historicos", partition=day))
            for fecha in dates:
                self.instance.report_runless_asset_event(
                    dg.AssetMaterialization("cobranza_diaria_sucursal", partition=fecha))

    def expected(self, fecha: str) -> dict[str, tuple[int, Decimal]]:
        """Branch -> (payments, sum) of the live, known payments whose branch-local date is `fecha`."""
        out: dict[str, list] = {}
        for (suc, _), row in self.truth.items():
            if row["fecha"].date().isoformat() == fecha:
                t = out.setdefault(suc, [0, Decimal("0.00")])
                t[0] += 1
                t[1] += row["monto"]
        return {k: (v[0], v[1]) for k, v in out.items()}


__all__ = ["BRANCHES", "Warehouse", "gid", "render_cobranza"]

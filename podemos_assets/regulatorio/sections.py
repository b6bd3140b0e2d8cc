"""The report's sections (SQL over the day's extracts, in DuckDB, exact DECIMAL) and their reconciliation.

Each section declares which source it comes from and which of its totals must equal the source's, to the
cent: a section total is checked against what the source asset read *and* what the sender declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pyarrow as pa

from podemos_assets.regulatorio.errors import ReconciliationMismatch
from podemos_assets.regulatorio.extracts import Extract


@dataclass(frozen=True)
class Measure:
    medida: str  # section column summed (or "filas" = row count column)
    section_sql: str  # aggregate over the section table `s`
    source: str
    source_sql: str  # aggregate over the source table `t`
    declared: str | None = None  # key in the source's declared control totals (filas / a summed column)
    where: str = "TRUE"  # section rows that belong to this source


@dataclass(frozen=True)
class Section:
    name: str
    sources: tuple[str, ...]
    sql: str  # reads the source tables by name; must ORDER BY its keys (deterministic output)
    measures: tuple[Measure, ...]


def _m(medida, src, col=None, where="TRUE", src_where="TRUE", count_col=None, declared=True):
    if col is None:  # a row count
        return Measure(medida, f"sum({count_col})", src, f"count(*) FILTER (WHERE {src_where})",
                       "filas" if declared else None, where)
    return Measure(medida, f"sum({medida})", src, f"sum({col}) FILTER (WHERE {src_where})",
                   col if declared else None, where)


SECTIONS: tuple[Section, ...] = (
    Section("cartera", ("core_creditos",), """
        SELECT sucursal, producto, count(*) AS creditos, sum(saldo) AS saldo,
               coalesce(sum(saldo) FILTER (WHERE dias_atraso BETWEEN 1 AND 30), 0) AS par_1_30,
               coalesce(sum(saldo) FILTER (WHERE dias_atraso BETWEEN 31 AND 60), 0) AS par_31_60,
               coalesce(sum(saldo) FILTER (WHERE dias_atraso BETWEEN 61 AND 90), 0) AS par_61_90,
               coalesce(sum(saldo) FILTER (WHERE dias_atraso > 90), 0) AS par_90_mas
        FROM core_creditos GROUP BY ALL ORDER BY sucursal, producto""",
        (_m("creditos", "core_creditos", count_col="creditos"), _m("saldo", "core_creditos", "saldo"))),
    Section("pagos_recibidos", ("sucursales_pagos", "corresponsales", "app_campo"), """
        SELECT * FROM (
          SELECT 'sucursales_pagos' AS origen, sucursal, canal, count(*) AS pagos, sum(monto) AS monto
            FROM sucursales_pagos GROUP BY ALL
          UNION ALL SELECT 'corresponsales', '', corresponsal, count(*), sum(monto) FROM corresponsales GROUP BY ALL
          UNION ALL SELECT 'app_campo', '', 'APP_CAMPO', count(*), sum(monto) FROM app_campo GROUP BY ALL
        ) ORDER BY origen, sucursal, canal""",
        tuple(m for src in ("sucursales_pagos", "corresponsales", "app_campo")
              for m in (_m("pagos", src, count_col="pagos", where=f"origen = '{src}'"),
                        _m("monto", src, "monto", where=f"origen = '{src}'")))),
    Section("desembolsos", ("spei",), """
        SELECT sucursal, count(*) AS operaciones, sum(monto) AS monto
        FROM spei WHERE tipo = 'E' GROUP BY ALL ORDER BY sucursal""",
        (_m("operaciones", "spei", count_col="operaciones", src_where="tipo = 'E'", declared=False),
         _m("monto", "spei", "monto", src_where="tipo = 'E'", declared=False))),
    Section("alertas_pld", ("pld_alertas",), """
        SELECT tipo, count(*) AS alertas, sum(monto) AS monto FROM pld_alertas GROUP BY ALL ORDER BY tipo""",
        (_m("alertas", "pld_alertas", count_col="alertas"), _m("monto", "pld_alertas", "monto"))),
    Section("quejas", ("quejas_condusef",), """
        SELECT causa, estatus, count(*) AS quejas, sum(monto_reclamado) AS monto_reclamado
        FROM quejas_condusef GROUP BY ALL ORDER BY causa, estatus""",
        (_m("quejas", "quejas_condusef", count_col="quejas"),
         _m("monto_reclamado", "quejas_condusef", "monto_reclamado"))),
    Section("contabilidad", ("contabilidad_gl",), """
        SELECT cuenta_contable, descripcion, sum(debe) AS debe, sum(haber) AS haber
        FROM contabilidad_gl GROUP BY ALL ORDER BY cuenta_contable, descripcion""",
        (_m("debe", "contabilidad_gl", "debe"), _m("haber", "contabilidad_gl", "haber"))),
    Section("tesoreria", ("tesoreria",), """
        SELECT banco, count(*) AS cuentas, sum(saldo_inicial) AS saldo_inicial, sum(saldo_final) AS saldo_final
        FROM tesoreria GROUP BY ALL ORDER BY banco""",
        (_m("cuentas", "tesoreria", count_col="cuentas"), _m("saldo_final", "tesoreria", "saldo_final"))),
    Section("clientes_riesgo", ("clientes_kyc",), """
        SELECT sucursal, nivel_riesgo, count(*) AS clientes FROM clientes_kyc GROUP BY ALL
        ORDER BY sucursal, nivel_riesgo""",
        (_m("clientes", "clientes_kyc", count_col="clientes"),)),
    Section("cobranza", ("cobranza",), """
        SELECT resultado, count(*) AS gestiones, sum(monto_promesa) AS monto_promesa FROM cobranza GROUP BY ALL
        ORDER BY resultado""",
        (_m("gestiones", "cobranza", count_col="gestiones"), _m("monto_promesa", "cobranza", "monto_promesa"))),
    Section("seguros", ("seguros",), """
        SELECT count(*) AS polizas, sum(prima) AS primas FROM seguros HAVING count(*) > 0""",
        (_m("polizas", "seguros", count_col="polizas"), Measure("primas", "sum(primas)", "seguros", "sum(prima)", "prima"))),
)


def compute_sections(extracts: dict[str, Extract], schemas: dict[str, pa.Schema]) -> dict[str, pa.Table]:
    """Every section; a source without an extract is an empty table of its schema (the report says why)."""
    con = duckdb.connect()
    try:
        for name, schema in schemas.items():
            table = extracts[name].table if name in extracts else schema.empty_table()
            con.register(name, table)
        return {s.name: con.sql(s.sql).to_arrow_table() for s in SECTIONS}
    finally:
        con.close()


def reconcile(sections: dict[str, pa.Table], extracts: dict[str, Extract]) -> list[dict]:
    """Section totals vs the sources (read and declared), Decimal to the cent; raises on any difference."""
    con = duckdb.connect()
    results, differences = [], []
    try:
        for section in SECTIONS:
            con.register("s", sections[section.name])
            for m in section.measures:
                if m.source not in extracts:
                    continue  # missing source: its absence is in the exceptions, nothing to reconcile
                con.register("t", extracts[m.source].table)
                got = _dec(con.sql(f"SELECT {m.section_sql} FROM s WHERE {m.where}").fetchall()[0][0])
                read = _dec(con.sql(f"SELECT {m.source_sql} FROM t").fetchall()[0][0])
                expected = [("leido", read)]
                if m.declared:
                    declared = extracts[m.source].control["declarado"]
                    expected.append(("declarado", _dec(declared["filas"] if m.declared == "filas"
                                                       else declared["sumas"][m.declared])))
                for kind, value in expected:
                    row = {"seccion": section.name, "fuente": m.source, "medida": m.medida, "contra": kind,
                           "reporte": str(got), "fuente_total": str(value), "diferencia": str(got - value)}
                    results.append(row)
                    if got != value:
                        differences.append(row)
    finally:
        con.close()
    if differences:
        raise ReconciliationMismatch(differences)
    return results


def _dec(value) -> Decimal:
    if value is None:
        return Decimal("0.00")
    return Decimal(value) if isinstance(value, int) else Decimal(str(value)).quantize(Decimal("0.01"))

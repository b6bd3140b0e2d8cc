"""The report's sections (SQL over the day's extracts, in DuckDB, exact DECIMAL) and their reconciliation.

Each section declares which source it comes from and which of its totals must equal the source's, to the
cent: a section total is checked against what the source asset read *and* what the sender declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from podemos_assets.regulatorio.errors import ReconciliationMismatch
from podemos_assets.regulatorio.extracts import Extract


@dataclass(frozen=True)
class Measure:
    medida: str  # the section column that is summed (counts are summed too)
    source: str
    source_column: str | None  # summed in the source; None = its row count
    declared: str | None  # key of the sender's declared totals to check as well ("filas" or a column)
    section_filter: tuple[str, str] | None = None  # (column, value): the section rows from this source
    source_filter: tuple[str, str] | None = None  # (column, value): the source rows the section covers


@dataclass(frozen=True)
class Section:
    name: str
    sources: tuple[str, ...]
    sql: str  # reads the source tables by name; must ORDER BY its keys (deterministic output)
    measures: tuple[Measure, ...]


def _m(medida, src, col=None, where=None, src_where=None, declared=True):
    key = ("filas" if col is None else col) if declared else None
    return Measure(medida, src, col, key, where, src_where)


SECTIONS: tuple[Section, ...] = (
    Section("cartera", ("core_creditos",), """
        SELECT sucursal, producto, count(*) AS creditos, sum(saldo) AS saldo,
               coalesce(sum(saldo) FILTER (WHERE dias_atraso BETWEEN 1 AND 30), 0) AS par_1_30,
               coalesce(sum(saldo) FILTER (WHERE dias_atraso BETWEEN 31 AND 60), 0) AS par_31_60,
               coalesce(sum(saldo) FILTER (WHERE dias_atraso BETWEEN 61 AND 90), 0) AS par_61_90,
               coalesce(sum(saldo) FILTER (WHERE dias_atraso > 90), 0) AS par_90_mas
        FROM core_creditos GROUP BY ALL ORDER BY sucursal, producto""",
        (_m("creditos", "core_creditos"), _m("saldo", "core_creditos", "saldo"))),
    Section("pagos_recibidos", ("sucursales_pagos", "corresponsales", "app_campo"), """
        SELECT * FROM (
          SELECT 'sucursales_pagos' AS origen, sucursal, canal, count(*) AS pagos, sum(monto) AS monto
            FROM sucursales_pagos GROUP BY ALL
          UNION ALL SELECT 'corresponsales', '', corresponsal, count(*), sum(monto) FROM corresponsales GROUP BY ALL
          UNION ALL SELECT 'app_campo', '', 'APP_CAMPO', count(*), sum(monto) FROM app_campo GROUP BY ALL
        ) ORDER BY origen, sucursal, canal""",
        tuple(m for src in ("sucursales_pagos", "corresponsales", "app_campo")
              for m in (_m("pagos", src, where=("origen", src)), _m("monto", src, "monto", where=("origen", src))))),
    Section("desembolsos", ("spei",), """
        SELECT sucursal, count(*) AS operaciones, sum(monto) AS monto
        FROM spei WHERE tipo = 'E' GROUP BY ALL ORDER BY sucursal""",
        (_m("operaciones", "spei", src_where=("tipo", "E"), declared=False),
         _m("monto", "spei", "monto", src_where=("tipo", "E"), declared=False))),
    Section("alertas_pld", ("pld_alertas",), """
        SELECT tipo, count(*) AS alertas, sum(monto) AS monto FROM pld_alertas GROUP BY ALL ORDER BY tipo""",
        (_m("alertas", "pld_alertas"), _m("monto", "pld_alertas", "monto"))),
    Section("quejas", ("quejas_condusef",), """
        SELECT causa, estatus, count(*) AS quejas, sum(monto_reclamado) AS monto_reclamado
        FROM quejas_condusef GROUP BY ALL ORDER BY causa, estatus""",
        (_m("quejas", "quejas_condusef"),
         _m("monto_reclamado", "quejas_condusef", "monto_reclamado"))),
    Section("contabilidad", ("contabilidad_gl",), """
        SELECT cuenta_contable, descripcion, sum(debe) AS debe, sum(haber) AS haber
        FROM contabilidad_gl GROUP BY ALL ORDER BY cuenta_contable, descripcion""",
        (_m("debe", "contabilidad_gl", "debe"), _m("haber", "contabilidad_gl", "haber"))),
    Section("tesoreria", ("tesoreria",), """
        SELECT banco, count(*) AS cuentas, sum(saldo_inicial) AS saldo_inicial, sum(saldo_final) AS saldo_final
        FROM tesoreria GROUP BY ALL ORDER BY banco""",
        (_m("cuentas", "tesoreria"), _m("saldo_final", "tesoreria", "saldo_final"))),
    Section("clientes_riesgo", ("clientes_kyc",), """
        SELECT sucursal, nivel_riesgo, count(*) AS clientes FROM clientes_kyc GROUP BY ALL
        ORDER BY sucursal, nivel_riesgo""",
        (_m("clientes", "clientes_kyc"),)),
    Section("cobranza", ("cobranza",), """
        SELECT resultado, count(*) AS gestiones, sum(monto_promesa) AS monto_promesa FROM cobranza GROUP BY ALL
        ORDER BY resultado""",
        (_m("gestiones", "cobranza"), _m("monto_promesa", "cobranza", "monto_promesa"))),
    Section("seguros", ("seguros",), """
        SELECT count(*) AS polizas, sum(prima) AS primas FROM seguros HAVING count(*) > 0""",
        (_m("polizas", "seguros"), Measure("primas", "seguros", "prima", "prima"))),
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


def _total(table: pa.Table, column: str | None, where: tuple[str, str] | None) -> Decimal:
    if where is not None:
        table = table.filter(pc.equal(table[where[0]], where[1]))
    if column is None:
        return Decimal(table.num_rows)
    return _dec(pc.sum(table[column]).as_py())


def reconcile(sections: dict[str, pa.Table], extracts: dict[str, Extract]) -> list[dict]:
    """Section totals vs the sources (read and declared), Decimal to the cent; raises on any difference."""
    results, differences = [], []
    for section in SECTIONS:
        for m in section.measures:
            if m.source not in extracts:
                continue  # missing source: its absence is in the exceptions, nothing to reconcile
            got = _total(sections[section.name], m.medida, m.section_filter)
            expected = [("leido", _total(extracts[m.source].table, m.source_column, m.source_filter))]
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
    if differences:
        raise ReconciliationMismatch(differences)
    return results


def _dec(value) -> Decimal:
    if value is None:
        return Decimal("0.00")
    return Decimal(value) if isinstance(value, int) else Decimal(str(value)).quantize(Decimal("0.01"))

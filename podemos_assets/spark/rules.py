"""The payments consolidation as one SELECT that DuckDB and Spark SQL both run, built from the DuckDB path.

The version SELECT and the version order are the DuckDB path's own (`pagos.merge.PAGOS_SELECT`,
`pagos.merge._order_by`), rewritten for the engine rather than copied; the quarantine CASE is
`pagos.merge.MOTIVO`. Time zones: `zonas` holds the UTC offset of every local-time interval,
computed from Python's zoneinfo, so both engines resolve ambiguous / skipped local times like the
branch extractor does (fold=0: the offset in force before a transition).

Semantics of a run over extract days [desde, hasta]: the state `pagos_historicos` / `pagos_cuarentena`
would have after merging those days, oldest first, into an empty warehouse with `merge_day`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from podemos_assets.pagos import merge as pagos_merge

# The output tables are the warehouse's: their columns and version order come from the DuckDB path.
PAGOS_COLUMNS = tuple(pagos_merge.PAGOS_COLS)
CUARENTENA_COLUMNS = (*PAGOS_COLUMNS, "motivo")

# The only engine-specific expressions. `utc_type` is the type of an instant: DuckDB's TIMESTAMP is
# naive, Spark's TIMESTAMP is an instant (both sessions run with time zone UTC).
DIALECT = {
    "duckdb": {
        "minus_seconds": "{ts} - to_seconds({secs})",
        "utc_type": "TIMESTAMPTZ",
        "json_canal": "CAST(json_object('canal', {col}) AS VARCHAR)",
    },
    "spark": {
        "minus_seconds": "{ts} - make_dt_interval(0, 0, 0, {secs})",
        "utc_type": "TIMESTAMP",
        "json_canal": "to_json(named_struct('canal', {col}))",
    },
}
# Global ids, as the DuckDB path's `gid` macro: the branch number in the last three digits.
_GID = re.compile(r"gid\(([\w.]+), ([\w.]+)\)")


def gid(x: str, suc: str) -> str:
    return f"({x} * 1000 + CAST(substr({suc}, 5) AS BIGINT))"


def _replace_once(sql: str, old: str, new: str) -> str:
    if old not in sql:
        raise RuntimeError(
            f"podemos_assets.pagos.merge.PAGOS_SELECT no longer contains {old!r}: update the rewrite in "
            "podemos_assets/spark/rules.py so the Spark job keeps running the DuckDB path's SQL."
        )
    return sql.replace(old, new)


def stage_sql(engine: str) -> str:
    """The DuckDB path's own SELECT of a payment version (pagos.merge.PAGOS_SELECT), for `engine`.

    Rewritten, not copied: its two DuckDB macros are expanded (`gid`; `local_to_utc` becomes the
    `zonas` lookup) and its JSON expression spelled for the engine.
    """
    d = DIALECT[engine]
    sql = _GID.sub(lambda m: gid(m[1], m[2]), pagos_merge.PAGOS_SELECT)
    sql = _replace_once(sql, "CAST(json_object('canal', t.canal) AS VARCHAR)", d["json_canal"].format(col="t.canal"))
    utc = d["minus_seconds"].format(ts="t.fecha", secs="z.offset_segundos")
    sql = _replace_once(sql, "local_to_utc(s.zona_horaria, t.fecha)", f"CAST({utc} AS {d['utc_type']})")
    return _replace_once(
        sql,
        "FROM in_transacciones t LEFT JOIN sucursales s ON s.id = t.sucursal",
        "FROM transacciones t LEFT JOIN sucursales s ON s.id = t.sucursal\nLEFT JOIN zonas z "
        "ON z.zona_horaria = s.zona_horaria AND t.fecha >= z.local_desde AND t.fecha < z.local_hasta",
    )


def _alive(table: str, key: str) -> str:
    """Ids of a dimension whose latest version is not dead (tombstone detected on or after it)."""
    return f"""SELECT d.{key} FROM (
        SELECT {gid('id', 'sucursal')} AS {key}, sucursal, id, updated_at, ROW_NUMBER() OVER (
            PARTITION BY {gid('id', 'sucursal')} ORDER BY updated_at_utc DESC, extraccion DESC, updated_at DESC) AS version
        FROM {table}) d
    LEFT JOIN bajas_max b ON b.tabla = '{table}' AND b.sucursal = d.sucursal AND b.id_origen = d.id
    WHERE d.version = 1 AND NOT coalesce(b.fecha_baja >= CAST(d.updated_at AS DATE), false)"""


def consolidation_sql(engine: str) -> str:
    """The consolidation as one SELECT (all winners, `motivo` NULL for published rows) for `engine`.

    Equals merging the same extracts day by day into an empty warehouse with `pagos.merge.merge_day`.
    """
    cols = ", ".join(f"g.{c}" for c in PAGOS_COLUMNS)
    return f"""
WITH stage AS ({stage_sql(engine)}),
ganador AS (
    SELECT * FROM (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY id_pago ORDER BY {pagos_merge._order_by(list(PAGOS_COLUMNS))}) AS version
        FROM (SELECT stage.*, true AS nuevo FROM stage) c
    ) v WHERE version = 1
),
bajas_max AS (SELECT tabla, sucursal, id AS id_origen, MAX(fecha) AS fecha_baja FROM bajas GROUP BY tabla, sucursal, id),
cuentas_vivas AS ({_alive('cuentas', 'id_prestamo')}),
clientes_vivos AS ({_alive('clientes', 'id_cliente')})
SELECT {cols}, {pagos_merge.MOTIVO} AS motivo
FROM ganador g
LEFT JOIN bajas_max b ON b.tabla = 'transacciones' AND b.sucursal = g.sucursal AND b.id_origen = g.id_origen
LEFT JOIN sucursales s ON s.id = g.sucursal
LEFT JOIN cuentas_vivas c ON c.id_prestamo = g.id_prestamo
LEFT JOIN clientes_vivos k ON k.id_cliente = g.id_cliente
"""


def split_sql(source: str) -> dict[str, str]:
    """The two published tables as SELECTs over the consolidated relation named `source`."""
    return {
        "pagos_historicos": f"SELECT {', '.join(PAGOS_COLUMNS)} FROM {source} WHERE motivo IS NULL",
        "pagos_cuarentena": f"SELECT {', '.join(CUARENTENA_COLUMNS)} FROM {source} WHERE motivo IS NOT NULL",
    }


# What the SQL reads from each input, in Spark DDL (the branch ETL writes more columns; Parquet prunes).
INPUT_SCHEMAS = {
    "transacciones": "id BIGINT, cuenta_id BIGINT, cliente_id BIGINT, fecha TIMESTAMP_NTZ, monto DECIMAL(15,2), "
    "canal STRING, updated_at TIMESTAMP_NTZ, sucursal STRING, updated_at_utc TIMESTAMP, extraccion STRING",
    "cuentas": "id BIGINT, updated_at TIMESTAMP_NTZ, sucursal STRING, updated_at_utc TIMESTAMP, extraccion STRING",
    "clientes": "id BIGINT, updated_at TIMESTAMP_NTZ, sucursal STRING, updated_at_utc TIMESTAMP, extraccion STRING",
    "bajas": "tabla STRING, id BIGINT, sucursal STRING, fecha DATE",
}


def duckdb_schema(relation: str) -> str:
    """INPUT_SCHEMAS[relation] in DuckDB's spelling."""
    words = {"TIMESTAMP_NTZ": "TIMESTAMP", "TIMESTAMP": "TIMESTAMPTZ", "STRING": "VARCHAR"}
    return ", ".join(
        f"{name} {words.get(typ, typ)}" for name, typ in (col.split(" ", 1) for col in INPUT_SCHEMAS[relation].split(", "))
    )


RAW = "raw/sucursales"
# Lake globs of the inputs (relative to the lake root) and which extract days each input takes.
INPUT_GLOBS = {
    "transacciones": f"{RAW}/transacciones/fecha=*/sucursal=*/part-0.parquet",
    "cuentas": f"{RAW}/cuentas/fecha=*/sucursal=*/part-0.parquet",
    "clientes": f"{RAW}/clientes/fecha=*/sucursal=*/part-0.parquet",
    "bajas": f"{RAW}/_bajas/*/sucursal=*/fecha=*/part-0.parquet",
}


def wanted(relation: str, path: str, desde: date, hasta: date) -> bool:
    """Whether a file belongs to a run over extract (or tombstone detection) days `[desde, hasta]`."""
    day = date.fromisoformat(next(p.split("=", 1)[1] for p in path.split("/") if p.startswith("fecha=")))
    return desde <= day <= hasta


# Local-time intervals are computed for this range; a payment outside it has no offset and its
# fecha_pago_utc is NULL.
ZONE_YEARS = (1900, 2100)


@lru_cache(maxsize=64)
def zone_intervals(zone: str) -> tuple[tuple[datetime, datetime, int], ...]:
    """[local_desde, local_hasta) → UTC offset in seconds, for one IANA zone over ZONE_YEARS.

    A local time inside a fall-back overlap or a spring-forward gap takes the offset in force before
    the transition (Python's fold=0, Java's default): each interval starts at the transition's UTC
    instant plus the larger of the two offsets around it.
    """
    tz = ZoneInfo(zone)
    start = datetime(ZONE_YEARS[0], 1, 1, tzinfo=UTC)
    end = datetime(ZONE_YEARS[1], 1, 1, tzinfo=UTC)

    def offset(t: datetime) -> int:
        return int(t.astimezone(tz).utcoffset().total_seconds())

    transitions = []  # (utc instant, offset before, offset after)
    t, current = start, offset(start)
    while t < end:
        nxt = min(t + timedelta(days=7), end)
        if offset(nxt) != current:
            lo, hi = t, nxt  # bisect to the second: the offset changes in (lo, hi]
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if offset(mid) == current else (lo, mid)
            transitions.append((hi, current, offset(hi)))
            current = offset(hi)
        t = nxt
    naive = lambda t: t.replace(tzinfo=None)  # noqa: E731
    bounds = [naive(start + timedelta(seconds=offset(start)))]
    bounds += [naive(when + timedelta(seconds=max(before, after))) for when, before, after in transitions]
    bounds.append(naive(end + timedelta(seconds=current)))
    offsets = [offset(start)] + [after for _, _, after in transitions]
    return tuple((bounds[i], bounds[i + 1], offsets[i]) for i in range(len(offsets)))


def zones_rows(zones) -> list[tuple[str, datetime, datetime, int]]:
    """Rows of the `zonas` relation (zona_horaria, local_desde, local_hasta, offset_segundos)."""
    return [(z, a, b, o) for z in sorted(set(zones)) for a, b, o in zone_intervals(z)]

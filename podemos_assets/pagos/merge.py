"""The incremental merge of one day of branch extracts into `pagos_historicos` and its companions (DuckDB).

Rules (DESIGN.md §3): one row per payment; the latest version wins by source `updated_at_utc`, then
extraction (`extraccion`), then the row's own values, so the result never depends on arrival order or
redelivery; a redelivered version equal to the stored one changes nothing (no rewrite, no reorder).
Tombstones are kept in `pagos_bajas`: a version updated on or before the detection day is dead and
its payment goes to quarantine (`baja_en_sucursal`) instead of being silently kept. Payments whose
branch, loan or client is unknown wait in `pagos_cuarentena` and are re-evaluated every merge.

Cost: everything is restricted to the keys and days in the day's extracts (docs/pagos.md measures each
statement at 500M rows). Local times become UTC once per (zone, minute) of the day, not per row; loans and
clients are checked against narrow tables of the day's known keys, not joined to the whole dimensions; the
rollup is updated by difference, not re-aggregated.
Stored versions of those keys are looked for only on the days whose range of source ids can hold them
(the rollup's `id_origen_min`/`id_origen_max` per day and branch: ids grow with time, so a correction
reads a few days and a new payment none); reads and rewrites are pruned by `fecha_pago` zone maps.
The client projection is append-only on the daily path: a superseded row is not deleted (a day's
corrected clients are scattered over the client-ordered table and touched ~98% of its row groups: 1.1-2 s
at 500M rows) but appended to `pagos_por_cliente_retirados`; what the projection holds is
`CURRENT_POR_CLIENTE`, its rows minus the retired ones as a multiset (EXCEPT ALL), and compaction
(`layout.compact`) applies the retirements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from podemos_assets.pagos import schemas
from podemos_assets.pagos.ddl import duckdb_create

TABLES = {name: table.model for name, table in schemas.TABLES.items()}  # table -> its pandera model
PRIMARY_KEYS = {"pagos_bajas": "tabla, sucursal, id_origen"}

_LINEAGE = "sucursal, id AS id_origen, updated_at AS updated_at_origen, updated_at_utc, extraccion"
# Source table -> (warehouse table, key column, expressions of the non-lineage columns).
DIMENSIONS = {
    "cuentas": ("cuentas", "id_prestamo", "gid(id, sucursal) AS id_prestamo, gid(grupo_id, sucursal) AS id_grupo, "
                "CAST(monto AS DECIMAL(18,2)) AS monto_otorgado, CAST(saldo AS DECIMAL(18,2)) AS saldo, estatus, "
                "fecha_desembolso"),
    "clientes": ("clientes", "id_cliente", "gid(id, sucursal) AS id_cliente"),
    "calendario_pagos": ("calendario_pagos", "id_cuota", "gid(id, sucursal) AS id_cuota, "
                         "gid(cuenta_id, sucursal) AS id_prestamo, CAST(num_pago AS INTEGER) AS num_pago, CAST(monto AS DECIMAL(18,2)) AS monto, "
                         "fecha_pago AS fecha_vencimiento, estatus"),
}
# Global ids: the branch number in the last three digits (suc_013, id 4521 -> 4521013).
GID_MACRO = "x * 1000 + CAST(substr(suc, 5) AS BIGINT)"
_PAGOS_TEMPLATE = """
SELECT gid(t.id, t.sucursal) AS id_pago, gid(t.cuenta_id, t.sucursal) AS id_prestamo,
       gid(t.cliente_id, t.sucursal) AS id_cliente, CAST(t.monto AS DECIMAL(18,2)) AS monto,
       CAST(t.fecha AS DATE) AS fecha_pago,
       CASE WHEN t.monto < 0 THEN 'REVERSO' ELSE 'APLICADO' END AS status_pago,
       CAST(json_object('canal', t.canal) AS VARCHAR) AS otros_datos,
       {utc} AS fecha_pago_utc,
       t.sucursal, t.id AS id_origen, t.updated_at AS updated_at_origen, t.updated_at_utc, t.extraccion
FROM in_transacciones t LEFT JOIN sucursales s ON s.id = t.sucursal{join}
"""
# One payment version per extract row; the Spark job runs it too (spark/rules.py expands the macros).
PAGOS_SELECT = _PAGOS_TEMPLATE.format(utc="local_to_utc(s.zona_horaria, t.fecha)", join="")
# The same SELECT as the daily merge runs it: the instant of each distinct (zone, local minute) of the day is
# computed once (`minutos`) and joined back, instead of timezone() per row (0.1-0.2 s of a 1.5M-row day).
# Exact: an offset only changes on a whole minute (every zone since the early 1900s; whole hours in Mexico),
# so a minute's rows share its offset, the ambiguous and skipped local times included.
MINUTOS = """
    CREATE OR REPLACE TEMP TABLE minutos AS
    SELECT zona, minuto, local_to_utc(zona, minuto) AS utc
    FROM (SELECT DISTINCT s.zona_horaria AS zona, date_trunc('minute', t.fecha) AS minuto
          FROM in_transacciones t JOIN sucursales s ON s.id = t.sucursal)"""
PAGOS_STAGE = _PAGOS_TEMPLATE.format(
    utc="m.utc + (t.fecha - m.minuto)",
    join="\n    LEFT JOIN minutos m ON m.zona = s.zona_horaria AND m.minuto = date_trunc('minute', t.fecha)")
PAGOS_COLS = [c for c in schemas.PagosHistoricos.to_schema().columns]
POR_CLIENTE_COLS = list(schemas.PagosPorCliente.to_schema().columns)
# Superseded rows of the client projection, same columns (one row retires exactly one stored row: the multiset
# difference stays right when a payment returns to values it had before).
RETIRADOS = "pagos_por_cliente_retirados"
CURRENT_POR_CLIENTE = (f"SELECT {', '.join(POR_CLIENTE_COLS)} FROM pagos_por_cliente EXCEPT ALL "
                       f"SELECT {', '.join(POR_CLIENTE_COLS)} FROM {RETIRADOS}")  # sql/models/.../historial_pagos_cliente.sql
RELEASABLE = ("sucursal_desconocida", "prestamo_desconocido", "cliente_desconocido")
# Why a winning payment version waits in quarantine, in order of precedence; shared with the Spark job.
# Aliases: g = the version, b = its tombstone, s = its branch, c = its loan, k = its client.
MOTIVO = """CASE
            WHEN b.fecha_baja >= CAST(g.updated_at_origen AS DATE) THEN 'baja_en_sucursal'
            WHEN s.id IS NULL THEN 'sucursal_desconocida'
            WHEN c.id_prestamo IS NULL THEN 'prestamo_desconocido'
            WHEN k.id_cliente IS NULL THEN 'cliente_desconocido'
        END"""


@dataclass
class MergeStats:
    fecha: str
    rows_in: dict[str, int] = field(default_factory=dict)
    pagos_new_or_changed: int = 0
    pagos_published: int = 0
    pagos_quarantined: dict[str, int] = field(default_factory=dict)
    pagos_released: int = 0
    fechas_recomputed: int = 0


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table, model in TABLES.items():
        ddl = duckdb_create(model, table)
        if table in PRIMARY_KEYS:
            ddl = ddl[:-2] + f",\n    PRIMARY KEY ({PRIMARY_KEYS[table]})\n)"
        con.execute(ddl)
    con.execute(duckdb_create(TABLES["pagos_por_cliente"], RETIRADOS))
    _add_id_ranges(con)


def _add_id_ranges(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse created before the rollup carried id ranges: add the columns and fill them once (one
    scan of pagos_historicos); without them the merge could not find stored versions."""
    have = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = "
                                      "'pagos_diario_sucursal' AND NOT internal").fetchall()}
    if {"id_origen_min", "id_origen_max"} <= have:
        return
    for name in ("id_origen_min", "id_origen_max"):
        con.execute(f"ALTER TABLE pagos_diario_sucursal ADD COLUMN IF NOT EXISTS {name} BIGINT")
    _recompute_rollup(con, _date_list(con, "SELECT DISTINCT fecha_pago FROM pagos_historicos ORDER BY 1"))


def _session(con: duckdb.DuckDBPyConnection, branch_zones: dict[str, str]) -> None:
    con.execute("SET TimeZone = 'UTC'")
    # Global ids: the branch number in the last three digits (suc_013, id 4521 -> 4521013).
    con.execute(f"CREATE OR REPLACE TEMP MACRO gid(x, suc) AS {GID_MACRO}")
    # DuckDB resolves an ambiguous local time (fall-back hour) to the later instant; the branch extractor
    # (Python zoneinfo, fold=0) takes the earlier one. Match it: one hour earlier if that reads the same.
    con.execute("""CREATE OR REPLACE TEMP MACRO local_to_utc(zone, ts) AS
        CASE WHEN timezone(zone, timezone(zone, ts) - INTERVAL 1 HOUR) = ts
             THEN timezone(zone, ts) - INTERVAL 1 HOUR ELSE timezone(zone, ts) END""")
    zones = pa.table({"id": list(branch_zones), "zona_horaria": list(branch_zones.values())},
                     schema=pa.schema([("id", pa.string()), ("zona_horaria", pa.string())]))
    con.register("sucursales", zones)


def _order_by(columns: list[str]) -> str:
    # Latest version first; then the values, so ties never depend on arrival; stored row wins exact ties.
    rest = [c for c in columns if c not in ("updated_at_utc", "extraccion")]
    return "updated_at_utc DESC, extraccion DESC, " + ", ".join(f"{c} DESC NULLS LAST" for c in rest) + ", nuevo ASC"


def _winners(key: str, columns: list[str]) -> str:
    """Latest version per key from `cand`; only keys with several candidates pay for the window sort."""
    return f"""
        varios AS (SELECT {key} AS k FROM cand GROUP BY {key} HAVING count(*) > 1),
        ganador AS (
            SELECT * FROM cand WHERE {key} NOT IN (SELECT k FROM varios)
            UNION ALL
            SELECT * FROM (SELECT * FROM cand WHERE {key} IN (SELECT k FROM varios))
            QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {_order_by(columns)}) = 1
        )"""


def _merge_dimension(con, source: str) -> None:
    table, key, exprs = DIMENSIONS[source]
    cols = list(TABLES[table].to_schema().columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE stage AS SELECT {exprs}, {_LINEAGE} FROM in_{source}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE afectadas AS
        SELECT {key} AS k FROM stage
        UNION SELECT gid(id, sucursal) FROM in_bajas WHERE tabla = '{source}'""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE final AS
        WITH cand AS (
            SELECT {', '.join(cols)}, true AS nuevo FROM stage
            UNION ALL SELECT {', '.join(cols)}, false FROM {table} WHERE {key} IN (SELECT k FROM afectadas)
        ), {_winners(key, cols)}
        SELECT g.*, coalesce(b.fecha_baja >= CAST(g.updated_at_origen AS DATE), false) AS muerto
        FROM ganador g LEFT JOIN pagos_bajas b
          ON b.tabla = '{source}' AND b.sucursal = g.sucursal AND b.id_origen = g.id_origen""")
    con.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM final WHERE nuevo OR muerto)")
    con.execute(f"INSERT INTO {table} SELECT {', '.join(cols)} FROM final WHERE nuevo AND NOT muerto ORDER BY {key}")


# Range of source ids per day and branch (the rollup's); a day-branch without one could hold any id.
RANGOS = """rangos AS (
        SELECT fecha_pago, sucursal, coalesce(min(id_origen_min), -9223372036854775807) AS lo,
               coalesce(max(id_origen_max), 9223372036854775807) AS hi
        FROM pagos_diario_sucursal GROUP BY ALL)"""
# Keys of `afectadas` that can have a stored version in pagos_historicos: those whose source id lies within
# the ids ever stored at their branch. New payments, most of a day, lie above and drop out, so the probe of
# the stored days looks for a few thousand keys, not 1.5M.
POSIBLES = f"""
    CREATE OR REPLACE TEMP TABLE posibles AS
    WITH {RANGOS},
    techo AS (SELECT sucursal, min(lo) AS lo, max(hi) AS hi FROM rangos GROUP BY ALL)
    SELECT DISTINCT a.k, a.sucursal, a.id_origen FROM afectadas a JOIN techo t
    ON t.sucursal = a.sucursal AND a.id_origen BETWEEN t.lo AND t.hi"""
# Days of pagos_historicos that can hold a stored version of a possible key: those whose range of source ids
# at the key's branch contains the key's id.
STORED_DAYS = f"""
    WITH {RANGOS}
    SELECT DISTINCT r.fecha_pago FROM posibles p JOIN rangos r
    ON r.sucursal = p.sucursal AND p.id_origen BETWEEN r.lo AND r.hi ORDER BY 1"""


def _date_list(con, sql: str) -> list[str]:
    return [str(r[0]) for r in con.execute(sql).fetchall() if r[0] is not None]


def _in_dates(dates: list[str]) -> str:
    return "(" + ", ".join(f"DATE '{d}'" for d in dates) + ")" if dates else "(NULL)"


def _merge_pagos(con, stats: MergeStats) -> None:
    cols = ", ".join(PAGOS_COLS)
    con.execute(MINUTOS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE stage AS {PAGOS_STAGE}")
    # UNION ALL: the keys feed semi-joins and a DISTINCT only, so a de-duplication here would be wasted work
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE afectadas AS
        SELECT id_pago AS k, sucursal, id_origen FROM stage
        UNION ALL SELECT gid(id, sucursal), sucursal, id FROM in_bajas WHERE tabla = 'transacciones'
        UNION ALL SELECT id_pago, sucursal, id_origen FROM pagos_cuarentena WHERE motivo IN {RELEASABLE}""")
    con.execute(POSIBLES)
    stored_days = _date_list(con, STORED_DAYS)
    # The stored versions of the day's keys: a few thousand rows. The day's own rows are not copied again
    # beside them (the candidates are a CTE over stage + guardados): each copy of 1.5M rows cost 0.3 s.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE guardados AS
        SELECT {cols}, false AS nuevo, CAST(NULL AS VARCHAR) AS motivo_antes FROM pagos_historicos
            WHERE fecha_pago IN {_in_dates(stored_days)} AND id_pago IN (SELECT k FROM posibles)
        UNION ALL SELECT {cols}, false, motivo FROM pagos_cuarentena WHERE id_pago IN (SELECT k FROM afectadas)""")
    # The candidates' loans and clients that exist, as narrow key tables: joined to them, the 1.5M candidates
    # stream past a hash of keys. Joined to the dimensions themselves (10M rows each at 500M payments), DuckDB
    # built its hash on the wide candidates and probed every dimension row: 2.5 s of a 6.6 s merge there.
    for table, key, name in (("cuentas", "id_prestamo", "prestamos_conocidos"),
                             ("clientes", "id_cliente", "clientes_conocidos")):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {key} FROM {table} "
                    f"WHERE {key} IN (SELECT {key} FROM stage UNION ALL SELECT {key} FROM guardados)")
    # Only what changes: a new version, or a stored one whose quarantine reason changed (a release).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE cambios AS
        WITH cand AS (SELECT {cols}, true AS nuevo, CAST(NULL AS VARCHAR) AS motivo_antes FROM stage
                      UNION ALL SELECT * FROM guardados),
        {_winners("id_pago", PAGOS_COLS)}
        SELECT * FROM (
            SELECT g.*, {MOTIVO} AS motivo
            FROM ganador g
            LEFT JOIN pagos_bajas b ON b.tabla = 'transacciones' AND b.sucursal = g.sucursal AND b.id_origen = g.id_origen
            LEFT JOIN sucursales s ON s.id = g.sucursal
            LEFT JOIN prestamos_conocidos c ON c.id_prestamo = g.id_prestamo
            LEFT JOIN clientes_conocidos k ON k.id_cliente = g.id_cliente)
        WHERE nuevo OR motivo IS DISTINCT FROM motivo_antes""")
    # Stored rows to replace: every stored version of a changed key (pruned to their fecha_pago days).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE viejos_h AS
        SELECT {', '.join(POR_CLIENTE_COLS)}, id_origen FROM guardados
        WHERE motivo_antes IS NULL AND id_pago IN (SELECT id_pago FROM cambios)""")
    old_days = _date_list(con, "SELECT DISTINCT fecha_pago FROM viejos_h ORDER BY 1")
    if old_days:
        con.execute(f"DELETE FROM pagos_historicos WHERE fecha_pago IN {_in_dates(old_days)} "
                    "AND id_pago IN (SELECT id_pago FROM viejos_h)")
        # the projection holds the same rows: each one replaced is retired, not deleted (module docstring)
        con.execute(f"INSERT INTO {RETIRADOS} SELECT {', '.join(POR_CLIENTE_COLS)} FROM viejos_h "
                    "ORDER BY id_cliente, fecha_pago")
    con.execute("DELETE FROM pagos_cuarentena WHERE id_pago IN (SELECT id_pago FROM cambios)")
    con.execute(f"INSERT INTO pagos_historicos SELECT {cols} FROM cambios WHERE motivo IS NULL "
                "ORDER BY fecha_pago, id_cliente")
    con.execute(f"INSERT INTO pagos_por_cliente SELECT {', '.join(POR_CLIENTE_COLS)} FROM cambios "
                "WHERE motivo IS NULL ORDER BY id_cliente, fecha_pago")
    con.execute(f"INSERT INTO pagos_cuarentena SELECT {cols}, motivo FROM cambios WHERE motivo IS NOT NULL "
                "ORDER BY fecha_pago, id_cliente")
    stats.fechas_recomputed = _update_rollup(con)
    counts = con.execute("""
        SELECT count(*) FILTER (WHERE nuevo), count(*) FILTER (WHERE motivo IS NULL),
               count(*) FILTER (WHERE NOT nuevo AND motivo IS NULL AND motivo_antes IS NOT NULL)
        FROM cambios""").fetchone()
    stats.pagos_new_or_changed, stats.pagos_published, stats.pagos_released = counts
    stats.pagos_quarantined = dict(con.execute(
        "SELECT motivo, count(*) FROM cambios WHERE motivo IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall())


GRUPO = "fecha_pago, sucursal, status_pago"  # a row of the rollup


def _update_rollup(con) -> int:
    """Bring the rollup rows of the groups the merge changed up to date by difference: the stored row, plus
    the rows published (`cambios`), minus the rows replaced (`viejos_h`). Re-reading whole days cost 0.3-0.5 s
    at 500M payments for 30 days of corrections, and grows with the rows per day. Exact: a group whose lowest
    or highest source id left it for good (a payment moved, deleted or sent to quarantine) gets its range
    re-read from pagos_historicos, that group only. Returns the number of days whose rollup changed."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE delta AS
        WITH entran AS (SELECT {GRUPO}, id_pago, id_origen, monto FROM cambios WHERE motivo IS NULL),
        salen AS (SELECT {GRUPO}, id_pago, id_origen, monto FROM viejos_h),
        -- ids that left their group for good; a correction in place writes its id back to the same group
        se_van AS (SELECT {GRUPO}, id_origen FROM salen ANTI JOIN entran USING ({GRUPO}, id_pago))
        SELECT {GRUPO}, sum(pagos) AS pagos, CAST(sum(monto) AS DECIMAL(18,2)) AS monto, min(lo) AS lo,
               max(hi) AS hi, min(lo_fuera) AS lo_fuera, max(hi_fuera) AS hi_fuera
        FROM (SELECT {GRUPO}, count(*) AS pagos, sum(monto) AS monto, min(id_origen) AS lo, max(id_origen) AS hi,
                     CAST(NULL AS BIGINT) AS lo_fuera, CAST(NULL AS BIGINT) AS hi_fuera FROM entran GROUP BY ALL
              UNION ALL SELECT {GRUPO}, -count(*), -sum(monto), NULL, NULL, NULL, NULL FROM salen GROUP BY ALL
              UNION ALL SELECT {GRUPO}, 0, 0, NULL, NULL, min(id_origen), max(id_origen) FROM se_van GROUP BY ALL)
        GROUP BY ALL""")
    days = _date_list(con, "SELECT DISTINCT fecha_pago FROM delta ORDER BY 1")
    if not days:
        return 0
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rollup_nuevo AS
        SELECT {GRUPO}, coalesce(r.pagos, 0) + d.pagos AS pagos,
               CAST(coalesce(r.monto, 0) + d.monto AS DECIMAL(18,2)) AS monto,
               least(r.id_origen_min, d.lo) AS id_origen_min, greatest(r.id_origen_max, d.hi) AS id_origen_max,
               r.pagos IS NOT NULL AND (r.id_origen_min IS NULL OR coalesce(
                   d.lo_fuera <= r.id_origen_min OR d.hi_fuera >= r.id_origen_max, false)) AS releer
        FROM delta d LEFT JOIN (SELECT * FROM pagos_diario_sucursal WHERE fecha_pago IN {_in_dates(days)}) r
        USING ({GRUPO})""")
    reread = _date_list(con, "SELECT DISTINCT fecha_pago FROM rollup_nuevo WHERE releer AND pagos > 0 ORDER BY 1")
    if reread:
        con.execute(f"""
            UPDATE rollup_nuevo SET id_origen_min = x.lo, id_origen_max = x.hi
            FROM (SELECT {GRUPO}, min(id_origen) AS lo, max(id_origen) AS hi
                  FROM pagos_historicos h SEMI JOIN (SELECT {GRUPO} FROM rollup_nuevo WHERE releer) USING ({GRUPO})
                  WHERE fecha_pago IN {_in_dates(reread)} GROUP BY ALL) x
            WHERE rollup_nuevo.fecha_pago = x.fecha_pago AND rollup_nuevo.sucursal = x.sucursal
              AND rollup_nuevo.status_pago = x.status_pago""")
    con.execute(f"""
        DELETE FROM pagos_diario_sucursal r USING rollup_nuevo n
        WHERE r.fecha_pago IN {_in_dates(days)} AND r.fecha_pago = n.fecha_pago AND r.sucursal = n.sucursal
          AND r.status_pago = n.status_pago""")
    con.execute(f"""
        INSERT INTO pagos_diario_sucursal
        SELECT {GRUPO}, pagos, monto, id_origen_min, id_origen_max FROM rollup_nuevo WHERE pagos > 0
        ORDER BY {GRUPO}""")
    return len(days)


def _recompute_rollup(con, days: list[str]) -> None:
    """Rebuild the rollup rows of exactly the days whose payments changed (zone maps prune the read)."""
    if not days:
        return
    con.execute(f"DELETE FROM pagos_diario_sucursal WHERE fecha_pago IN {_in_dates(days)}")
    con.execute(f"""
        INSERT INTO pagos_diario_sucursal
        SELECT fecha_pago, sucursal, status_pago, count(*) AS pagos, CAST(sum(monto) AS DECIMAL(18,2)) AS monto,
               min(id_origen) AS id_origen_min, max(id_origen) AS id_origen_max
        FROM pagos_historicos WHERE fecha_pago IN {_in_dates(days)}
        GROUP BY ALL ORDER BY fecha_pago, sucursal, status_pago""")


def merge_day(con: duckdb.DuckDBPyConnection, fecha: str, inputs: dict[str, pa.Table],
              branch_zones: dict[str, str]) -> MergeStats:
    """Merge one day's extracts (`extracts.read_day`) in one transaction: all of the day or nothing."""
    ensure_tables(con)
    _session(con, branch_zones)
    stats = MergeStats(fecha=fecha, rows_in={k: v.num_rows for k, v in inputs.items()})
    for name, table in inputs.items():
        con.register(f"in_{name}", table)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("""
            INSERT INTO pagos_bajas SELECT tabla, sucursal, id, max(fecha) FROM in_bajas GROUP BY ALL
            ON CONFLICT DO UPDATE SET fecha_baja = greatest(pagos_bajas.fecha_baja, excluded.fecha_baja)""")
        for source in DIMENSIONS:
            _merge_dimension(con, source)
        _merge_pagos(con, stats)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in inputs:
            con.unregister(f"in_{name}")
    return stats

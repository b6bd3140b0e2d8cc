"""The fix for a degraded layout of the payments tables: compaction (rewrite a table in its sort order).

What degrades is measured by the warehouse resource (`WarehouseResource.layout_health`, in
resources/warehouse_layout.py) and judged by the checks in pagos/checks.py, which name this fix on DuckDB.
"""

from __future__ import annotations

import duckdb

COMPACT_ORDER = {"pagos_historicos": "fecha_pago, id_cliente", "pagos_por_cliente": "id_cliente, fecha_pago"}
FIX = ("re-sort the table: materialize pagos/pagos_historicos with run config "
       "`ops: {{pagos_merge: {{config: {{compactar: true}}}}}}`, or run podemos_assets.pagos.layout.compact(con, '{table}')")


def compact(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Rewrite `table` in its sort order: tight zone maps, no deleted rows, full row groups; for the client
    projection, without its retired rows (the merge only appends them: merge.CURRENT_POR_CLIENTE)."""
    from podemos_assets.pagos.ddl import duckdb_create
    from podemos_assets.pagos.merge import CURRENT_POR_CLIENTE, RETIRADOS, TABLES

    tmp = f"{table}__compactando"
    rows = CURRENT_POR_CLIENTE if table == "pagos_por_cliente" else f"SELECT * FROM {table}"
    con.execute("BEGIN TRANSACTION")
    con.execute(f"DROP TABLE IF EXISTS {tmp}")
    con.execute(duckdb_create(TABLES[table], tmp))
    con.execute(f"INSERT INTO {tmp} SELECT * FROM ({rows}) ORDER BY {COMPACT_ORDER[table]}")
    if table == "pagos_por_cliente":
        con.execute(f"DELETE FROM {RETIRADOS}")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {tmp} RENAME TO {table}")
    con.execute("COMMIT")
    con.execute("CHECKPOINT")

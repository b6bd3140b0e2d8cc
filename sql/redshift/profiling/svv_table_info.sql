-- Layout health of the payments tables (the columns RedshiftWarehouse.layout_health reads, one table at a time,
-- for the `pagos` layout checks).
-- unsorted:  % of rows outside the sort order; > 20 means date-range scans read many extra blocks
--            (fix: VACUUM SORT ONLY pagos_historicos TO 99 PERCENT).
-- stats_off: how stale the planner statistics are (0 = fresh); > 10 means bad join and scan plans
--            (fix: ANALYZE pagos_historicos).
-- skew_rows: rows on the fullest slice / rows on the emptiest; > 4 means one slice does the work of
--            several (fix: review the DISTKEY, e.g. a client with an outsized history).
SELECT "schema", "table", tbl_rows, size AS size_mb, unsorted, stats_off, skew_rows, diststyle, sortkey1, encoded
FROM svv_table_info
WHERE "table" IN ('pagos_historicos', 'pagos_cuarentena', 'pagos_por_cliente')
ORDER BY "table";

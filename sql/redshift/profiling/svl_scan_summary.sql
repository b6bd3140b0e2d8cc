-- How each recent report scanned pagos_historicos: is_rrscan = 't' means a range-restricted scan (the
-- sort key pruned blocks). Rows scanned far above rows returned, or is_rrscan = 'f' on a date-filtered
-- report, means the sort key is not helping: the table is unsorted (VACUUM SORT ONLY) or the filter is
-- not on fecha_pago (e.g. wrapped in a function or compared as text).
SELECT s.query, TRIM(s.perm_table_name) AS table_name, s.is_rrscan, s.rows, s.rows_pre_filter,
       s.bytes / 1048576.0 AS mb_scanned, s.avgtime / 1000000.0 AS avg_s
FROM svl_scan_summary s
JOIN stl_query q ON q.query = s.query
WHERE q.starttime > DATEADD(day, -7, GETDATE())
  AND TRIM(s.perm_table_name) = 'pagos_historicos'
ORDER BY s.rows_pre_filter DESC
LIMIT 50;

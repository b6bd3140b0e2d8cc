-- The slowest queries on pagos_historicos in the last 7 days: which reports degraded, and since when.
-- A report whose elapsed time grows with the table (not with its date range) is not pruning by
-- fecha_pago: compare its svl_scan_summary rows with the table's unsorted % in svv_table_info.
SELECT q.query, q.userid, TRIM(q.label) AS label, q.starttime,
       DATEDIFF(ms, q.starttime, q.endtime) / 1000.0 AS elapsed_s,
       LEFT(TRIM(q.querytxt), 200) AS sql_text
FROM stl_query q
WHERE q.starttime > DATEADD(day, -7, GETDATE())
  AND q.querytxt ILIKE '%pagos_historicos%'
ORDER BY elapsed_s DESC
LIMIT 50;

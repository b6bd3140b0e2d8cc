-- Queue time versus execution time of the payment reports (last 7 days). Long queue time with short
-- execution means WLM concurrency (too few slots or a memory-hungry neighbour), not table layout;
-- long execution means the layout or the query: look at svl_scan_summary for the same query id.
SELECT w.query, w.service_class, w.queue_start_time,
       w.total_queue_time / 1000000.0 AS queue_s,
       w.total_exec_time / 1000000.0 AS exec_s
FROM stl_wlm_query w
JOIN stl_query q ON q.query = w.query
WHERE q.starttime > DATEADD(day, -7, GETDATE())
  AND q.querytxt ILIKE '%pagos_historicos%'
ORDER BY w.total_queue_time + w.total_exec_time DESC
LIMIT 50;

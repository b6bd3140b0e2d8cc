-- A client's payment history: a view over the client-ordered projection, so `where id_cliente = ?`
-- reads one row group (plus one per day appended since the last compaction), not the whole table.
{{ config(materialized='view') }}

select id_cliente, fecha_pago, id_pago, id_prestamo, monto, status_pago, sucursal
from {{ source('pagos', 'pagos_por_cliente') }}

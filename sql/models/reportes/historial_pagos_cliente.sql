-- A client's payment history: a view over the client-ordered projection, so `where id_cliente = ?`
-- reads one row group (plus one per day appended since the last compaction), not the whole table.
-- The daily merge only appends to the projection: a superseded row is retired in
-- pagos_por_cliente_retirados, and what the projection holds is its rows minus the retired ones as a
-- multiset (podemos_assets/pagos/merge.py, CURRENT_POR_CLIENTE); compaction applies the retirements.
{{ config(materialized='view') }}
{% set proyeccion = source('pagos', 'pagos_por_cliente') %}
{% set retirados = api.Relation.create(database=proyeccion.database, schema=proyeccion.schema,
                                       identifier='pagos_por_cliente_retirados') %}

select id_cliente, fecha_pago, id_pago, id_prestamo, monto, status_pago, sucursal
from {{ proyeccion }}
except all
select id_cliente, fecha_pago, id_pago, id_prestamo, monto, status_pago, sucursal
from {{ retirados }}

-- Monthly summary by branch and payment status, from the daily rollup (a few hundred thousand rows
-- after five years), so a full-history run never scans pagos_historicos.
{{ config(materialized='table', dist='sucursal', sort=['mes', 'sucursal']) }}

select
    cast({{ dbt.date_trunc("month", "fecha_pago") }} as date) as mes,
    sucursal,
    status_pago,
    sum(pagos) as pagos,
    cast(sum(monto) as decimal(18, 2)) as monto
from {{ source('pagos', 'pagos_diario_sucursal') }}
group by 1, 2, 3

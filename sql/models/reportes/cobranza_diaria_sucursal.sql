-- Daily collections by branch, one partition (day) per run: reads the small daily rollup, not the table.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='fecha_pago',
    dist='sucursal',
    sort=['fecha_pago', 'sucursal'],
) }}

select
    fecha_pago,
    sucursal,
    sum(case when status_pago = 'APLICADO' then pagos else 0 end) as pagos_aplicados,
    sum(case when status_pago = 'REVERSO' then pagos else 0 end) as pagos_reversados,
    cast(sum(case when status_pago = 'APLICADO' then monto else 0 end) as decimal(18, 2)) as monto_cobrado,
    cast(sum(case when status_pago = 'REVERSO' then monto else 0 end) as decimal(18, 2)) as monto_reversado,
    cast(sum(monto) as decimal(18, 2)) as monto_neto
from {{ source('pagos', 'pagos_diario_sucursal') }}
where fecha_pago >= cast('{{ var("min_date") }}' as date)
  and fecha_pago < cast('{{ var("max_date") }}' as date)
group by fecha_pago, sucursal

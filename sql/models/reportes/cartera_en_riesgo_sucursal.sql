-- Portfolio at risk (PAR) by branch at each day of the window: the outstanding balance of active loans
-- by days past the oldest unpaid instalment (calendario_pagos), in buckets 1-30, 31-60, 61-90, 90+.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='fecha_corte',
    dist='sucursal',
    sort=['fecha_corte', 'sucursal'],
) }}

with cortes as (
    select distinct fecha_pago as fecha_corte
    from {{ source('pagos', 'pagos_diario_sucursal') }}
    where fecha_pago >= cast('{{ env_var("PODEMOS_DBT_MIN_DATE") }}' as date)
      and fecha_pago < cast('{{ env_var("PODEMOS_DBT_MAX_DATE") }}' as date)
),
activas as (
    select id_prestamo, sucursal, saldo from {{ source('pagos', 'cuentas') }} where estatus = 'ACTIVA'
),
atraso as (
    select c.fecha_corte, k.id_prestamo,
           {{ dbt.datediff("min(k.fecha_vencimiento)", "c.fecha_corte", "day") }} as dias_atraso
    from cortes c
    join {{ source('pagos', 'calendario_pagos') }} k
      on k.fecha_vencimiento < c.fecha_corte and k.estatus <> 'PAGADO'
    group by c.fecha_corte, k.id_prestamo
)
select
    c.fecha_corte,
    a.sucursal,
    count(*) as cuentas_activas,
    cast(sum(a.saldo) as decimal(18, 2)) as cartera_total,
    cast(sum(case when r.dias_atraso between 1 and 30 then a.saldo else 0 end) as decimal(18, 2)) as par_1_30,
    cast(sum(case when r.dias_atraso between 31 and 60 then a.saldo else 0 end) as decimal(18, 2)) as par_31_60,
    cast(sum(case when r.dias_atraso between 61 and 90 then a.saldo else 0 end) as decimal(18, 2)) as par_61_90,
    cast(sum(case when r.dias_atraso > 90 then a.saldo else 0 end) as decimal(18, 2)) as par_90_mas
from cortes c
cross join activas a
left join atraso r on r.fecha_corte = c.fecha_corte and r.id_prestamo = a.id_prestamo
group by c.fecha_corte, a.sucursal

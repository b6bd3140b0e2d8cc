-- Daily collections by branch: reads the small daily rollup, not the table. A run rebuilds its partition
-- window and every other payment date whose rollup no longer matches what this table holds, because a
-- merge of a later extraction day can change an old payment date (a late commit, a delete, a catch-up).
-- The post-hook drops a date that has no payment left at all.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='fecha_pago',
    dist='sucursal',
    sort=['fecha_pago', 'sucursal'],
    post_hook="delete from {{ this }} where fecha_pago not in (select fecha_pago from {{ source('pagos', 'pagos_diario_sucursal') }})",
) }}

with diario as (
    select
        fecha_pago,
        sucursal,
        sum(case when status_pago = 'APLICADO' then pagos else 0 end) as pagos_aplicados,
        sum(case when status_pago = 'REVERSO' then pagos else 0 end) as pagos_reversados,
        cast(sum(case when status_pago = 'APLICADO' then monto else 0 end) as decimal(18, 2)) as monto_cobrado,
        cast(sum(case when status_pago = 'REVERSO' then monto else 0 end) as decimal(18, 2)) as monto_reversado,
        cast(sum(monto) as decimal(18, 2)) as monto_neto
    from {{ source('pagos', 'pagos_diario_sucursal') }}
    group by fecha_pago, sucursal
){% if is_incremental() %},
cambiados as (
    select fecha_pago from (select * from diario except select * from {{ this }}) nuevos
    union
    select fecha_pago from (select * from {{ this }} except select * from diario) viejos
){% endif %}

select * from diario
where (fecha_pago >= cast('{{ env_var("PODEMOS_DBT_MIN_DATE") }}' as date)
       and fecha_pago < cast('{{ env_var("PODEMOS_DBT_MAX_DATE") }}' as date))
{% if is_incremental() %}
   or fecha_pago in (select fecha_pago from cambiados)
{% endif %}

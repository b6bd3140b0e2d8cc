-- Daily collections add up, to the cent, to the rollup they are built from (for the days they hold).
select r.fecha_pago, r.sucursal, r.monto_rollup, c.monto_neto
from (
    select fecha_pago, sucursal, sum(monto) as monto_rollup
    from {{ source('pagos', 'pagos_diario_sucursal') }}
    group by fecha_pago, sucursal
) r
join {{ ref('cobranza_diaria_sucursal') }} c on c.fecha_pago = r.fecha_pago and c.sucursal = r.sucursal
where r.monto_rollup <> c.monto_neto

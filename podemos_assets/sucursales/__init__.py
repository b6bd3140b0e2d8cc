"""Capability `sucursales`: incremental extraction of the 200 branch databases (docs/sucursales.md).

Exposes `defs`, merged by definitions.py, built on first access (PEP 562) rather than at import:
`podemos backfill` validates its arguments through `sucursales.cli` and `sucursales.registry`, and a bad
date or an unknown branch must be answered before Dagster is imported (docs/sucursales.md)."""


def __getattr__(name: str):
    if name != "defs":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import dagster as dg

    from podemos_assets.sucursales.assets import extraccion_sucursales
    from podemos_assets.sucursales.automation import sucursales_automatizacion
    from podemos_assets.sucursales.conciliacion import conciliacion_sucursales
    from podemos_assets.sucursales.meses_cerrados import meses_cerrados

    defs = dg.Definitions(
        assets=[extraccion_sucursales, conciliacion_sucursales, meses_cerrados],
        sensors=[sucursales_automatizacion],
    )
    globals()["defs"] = defs  # built once: later reads find the module attribute, not this hook
    return defs

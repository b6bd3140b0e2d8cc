"""The lake layout: every path, as a function, relative to `PODEMOS_LAKE_URL` (Hive-style `key=value` folders).

Writers and readers in different capabilities meet here; nobody spells a path out. A day argument may
be a `date` or, for a glob, `"*"`.
"""

from __future__ import annotations

from datetime import date

RAW_SUCURSALES = "raw/sucursales"


def _day(fecha: date | str) -> str:
    return fecha.isoformat() if isinstance(fecha, date) else fecha


# --- branch extracts (sucursales writes; pagos and the Spark job read) ------------------------------
def branch_day_prefix(tabla: str, fecha: date | str, root: str = "raw") -> str:
    """Every branch's extract of `tabla` for branch-local day `fecha`."""
    return f"{root}/sucursales/{tabla}/fecha={_day(fecha)}/"


def branch_extract(tabla: str, fecha: date | str, sucursal: str, root: str = "raw") -> str:
    """One branch-day's extract; `root="cuarentena"` for its quarantine."""
    return f"{branch_day_prefix(tabla, fecha, root)}sucursal={sucursal}/part-0.parquet"


def tombstones_prefix(tabla: str, sucursal: str | None = None) -> str:
    return f"{RAW_SUCURSALES}/_bajas/{tabla}/" + (f"sucursal={sucursal}/" if sucursal else "")


def tombstones(tabla: str, sucursal: str, fecha: date | str) -> str:
    """Rows of `tabla` deleted at a branch, detected on `fecha`."""
    return f"{tombstones_prefix(tabla, sucursal)}fecha={_day(fecha)}/part-0.parquet"


# Per branch-day sidecars, branch first in the path: one listing per branch.
def key_index_prefix(sucursal: str) -> str:
    return f"{RAW_SUCURSALES}/_claves/sucursal={sucursal}/"


def key_index(sucursal: str, fecha: date | str) -> str:
    """Every (tabla, id) ever extracted for that branch-day (only grows: evidence of later deletes)."""
    return f"{key_index_prefix(sucursal)}fecha={_day(fecha)}/part-0.parquet"


def fingerprint_prefix(sucursal: str) -> str:
    return f"{RAW_SUCURSALES}/_huellas/sucursal={sucursal}/"


def fingerprint(sucursal: str, fecha: date | str) -> str:
    """What the lake holds for that branch-day (extract + quarantine): rows and SUM(monto) per table."""
    return f"{fingerprint_prefix(sucursal)}fecha={_day(fecha)}/huella.json"


def fingerprint_differences(sucursal: str, fecha: date | str) -> str:
    return f"{RAW_SUCURSALES}/_huellas_diferencias/sucursal={sucursal}/fecha={_day(fecha)}/part-0.parquet"


def hive_fecha(key: str) -> date:
    """The `fecha=` of a Hive-style lake path."""
    return date.fromisoformat(key.split("fecha=", 1)[1][:10])


# --- field events (the ingestion endpoint writes the landing; campo the rest) ---------------------------
FIELD_LANDING = "landing/campo/"


def field_landing_day(recibido: date | str) -> str:
    return f"{FIELD_LANDING}recibido={_day(recibido)}/"


def field_photo(sha256: str) -> str:
    return f"{FIELD_LANDING}fotos/{sha256}"


def field_table_prefix(tabla: str) -> str:
    return f"curated/campo/{tabla}/"


def field_table_day_prefix(tabla: str, fecha: date | str) -> str:
    return f"{field_table_prefix(tabla)}fecha_evento={_day(fecha)}/"


def field_table_day(tabla: str, fecha: date | str) -> str:
    return f"{field_table_day_prefix(tabla, fecha)}part-0.parquet"


def field_quarantine_day(fecha: date | str) -> str:
    return f"cuarentena/campo/fecha_evento={_day(fecha)}/part-0.parquet"


# The lake assets other capabilities read by day (regulatorio's `lake` sources name the asset): campo's
# curated tables, asset `{tabla}_campo`.
_DAY_PREFIX_OF_ASSET = {f"{t}_campo": t for t in ("pagos", "checkins", "fotos", "visitas")}


def asset_day_prefix(asset: str, fecha: date | str) -> str:
    """The folder holding lake asset `asset`'s rows of day `fecha`."""
    if asset not in _DAY_PREFIX_OF_ASSET:
        raise KeyError(f"{asset!r} is not a lake asset read by day; known: {sorted(_DAY_PREFIX_OF_ASSET)}")
    return field_table_day_prefix(_DAY_PREFIX_OF_ASSET[asset], fecha)


# --- regulatory extracts (regulatorio) ----------------------------------------------------------------
def regulatory_day_prefix(fuente: str, fecha: date | str) -> str:
    return f"raw/regulatorio/{fuente}/fecha={_day(fecha)}/"


def regulatory_refusals_prefix(fuente: str, fecha: date | str) -> str:
    """Refusals of a source's files for a day, one JSON per refused content (named by its sha256)."""
    return f"cuarentena/regulatorio/{fuente}/fecha={_day(fecha)}/"


# --- bulk re-consolidation of payments (the Spark job) ---------------------------------------------------
def payments_bulk(tabla: str, desde: date | str, hasta: date | str) -> str:
    """A run over extract days [desde, hasta] replaces this folder only."""
    return f"curated/pagos/{tabla}/desde={_day(desde)}/hasta={_day(hasta)}"

"""The campo tables (pandera models): the single source of their descriptions and classifications.

Exact GPS is PII: it never reaches a curated table; `checkins_campo` carries coordinates coarsened to
0.01° (about 1.1 km), and the exact values stay in the landing zone and the quarantine (restricted).
"""

from __future__ import annotations

import pandera.pandas as pda

from podemos_assets.contracts.types import Date, Float, Instant, Int, Money, Text
from podemos_assets.contracts.vocabulary import Classification as C
from podemos_assets.contracts.vocabulary import column
from podemos_assets.ingesta import protocol as p

UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class _Event(pda.DataFrameModel):
    """Columns every curated field-event table shares."""

    event_id: Text = column("Client-generated UUID of the event (unique per table)", C.SENSIBLE,
                            unique=True, str_matches=UUID_RE)
    device_id: Text = column("Device that captured the event", C.SENSIBLE)
    asesor: Text = column("Field officer (asesor) id logged in on the device", C.SENSIBLE, nullable=True)
    sucursal: Text = column("Branch of the officer", C.PUBLICO, nullable=True)
    region: Text = column("Region (state) of the branch", C.PUBLICO, nullable=True)
    hora_dispositivo: Instant = column("Event time by the device clock, as sent", C.PUBLICO)
    hora_recepcion: Instant = column("When the server first received the event (server clock)", C.PUBLICO)
    desfase_reloj_s: Float = column("Device clock minus server clock, estimated from the batch's sent_at "
                                    "against receipt (0 when within 60 s)", C.PUBLICO)
    hora_evento: Instant = column("Corrected event time: device time minus the clock offset, never after "
                                    "receipt", C.PUBLICO)
    fecha_evento: Date = column("Business day of the corrected event time in America/Mexico_City (partition)",
                                C.PUBLICO)
    lote_id: Text = column("Batch (landing file) the event was first received in", C.SENSIBLE)

    class Config:
        strict = True
        coerce = False


class EventosCampo(_Event):
    tipo: Text = column("Event type", C.PUBLICO, isin=list(p.EVENT_TYPES))


class PagosCampo(_Event):
    cuenta: Text = column("Loan account the payment was collected for", C.SENSIBLE)
    monto: Money = column("Amount collected, MXN", C.SENSIBLE, gt=0)
    metodo: Text = column("Payment method", C.PUBLICO, isin=list(p.PAYMENT_METHODS))


class CheckinsCampo(_Event):
    lat_aprox: Float = column("Latitude coarsened to 0.01 degree (~1.1 km); the exact value is PII and "
                              "stays in the landing zone", C.SENSIBLE, ge=p.LAT_RANGE[0], le=p.LAT_RANGE[1])
    lon_aprox: Float = column("Longitude coarsened to 0.01 degree (~1.1 km)", C.SENSIBLE,
                              ge=p.LON_RANGE[0], le=p.LON_RANGE[1])
    precision_m: Float = column("GPS accuracy reported by the device, metres", C.PUBLICO, ge=0)


class FotosCampo(_Event):
    sha256: Text = column("SHA-256 of the photo (its content address)", C.SENSIBLE, str_matches=r"^[0-9a-f]{64}$")
    bytes: Int = column("Photo size in bytes", C.PUBLICO, gt=0)
    mime: Text = column("Photo media type", C.PUBLICO, isin=list(p.PHOTO_MIMES))
    object_key: Text = column("Lake key of the photo", C.SENSIBLE)


class VisitasCampo(_Event):
    grupo: Text = column("Lending group visited", C.SENSIBLE, nullable=True)
    cliente: Text = column("Client visited (id)", C.SENSIBLE, nullable=True)
    resultado: Text = column("Outcome of the visit", C.PUBLICO, isin=list(p.VISIT_OUTCOMES))


class CuarentenaCampo(pda.DataFrameModel):
    """Events kept out of the curated tables, with the reason; never merged, never dropped."""

    event_id: Text = column("Event id as sent (null when missing)", C.SENSIBLE, nullable=True)
    device_id: Text = column("Device that sent it (null for a landing line that could not be read)", C.SENSIBLE,
                             nullable=True)
    lote_id: Text = column("Batch it arrived in (null for a landing line that could not be read)", C.SENSIBLE,
                           nullable=True)
    estado: Text = column("Status given at ingestion", C.PUBLICO, isin=["conflict", "rejected", "invalid"])
    motivo: Text = column("Why it is quarantined: the field and the rule, never the value", C.PUBLICO)
    hora_recepcion: Instant = column("When the server received it", C.PUBLICO)
    fecha_evento: Date = column("Partition: corrected event day, or the receipt day when unknown", C.PUBLICO)
    contenido: Text = column("The event as received (JSON; may hold exact GPS)", C.PII)

    class Config:
        strict = True


class MetricasCampo(pda.DataFrameModel):
    """Ingestion monitoring per event day: one row per (dimension, key)."""

    fecha_evento: Date = column("Event day (partition)", C.PUBLICO)
    dimension: Text = column("What the row measures: total, region or device", C.PUBLICO,
                             isin=["total", "region", "dispositivo"])
    clave: Text = column("Region name or device id; 'todos' for the total", C.SENSIBLE)
    eventos: Int = column("Curated events", C.PUBLICO, ge=0)
    cuarentena: Int = column("Quarantined events", C.PUBLICO, ge=0)
    tasa_cuarentena: Float = column("cuarentena / (eventos + cuarentena)", C.PUBLICO, ge=0, le=1)
    latencia_p50_s: Float = column("Median seconds from corrected event time to receipt", C.PUBLICO, nullable=True)
    latencia_p95_s: Float = column("95th percentile seconds event -> receipt", C.PUBLICO, nullable=True)
    latencia_p99_s: Float = column("99th percentile seconds event -> receipt", C.PUBLICO, nullable=True)
    ultima_recepcion: Instant = column("Latest receipt time among the row's events", C.PUBLICO, nullable=True)

    class Config:
        strict = True


TABLES: dict[str, type[pda.DataFrameModel]] = {
    "eventos": EventosCampo,
    "pagos": PagosCampo,
    "checkins": CheckinsCampo,
    "fotos": FotosCampo,
    "visitas": VisitasCampo,
}
TYPE_TABLE = {"pago": "pagos", "geolocalizacion": "checkins", "foto": "fotos", "visita": "visitas"}

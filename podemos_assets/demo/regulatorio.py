"""Demo part `regulatorio`: each day's 13 source files in their real formats, with control totals.

`generate` writes every file to a staging area (`PODEMOS_SOURCES_URL/_por_llegar/`) with its planned
arrival time (`_por_llegar/plan.json`); `arrive_due(settings, now)` moves into the drop zone
(`{fecha}/{file}`, mtime = planned arrival) every staged file due by `now`, once, so a simulated night sees
files land as senders would send them. Seeded and deterministic. Planted (with `trouble`): on the last day
the required `spei` arrives at 07:00, after the 05:30 cut-off (a partial, then a complete version); on the
day before, `seguros.csv` arrives with a broken row and is never corrected, and `contabilidad_gl.csv`
arrives broken and is re-sent corrected 40 minutes later.
The two warehouse / lake sources (branch payments, field payments) belong to their capabilities;
`write_lake_sources` writes contract-shaped stand-ins of the field payments for tests and the benchmark, and
`write_branch_extracts` a day of branch extracts for the payments merge (the benchmark's volume).
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tempfile
import zlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from podemos_assets.contracts import arrow_schema
from podemos_assets.contracts import lake as paths
from podemos_assets.regulatorio.readers import CONTROL_PREFIX
from podemos_assets.regulatorio.registry import TZ, Source, load_sources
from podemos_assets.regulatorio.report import pin_zip
from podemos_assets.regulatorio.schemas import SOURCE_MODELS
from podemos_assets.resources import LakeResource

LATE_SOURCE = "spei"
MALFORMED_SOURCE = "seguros"
RESENT_SOURCE = "contabilidad_gl"  # broken first, corrected 40 minutes later
STAGING_DIR = "_por_llegar"
PLAN_KEY = f"{STAGING_DIR}/plan.json"
# Rows per day at scale 1 (the demo); the benchmark uses ~5M rows in total.
BASE_ROWS = {
    "core_creditos": 4000, "clientes_kyc": 12000, "contabilidad_gl": 300, "tesoreria": 40, "spei": 600,
    "corresponsales": 800, "buro_credito": 500, "pld_alertas": 60, "cobranza": 900, "seguros": 400,
    "quejas_condusef": 25, "asesores": 600, "catalogos_cnbv": 200, "sucursales_pagos": 6000, "app_campo": 1500,
}
CAUSAS = ["Cobro indebido", "Atención deficiente", "Cargo no reconocido", "Información incorrecta"]
NOMBRES = ["María", "Guadalupe", "Juana", "Margarita", "Verónica", "Leticia", "Rosa", "Sofía", "Begoña"]


def _money(rng: np.random.Generator, n: int, lo: int, hi: int) -> pa.Array:
    """Exact decimal128(18,2) amounts from integer cents (never via float)."""
    cents = pa.array(rng.integers(lo * 100, hi * 100, n), pa.int64())
    s = pc.utf8_lpad(pc.cast(cents, pa.string()), 3, "0")
    return pc.cast(pc.binary_join_element_wise(pc.utf8_slice_codeunits(s, 0, -2), pc.utf8_slice_codeunits(s, -2, 99), "."),
                   pa.decimal128(18, 2))


def _pick(rng, values, n, p=None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=object)[rng.choice(len(values), n, p=p)], pa.string())


def _ids(prefix: str, start: int, n: int, width: int) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(pc.cast(pa.array(np.arange(start, start + n)), pa.string()),
                                                           width, "0"), "")


def make_table(name: str, fecha: str, n: int, rng: np.random.Generator, branches: int = 200) -> pa.Table:
    """A typed table for source `name` (its model's Arrow schema)."""
    suc = pc.binary_join_element_wise("suc_", pc.utf8_lpad(pc.cast(pa.array(rng.integers(1, branches + 1, n)),
                                                                  pa.string()), 3, "0"), "")
    ints = lambda lo, hi: pa.array(rng.integers(lo, hi, n), pa.int64())  # noqa: E731
    d = date.fromisoformat(fecha)
    cols = {
        "core_creditos": lambda: dict(cuenta_id=pa.array(np.arange(1, n + 1), pa.int64()), sucursal=suc,
                                      producto=_pick(rng, ["GRUPAL", "INDIVIDUAL", "EMERGENTE"], n, [0.8, 0.15, 0.05]),
                                      saldo=_money(rng, n, 0, 60000),
                                      dias_atraso=pa.array(np.where(rng.random(n) < 0.8, 0, rng.integers(1, 150, n)), pa.int64()),
                                      estatus=_pick(rng, ["ACTIVA", "CASTIGADA"], n, [0.97, 0.03])),
        "sucursales_pagos": lambda: dict(id=pa.array(np.arange(1, n + 1), pa.int64()), cuenta_id=ints(1, 400000),
                                         monto=_money(rng, n, 50, 3000), canal=_pick(rng, ["VENTANILLA", "CAJA"], n),
                                         sucursal=suc),
        "app_campo": lambda: dict(event_id=_ids(f"{fecha}-", 0, n, 8), monto=_money(rng, n, 50, 2000)),
        "clientes_kyc": lambda: dict(cliente_id=pa.array(np.arange(1, n + 1), pa.int64()), sucursal=suc,
                                     curp=pc.binary_join_element_wise("GOMA", _ids("", 10**13, n, 14), ""),
                                     nivel_riesgo=_pick(rng, ["BAJO", "MEDIO", "ALTO"], n, [0.85, 0.12, 0.03]),
                                     fecha_alta=pa.array([d - timedelta(days=int(x)) for x in rng.integers(0, 2000, n)],
                                                         pa.date32())),
        "contabilidad_gl": lambda: dict(cuenta_contable=_ids("1", 1000, n, 6),
                                        descripcion=_pick(rng, ["Cartera de crédito", "Bancos", "Intereses cobrados",
                                                                "Estimación preventiva", "Comisiones por cobranza"], n),
                                        debe=_money(rng, n, 0, 500000), haber=_money(rng, n, 0, 500000)),
        "tesoreria": lambda: dict(cuenta_bancaria=_ids("CLABE****", 1000, n, 4),
                                  banco=_pick(rng, ["BBVA", "Banorte", "Santander", "Banamex"], n),
                                  saldo_inicial=_money(rng, n, 0, 9000000), saldo_final=_money(rng, n, 0, 9000000)),
        "spei": lambda: dict(clave_rastreo=_ids(f"PM{d:%Y%m%d}", 0, n, 10), tipo=_pick(rng, ["E", "R"], n, [0.7, 0.3]),
                             sucursal=suc, cuenta_id=ints(1, 400000), monto=_money(rng, n, 1000, 80000),
                             banco=_pick(rng, ["40012", "40072", "40014", "40002"], n)),
        "corresponsales": lambda: dict(folio=_ids("OX", 0, n, 12), corresponsal=_pick(rng, ["OXXO", "BANSEFI", "TELECOMM"], n),
                                       cuenta_id=ints(1, 400000), monto=_money(rng, n, 50, 3000)),
        "buro_credito": lambda: dict(cliente_id=ints(1, 400000), score=ints(300, 851), cuentas_abiertas=ints(0, 12)),
        "pld_alertas": lambda: dict(alerta_id=_ids("PLD-", 0, n, 8), cliente_id=ints(1, 400000),
                                    tipo=_pick(rng, ["RELEVANTE", "INUSUAL", "PREOCUPANTE"], n, [0.7, 0.25, 0.05]),
                                    monto=_money(rng, n, 0, 300000)),
        "cobranza": lambda: dict(gestion_id=pa.array(np.arange(1, n + 1), pa.int64()), cuenta_id=ints(1, 400000),
                                 resultado=_pick(rng, ["PROMESA", "PAGO", "SIN_CONTACTO"], n), monto_promesa=_money(rng, n, 0, 5000)),
        "seguros": lambda: dict(poliza=_ids("POL", 0, n, 9), cliente_id=ints(1, 400000), prima=_money(rng, n, 10, 300)),
        "quejas_condusef": lambda: dict(folio=_ids("REDECO-", 0, n, 6), cliente_id=ints(1, 400000),
                                        causa=_pick(rng, CAUSAS, n), estatus=_pick(rng, ["ABIERTA", "CERRADA"], n),
                                        monto_reclamado=_money(rng, n, 0, 20000)),
        "asesores": lambda: dict(asesor_id=pa.array(np.arange(1, n + 1), pa.int64()),
                                 nombre=pc.binary_join_element_wise(_pick(rng, NOMBRES, n), _ids("Asesora ", 0, n, 4), " "),
                                 sucursal=suc),
        "catalogos_cnbv": lambda: dict(catalogo=_pick(rng, ["PRODUCTO", "LOCALIDAD"], n), clave=_ids("K", 0, n, 5),
                                       descripcion=_pick(rng, ["Crédito grupal", "Localidad rural", "Región Bajío"], n)),
    }[name]()
    return pa.table(cols, schema=arrow_schema(SOURCE_MODELS[load_sources()[name].schema], nullability=False))


def control_of(source: Source, table: pa.Table) -> dict:
    return {"filas": table.num_rows, "sumas": {c: pc.sum(table[c]).as_py() or Decimal("0.00") for c in source.control}}


def render(source: Source, table: pa.Table, fecha: str) -> bytes:
    """The file as the sender writes it, control totals included."""
    control = control_of(source, table)
    if source.format == "csv":
        out = io.BytesIO()
        out.write((",".join(table.column_names) + "\n").encode())  # senders do not quote their header
        pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="none"))  # no commas in text
        trailer = ",".join([CONTROL_PREFIX, f"filas={control['filas']}"] + [f"{c}={v:.2f}" for c, v in control["sumas"].items()])
        return (out.getvalue().decode("utf-8") + trailer + "\n").encode(source.encoding)
    if source.format == "fixed":
        parts = []
        for name, (_start, width) in source.layout.items():
            col = table[name].combine_chunks()
            if pa.types.is_decimal(col.type):
                col = pc.utf8_lpad(pc.replace_substring(pc.cast(col, pa.string()), ".", ""), width, "0")
            elif pa.types.is_integer(col.type):
                col = pc.utf8_lpad(pc.cast(col, pa.string()), width, "0")
            else:
                col = pc.utf8_rpad(col, width, " ")
            parts.append(col)
        lines = pc.binary_join_element_wise("1", *parts, "").to_pylist()
        trailer = f"9{control['filas']:010d}" + "".join(f"{int(v * 100):018d}" for v in control["sumas"].values())
        return "\n".join([f"0{fecha.replace('-', '')}", *lines, trailer, ""]).encode(source.encoding)
    if source.format == "json":
        recs = [{k: (f"{v:.2f}" if isinstance(v, Decimal) else v) for k, v in r.items()} for r in table.to_pylist()]
        doc = {"fecha": fecha, "control": {"filas": control["filas"], "sumas": {c: f"{v:.2f}" for c, v in control["sumas"].items()}},
               "registros": recs}
        return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    if source.format == "xlsx":
        return _xlsx(table, control)
    if source.format == "db":
        return _sqlite(source, table, control)
    raise ValueError(source.format)


def _xlsx(table: pa.Table, control: dict) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("datos")
    ws.append(table.column_names)
    for row in zip(*[c.to_pylist() for c in table.columns]):
        ws.append([float(v) if isinstance(v, Decimal) else v for v in row])  # Excel stores numbers as doubles
    wc = wb.create_sheet("control")
    wc.append(["filas", control["filas"]])
    for c, v in control["sumas"].items():
        wc.append([c, f"{v:.2f}"])
    out = io.BytesIO()
    wb.save(out)
    return pin_zip(out.getvalue(), "2000-01-01T00:00:00Z")  # openpyxl stamps the wall clock: pin it


def _sqlite(source: Source, table: pa.Table, control: dict) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.sqlite")
        con = sqlite3.connect(path)
        con.execute(f"CREATE TABLE {source.table} ({', '.join(table.column_names)})")
        rows = zip(*[[None if v is None else (str(v) if isinstance(v, (Decimal, date)) else v) for v in c.to_pylist()]
                     for c in table.columns])
        con.executemany(f"INSERT INTO {source.table} VALUES ({', '.join('?' * table.num_columns)})", rows)
        con.execute("CREATE TABLE _control (medida TEXT, valor TEXT)")
        con.executemany("INSERT INTO _control VALUES (?, ?)",
                        [("filas", str(control["filas"]))] + [(c, f"{v:.2f}") for c, v in control["sumas"].items()])
        con.commit()
        con.close()
        with open(path, "rb") as f:
            return f.read()


def day_rng(seed: int, fecha: str, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, date.fromisoformat(fecha).toordinal(), zlib.crc32(name.encode())])


def source_bytes(name: str, fecha: str, seed: int = 42, scale: float = 1.0, branches: int = 200) -> bytes:
    return render(load_sources()[name], expected_table(name, fecha, seed, scale, branches), fecha)


def arrival_time(source: Source, fecha: str, rng: np.random.Generator) -> datetime:
    start, end = source.window_on(fecha)
    return start + (end - start) * float(rng.random()) * 0.9


def write_source(sources: LakeResource, name: str, fecha: str, data: bytes, arrived: datetime, prefix: str = "") -> str:
    """Drop one file in the drop zone, its mtime set to the (simulated) arrival time."""
    key = f"{prefix}{load_sources()[name].path(fecha)}"
    sources.write_bytes(key, data)
    if sources.is_local:
        ts = arrived.timestamp()
        os.utime(sources.local_path(key), (ts, ts))
    return key


def write_lake_sources(lake: LakeResource, fecha: str, seed: int = 42, scale: float = 1.0,
                       only: tuple[str, ...] = ("app_campo",), arrived: datetime | None = None) -> None:
    """Stand-in for the field-event output (curated field payments), in its contract's path and types."""
    keys = []
    if "app_campo" in only:
        c = make_table("app_campo", fecha, max(1, int(BASE_ROWS["app_campo"] * scale)), day_rng(seed, fecha, "app_campo"))
        keys.append(paths.field_table_day("pagos", fecha))
        lake.write_parquet(keys[-1], c)
    if arrived is not None and lake.is_local:
        for key in keys:
            os.utime(lake.local_path(key), (arrived.timestamp(), arrived.timestamp()))


def write_branch_extracts(lake: LakeResource, fecha: str, zones: dict[str, str], rows: int, seed: int = 42) -> pa.Table:
    """A day of branch payments as the branch ETL lands them (`contracts.lake.branch_extract`, the
    columns and types of pagos' input contract), with the loans and clients they name, for the payments merge
    to read: the regulator's branch payments come from the warehouse, so a volume test must go through it.
    Returns the payments written (id, cuenta_id, monto, canal, sucursal)."""
    from podemos_assets.pagos.extracts import INPUT_SCHEMAS

    t = make_table("sucursales_pagos", fecha, rows, day_rng(seed, fecha, "sucursales_pagos"), len(zones))
    day = datetime.fromisoformat(fecha)
    for suc in sorted(set(t["sucursal"].to_pylist())):
        part = t.filter(pc.equal(t["sucursal"], suc))
        n, zone = part.num_rows, zones[suc]
        paid = pc.add(pa.scalar(day + timedelta(hours=8), pa.timestamp("us")),
                      pa.array((np.arange(n) * 7 % 36000) * 1_000_000, pa.duration("us")))
        loans = pc.unique(part["cuenta_id"])
        opened = pa.array([day + timedelta(minutes=1)] * len(loans), pa.timestamp("us"))

        def lineage(local: pa.Array, k: int, suc: str = suc, zone: str = zone) -> dict:
            utc = pc.cast(pc.assume_timezone(local, zone), pa.timestamp("us", tz="UTC"))
            return {"sucursal": pa.array([suc] * k), "updated_at_utc": utc, "extraccion": pa.array([f"{fecha}|{suc}"] * k)}

        tables = {
            "transacciones": {"id": part["id"], "cuenta_id": part["cuenta_id"], "cliente_id": part["cuenta_id"],
                              "fecha": paid, "monto": part["monto"], "canal": part["canal"], "updated_at": paid,
                              **lineage(paid, n)},
            "cuentas": {"id": loans, "grupo_id": pa.array([1] * len(loans), pa.int64()),
                        "monto": pa.array([Decimal("5000.00")] * len(loans)), "saldo": pa.array([Decimal("1000.00")] * len(loans)),
                        "estatus": pa.array(["ACTIVA"] * len(loans)),
                        "fecha_desembolso": pa.array([date(2026, 9, 1)] * len(loans), pa.date32()),
                        "updated_at": opened, **lineage(opened, len(loans))},
            "clientes": {"id": loans, "updated_at": opened, **lineage(opened, len(loans))},
        }
        for tabla, columns in tables.items():
            schema = INPUT_SCHEMAS[tabla]
            table = pa.table({f.name: pc.cast(columns[f.name], f.type) for f in schema}, schema=schema)
            lake.write_parquet(paths.branch_extract(tabla, fecha, suc), table)
    return t


def expected_table(name: str, fecha: str, seed: int = 42, scale: float = 1.0, branches: int = 200) -> pa.Table:
    """The table behind a generated file (what a test compares the report with, independently)."""
    return make_table(name, fecha, max(1, int(BASE_ROWS[name] * scale)), day_rng(seed, fecha, name), branches)


def malformed(data: bytes) -> bytes:
    """A broken row: one field too many in the middle of the file."""
    lines = data.split(b"\n")
    lines[len(lines) // 2] += b",EXTRA"
    return b"\n".join(lines)


def _planned(sources: LakeResource, name: str, fecha: str, data: bytes, arrives: datetime, note: str,
             plan: list[dict]) -> None:
    staged = f"{STAGING_DIR}/{len(plan):05d}-{fecha}-{load_sources()[name].file}"
    sources.write_bytes(staged, data)
    plan.append({"staged": staged, "target": load_sources()[name].path(fecha), "fuente": name, "fecha": fecha,
                 "llega": arrives.isoformat(), "nota": note, "movido": False})


def generate(scenario, settings) -> dict:
    sources = LakeResource(url=settings.sources_url)
    names = [n for n, s in load_sources().items() if s.format not in ("lake", "warehouse")]
    late_day = scenario.dates[-1] if scenario.trouble else None  # yesterday: the night the demo lives through
    bad_day = scenario.dates[-2] if scenario.trouble and scenario.days >= 2 else None
    plan: list[dict] = []
    for d in scenario.dates:
        fecha = d.isoformat()
        for name in names:
            source = load_sources()[name]
            data = source_bytes(name, fecha, scenario.seed, branches=scenario.branches)
            arrived = arrival_time(source, fecha, day_rng(scenario.seed, fecha, "llegada-" + name))
            note = "a tiempo"
            if d == late_day and name == LATE_SOURCE:
                arrived, note = datetime.combine(d + timedelta(days=1), time(7, 0), TZ), \
                    "PLANTADO: llega tarde, después del corte de las 05:30"
            if d == bad_day and name == MALFORMED_SOURCE:
                data, note = malformed(data), "PLANTADO: un renglón roto; nunca se corrige"
            if d == bad_day and name == RESENT_SOURCE:
                first = source.window_on(fecha)[0] + timedelta(minutes=5)
                _planned(sources, name, fecha, malformed(data), first, "PLANTADO: llega roto (se reenvía corregido)",
                         plan)
                arrived, note = first + timedelta(minutes=40), "PLANTADO: reenvío corregido"
            _planned(sources, name, fecha, data, arrived, note, plan)
    plan.sort(key=lambda e: (e["llega"], e["staged"]))
    sources.write_bytes(PLAN_KEY, json.dumps(plan, ensure_ascii=False, indent=1).encode("utf-8"))
    return {"files": len(plan), "late": f"{LATE_SOURCE}@{late_day}" if late_day else None,
            "malformed": f"{MALFORMED_SOURCE}@{bad_day}" if bad_day else None,
            "resent": f"{RESENT_SOURCE}@{bad_day}" if bad_day else None}


def planted_sources(settings) -> list[str]:
    """One line per planted regulatory fault of the generated plan (late, broken, re-sent), for the summary."""
    sources = LakeResource(url=settings.sources_url)
    if not sources.exists(PLAN_KEY):
        return []
    notes: dict[str, list[str]] = {}
    for e in json.loads(sources.read_bytes(PLAN_KEY)):
        if e["nota"].startswith("PLANTADO"):
            notes.setdefault(f"{e['fuente']} {e['fecha']}", []).append(e["nota"].removeprefix("PLANTADO: "))
    return [f"{subject}: {'; then '.join(texts)}" for subject, texts in notes.items()]


def arrive_due(settings, now: datetime) -> list[str]:
    """Move into the drop zone every staged file planned to arrive by `now` and not moved yet (idempotent:
    a second call at the same time moves nothing). One line per file placed; planted faults say so."""
    sources = LakeResource(url=settings.sources_url)
    if not sources.exists(PLAN_KEY):
        return []
    plan = json.loads(sources.read_bytes(PLAN_KEY))
    lines = []
    for entry in plan:
        arrives = datetime.fromisoformat(entry["llega"])
        if entry["movido"] or arrives > now:
            continue
        sources.write_bytes(entry["target"], sources.read_bytes(entry["staged"]))
        if sources.is_local:
            os.utime(sources.local_path(entry["target"]), (arrives.timestamp(), arrives.timestamp()))
        entry["movido"] = True
        sources.write_bytes(PLAN_KEY, json.dumps(plan, ensure_ascii=False, indent=1).encode("utf-8"))
        lines.append(f"{entry['fuente']} {entry['fecha']} llegó a las {arrives.astimezone(TZ):%H:%M}"
                     + (f" ({entry['nota']})" if entry["nota"] != "a tiempo" else ""))
    return lines

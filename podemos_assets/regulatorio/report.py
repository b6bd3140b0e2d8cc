"""Build and deliver `reporte_regulatorio_diario`: CSV per section + XLSX + manifest.json, versioned.

Delivery is atomic: locally the version is written to a temp folder and renamed to `v{N}`; on S3 the
manifest is written last and a version counts only once its manifest exists. Versions are never
overwritten. Report files are byte-identical for the same inputs (fixed XLSX timestamps); only the
manifest's delivery facts (`entregado_en`, `a_tiempo`, `version_anterior`) depend on the delivery.
After each version the day's `indice.json` (every version with its state and reasons, in Spanish) and
`latest.json` (the current version) are rewritten from the manifests: what the officer reads first.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pyarrow as pa

from podemos_assets.contracts import arrow_schema
from podemos_assets.regulatorio.errors import CobranzaMismatch
from podemos_assets.regulatorio.extracts import Extract, load_extract, refusals
from podemos_assets.regulatorio.registry import CUTOFF, DEADLINE, TZ, at, load_sources
from podemos_assets.regulatorio.schemas import SOURCE_MODELS
from podemos_assets.regulatorio.sections import SECTIONS, compute_sections, reconcile

OUTBOX_PREFIX = "reporte_regulatorio"
XLSX_NAME = "reporte_regulatorio.xlsx"
_VERSION = re.compile(r"/v(\d+)/manifest\.json$")


@dataclass(frozen=True)
class Delivery:
    fecha: str
    version: int
    new: bool  # False when the same content was already delivered (idempotent re-run)
    manifest: dict


def gather(fecha: str, lake) -> tuple[dict[str, Extract], list[dict]]:
    """The day's good extracts and the exceptions (missing sources, refused files), sorted by source.

    A refusal is an exception while it is the newest thing that arrived for its source: a refused re-send
    after a good version says the good one is used; a good version after a refusal closes it."""
    extracts, exceptions = {}, []
    for name, source in sorted(load_sources().items()):
        extract = load_extract(name, fecha, lake)
        if extract is not None:
            extracts[name] = extract
        since = (extract.control.get("llegada") or "") if extract else None
        open_refusals = [r for r in refusals(name, fecha, lake)
                         if extract is None or (r["sha256"] != extract.control["sha256"] and (r.get("llegada") or "") > since)]
        for record in open_refusals[-1:]:  # the newest refusal speaks for the source
            motivo = "archivo rechazado; se usa la última versión válida" if extract else \
                "archivo rechazado; no hay una versión válida"
            exceptions.append({"fuente": name, "requerida": source.required, "motivo": motivo,
                               "detalle": record.get("detalle") or record["motivo"]})
        if extract is None and not open_refusals:
            exceptions.append({"fuente": name, "requerida": source.required,
                               "motivo": "no llegó" + (" antes del corte de las 05:30" if source.required else ""),
                               "detalle": f"esperada entre las {source.window[0]:%H:%M} y las {source.window[1]:%H:%M}"})
    return extracts, exceptions


def refused_without_version(exceptions: list[dict]) -> list[str]:
    return sorted(e["fuente"] for e in exceptions if e["motivo"].endswith("no hay una versión válida"))


def missing_required(extracts: dict[str, Extract]) -> list[str]:
    return sorted(n for n, s in load_sources().items() if s.required and n not in extracts)


def _cell(v) -> str:
    return "" if v is None else f"{v:.2f}" if isinstance(v, Decimal) else str(v)


INCOMPLETE = "# SECCION INCOMPLETA"


def section_csv(table: pa.Table, incomplete: str | None = None) -> bytes:
    """The section as CSV; an incomplete section says so on its first line, so an empty file is never
    mistaken for a day without activity."""
    out = io.StringIO()
    if incomplete:
        out.write(f"{INCOMPLETE}: {incomplete}\n")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(table.column_names)
    for row in zip(*[c.to_pylist() for c in table.columns]):
        w.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def workbook(sections: dict[str, pa.Table], fecha: str, partial: bool, incomplete: dict[str, str] | None = None) -> bytes:
    """One sheet per section; money as exact text. Timestamps pinned so the bytes never change."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    info = wb.create_sheet("resumen")
    info.append(["reporte", "reporte_regulatorio_diario"])
    info.append(["fecha", fecha])
    info.append(["parcial", "SI" if partial else "NO"])
    for name, table in sections.items():
        ws = wb.create_sheet(name)
        if (incomplete or {}).get(name):
            ws.append([INCOMPLETE.lstrip("# "), incomplete[name]])
        ws.append(table.column_names)
        for row in zip(*[c.to_pylist() for c in table.columns]):
            ws.append([_cell(v) if isinstance(v, Decimal) or v is None else v for v in row])
    raw = io.BytesIO()
    wb.save(raw)
    return pin_zip(raw.getvalue(), f"{fecha}T00:00:00Z")


def pin_zip(data: bytes, stamp: str) -> bytes:
    """Rewrite the XLSX zip with fixed entry dates and fixed docProps created/modified times."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), content)
            dst.writestr(zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0)), content,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def versions(fecha: str, outbox) -> list[int]:
    """Delivered versions of a day (a version exists once its manifest does)."""
    keys = outbox.list(f"{OUTBOX_PREFIX}/{fecha}/")
    return sorted(int(m.group(1)) for k in keys if (m := _VERSION.search(k)))


def read_manifest(fecha: str, version: int, outbox) -> dict:
    return json.loads(outbox.read_bytes(f"{OUTBOX_PREFIX}/{fecha}/v{version}/manifest.json"))


def latest_manifest(fecha: str, outbox) -> dict | None:
    vs = versions(fecha, outbox)
    return read_manifest(fecha, vs[-1], outbox) if vs else None


def incomplete_sections(extracts: dict[str, Extract], exceptions: list[dict]) -> dict[str, str]:
    """Section -> why it is incomplete (Spanish), for every section with a source that has no version."""
    why = {e["fuente"]: e["motivo"] for e in exceptions}
    return {s.name: "; ".join(f"fuente {src}: {why.get(src, 'no llegó')}" for src in s.sources if src not in extracts)
            for s in SECTIONS if any(src not in extracts for src in s.sources)}


def build_files(fecha: str, extracts: dict[str, Extract], partial: bool,
                incomplete: dict[str, str] | None = None) -> tuple[dict[str, bytes], list[dict], dict, dict]:
    """The report's files (deterministic), the reconciliation rows and the per-section summary."""
    incomplete = incomplete or {}
    schemas = {n: arrow_schema(SOURCE_MODELS[s.schema], nullability=False) for n, s in load_sources().items()}
    sections = compute_sections(extracts, schemas)
    reconciliation = reconcile(sections, extracts)  # raises ReconciliationMismatch: nothing is delivered
    files = {f"{name}.csv": section_csv(table, incomplete.get(name)) for name, table in sections.items()}
    files[XLSX_NAME] = workbook(sections, fecha, partial, incomplete)
    summary = {s.name: {"archivo": f"{s.name}.csv", "filas": sections[s.name].num_rows, "fuentes": list(s.sources),
                        "completa": s.name not in incomplete, **({"motivo": incomplete[s.name]} if s.name in incomplete
                                                               else {})} for s in SECTIONS}
    return files, reconciliation, summary, sections


def cobranza_totals(warehouse, fecha: str) -> dict[str, tuple[int, Decimal]]:
    """Branch -> (payments, net amount) of `fecha` in the dbt model cobranza_diaria_sucursal ({} if not built)."""
    sql = (f"SELECT sucursal, pagos_aplicados + pagos_reversados, monto_neto FROM cobranza_diaria_sucursal "
           f"WHERE fecha_pago = DATE '{fecha}'")
    try:
        rows = warehouse.fetch_all(sql)
    except Exception as exc:
        if "cobranza_diaria_sucursal" in str(exc) or "does not exist" in str(exc):
            return {}
        raise
    return {r[0]: (int(r[1]), Decimal(str(r[2])).quantize(Decimal("0.01"))) for r in rows}


def reconcile_cobranza(section: pa.Table, cobranza: dict[str, tuple[int, Decimal]]) -> list[dict]:
    """The branch-payment rows of `pagos_recibidos` per branch vs cobranza_diaria_sucursal, to the cent."""
    report: dict[str, list] = {}
    for row in section.to_pylist():
        if row["origen"] == "sucursales_pagos":
            t = report.setdefault(row["sucursal"], [0, Decimal("0.00")])
            t[0] += row["pagos"]
            t[1] += row["monto"]
    results, differences = [], []
    for suc in sorted(set(report) | set(cobranza)):
        got, want = report.get(suc, [0, Decimal("0.00")]), cobranza.get(suc, (0, Decimal("0.00")))
        for i, medida in enumerate(("pagos", "monto")):
            r = {"seccion": "pagos_recibidos", "fuente": "cobranza_diaria_sucursal", "sucursal": suc, "medida": medida,
                 "contra": "cobranza_diaria_sucursal", "reporte": str(got[i]), "fuente_total": str(want[i]),
                 "diferencia": str(got[i] - want[i])}
            results.append(r)
            if got[i] != want[i]:
                differences.append(r)
    if differences:
        raise CobranzaMismatch(differences)
    return results


def status_of(manifest: dict) -> str:
    """The officer's word for a version: completo, parcial, tarde (complete after 06:00), parcial_tarde."""
    if manifest["parcial"]:
        return "parcial" if manifest["a_tiempo"] else "parcial_tarde"
    return "completo" if manifest["a_tiempo"] else "tarde"


def write_index(fecha: str, outbox) -> dict:
    """`indice.json` (every version: state, delivery, reasons) and `latest.json`, rebuilt from the manifests."""
    manifests = [read_manifest(fecha, v, outbox) for v in versions(fecha, outbox)]
    entries = [{"version": m["version"], "estado": status_of(m), "parcial": m["parcial"], "a_tiempo": m["a_tiempo"],
                "entregado_en": m["entregado_en"], "ruta": f"v{m['version']}/",
                "motivos": [f"{e['fuente']}: {e['motivo']}" + (f" ({e['detalle']})" if e.get("detalle") else "")
                            for e in m["excepciones"]]} for m in manifests]
    first_complete = next((m for m in manifests if not m["parcial"]), None)
    index = {"reporte": "reporte_regulatorio_diario", "fecha": fecha, "limite": at(fecha, DEADLINE).isoformat(),
             "version_actual": entries[-1]["version"] if entries else None, "versiones": entries,
             "primera_completa": None if first_complete is None else {
                 "version": first_complete["version"], "entregado_en": first_complete["entregado_en"],
                 "a_tiempo": first_complete["a_tiempo"]}}
    outbox.write_bytes(f"{OUTBOX_PREFIX}/{fecha}/indice.json", _json(index))
    if entries:
        outbox.write_bytes(f"{OUTBOX_PREFIX}/{fecha}/latest.json", _json(
            {"fecha": fecha, "version": entries[-1]["version"], "ruta": entries[-1]["ruta"],
             "estado": entries[-1]["estado"]}))
    return index


def _json(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def deliver(fecha: str, lake, outbox, now: datetime, warehouse=None) -> Delivery:
    """Build the day's report from the extracts in the lake and deliver it as a new version if it changed.

    With the warehouse, the branch-payment section must equal cobranza_diaria_sucursal to the cent
    (CobranzaMismatch otherwise: nothing is delivered)."""
    extracts, exceptions = gather(fecha, lake)
    missing = missing_required(extracts)
    refused = refused_without_version(exceptions)
    partial = bool(missing or refused)
    incomplete = incomplete_sections(extracts, exceptions)
    files, reconciliation, summary, sections = build_files(fecha, extracts, partial, incomplete)
    cobranza = None
    if warehouse is not None and "sucursales_pagos" in extracts:
        cobranza = reconcile_cobranza(sections["pagos_recibidos"], cobranza_totals(warehouse, fecha))
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    content_id = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
    previous = latest_manifest(fecha, outbox)
    if previous is not None and previous["contenido_sha256"] == content_id:
        write_index(fecha, outbox)  # idempotent; repairs an index a crash left behind
        return Delivery(fecha, previous["version"], False, previous)
    version = (previous["version"] if previous else 0) + 1
    sources = load_sources()
    first = read_manifest(fecha, 1, outbox) if previous is not None else None
    manifest = {
        "reporte": "reporte_regulatorio_diario", "fecha": fecha, "version": version, "parcial": partial,
        "faltantes_requeridas": missing, "rechazadas_sin_version": refused, "excepciones": exceptions,
        "fuentes": {n: ({"requerida": s.required, "estado": "incluida", **{k: extracts[n].control.get(k) for k in
                        ("version", "archivo", "sha256", "llegada", "declarado", "leido")}} if n in extracts else
                        {"requerida": s.required, "estado": "faltante"}) for n, s in sorted(sources.items())},
        "secciones": summary, "secciones_incompletas": incomplete, "conciliacion": reconciliation,
        "conciliacion_cobranza": cobranza, "archivos_sha256": hashes, "contenido_sha256": content_id,
        # delivery facts: the only fields that depend on when the report was delivered
        "entregado_en": now.astimezone(TZ).isoformat(timespec="seconds"),
        "a_tiempo": now <= at(fecha, DEADLINE),
        "version_anterior": None if previous is None else {
            "version": previous["version"], "parcial": previous["parcial"], "a_tiempo": previous["a_tiempo"],
            "entregado_en": previous["entregado_en"]},
        "primera_entrega": None if first is None else {
            "version": 1, "parcial": first["parcial"], "a_tiempo": first["a_tiempo"], "entregado_en": first["entregado_en"]},
        "corte": at(fecha, CUTOFF).isoformat(), "limite": at(fecha, DEADLINE).isoformat(),
    }
    files["manifest.json"] = _json(manifest)
    _write_version(outbox, fecha, version, files)
    write_index(fecha, outbox)
    return Delivery(fecha, version, True, manifest)


def _write_version(outbox, fecha: str, version: int, files: dict[str, bytes]) -> None:
    final = f"{OUTBOX_PREFIX}/{fecha}/v{version}"
    if outbox.is_local:
        staging = f"{OUTBOX_PREFIX}/{fecha}/.staging-v{version}-{uuid.uuid4().hex}"
        for name, data in files.items():
            outbox.write_bytes(f"{staging}/{name}", data)
        if outbox.exists(f"{final}/manifest.json"):
            raise FileExistsError(f"{outbox.uri(final)} already delivered; versions are never overwritten")
        os.rename(outbox.local_path(staging), outbox.local_path(final))  # atomic: the version appears whole
    else:
        for name in sorted(files, key=lambda n: n == "manifest.json"):  # the manifest last: it commits the version
            outbox.write_bytes(f"{final}/{name}", files[name])

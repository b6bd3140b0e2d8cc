"""Build and deliver `reporte_regulatorio_diario`: CSV per section + XLSX + manifest.json, versioned.

Delivery is atomic: locally the version is written to a temp folder and renamed to `v{N}`; on S3 the
manifest is written last and a version counts only once its manifest exists. Versions are never
overwritten. Report files are byte-identical for the same inputs (fixed XLSX timestamps); only the
manifest's `entregado_en` / `a_tiempo` depend on the delivery moment.
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

from podemos_assets.regulatorio.extracts import Extract, load_extract
from podemos_assets.regulatorio.registry import CUTOFF, DEADLINE, TZ, at, load_sources
from podemos_assets.regulatorio.schemas import SOURCE_MODELS, arrow_schema
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
    """The day's good extracts and the exceptions (missing sources, refused files), sorted by source."""
    extracts, exceptions = {}, []
    for name, source in sorted(load_sources().items()):
        extract = load_extract(name, fecha, lake)
        if extract is not None:
            extracts[name] = extract
        for key in lake.list(f"cuarentena/regulatorio/{name}/fecha={fecha}/"):
            record = json.loads(lake.read_bytes(key))
            if extract is None or record["sha256"] != extract.control["sha256"]:
                motivo = "archivo rechazado" + ("; se usa el último archivo válido" if extract else "")
                exceptions.append({"fuente": name, "requerida": source.required, "motivo": motivo,
                                   "detalle": record["motivo"]})
        if extract is None:
            exceptions.append({"fuente": name, "requerida": source.required,
                               "motivo": "no llegó" + (" antes del corte de las 05:30" if source.required else ""),
                               "detalle": f"esperada entre {source.window[0]:%H:%M} y {source.window[1]:%H:%M}"})
    return extracts, exceptions


def missing_required(extracts: dict[str, Extract]) -> list[str]:
    return sorted(n for n, s in load_sources().items() if s.required and n not in extracts)


def _cell(v) -> str:
    return "" if v is None else f"{v:.2f}" if isinstance(v, Decimal) else str(v)


def section_csv(table: pa.Table) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(table.column_names)
    for row in zip(*[c.to_pylist() for c in table.columns]):
        w.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def workbook(sections: dict[str, pa.Table], fecha: str, partial: bool) -> bytes:
    """One sheet per section; money as exact text. Timestamps pinned so the bytes never change."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    info = wb.create_sheet("resumen")
    info.append(["reporte", "reporte_regulatorio_diario"])
    info.append(["fecha", fecha])
    info.append(["parcial", "SI" if partial else "NO"])
    for name, table in sections.items():
        ws = wb.create_sheet(name)
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


def build_files(fecha: str, extracts: dict[str, Extract], partial: bool) -> tuple[dict[str, bytes], list[dict], dict]:
    """The report's files (deterministic), the reconciliation rows and the per-section summary."""
    schemas = {n: arrow_schema(SOURCE_MODELS[s.schema]) for n, s in load_sources().items()}
    sections = compute_sections(extracts, schemas)
    reconciliation = reconcile(sections, extracts)  # raises ReconciliationMismatch: nothing is delivered
    files = {f"{name}.csv": section_csv(table) for name, table in sections.items()}
    files[XLSX_NAME] = workbook(sections, fecha, partial)
    summary = {s.name: {"archivo": f"{s.name}.csv", "filas": sections[s.name].num_rows, "fuentes": list(s.sources),
                        "completa": all(src in extracts for src in s.sources)} for s in SECTIONS}
    return files, reconciliation, summary


def deliver(fecha: str, lake, outbox, now: datetime) -> Delivery:
    """Build the day's report from the extracts in the lake and deliver it as a new version if it changed."""
    extracts, exceptions = gather(fecha, lake)
    partial = bool(missing_required(extracts))
    files, reconciliation, summary = build_files(fecha, extracts, partial)
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    content_id = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
    previous = latest_manifest(fecha, outbox)
    if previous is not None and previous["contenido_sha256"] == content_id:
        return Delivery(fecha, previous["version"], False, previous)
    version = (previous["version"] if previous else 0) + 1
    sources = load_sources()
    manifest = {
        "reporte": "reporte_regulatorio_diario", "fecha": fecha, "version": version, "parcial": partial,
        "faltantes_requeridas": missing_required(extracts), "excepciones": exceptions,
        "fuentes": {n: ({"requerida": s.required, "estado": "incluida", **{k: extracts[n].control[k] for k in
                        ("archivo", "sha256", "llegada", "declarado", "leido")}} if n in extracts else
                        {"requerida": s.required, "estado": "faltante"}) for n, s in sorted(sources.items())},
        "secciones": summary, "conciliacion": reconciliation, "archivos_sha256": hashes, "contenido_sha256": content_id,
        # delivery facts: the only fields that depend on when the report was delivered
        "entregado_en": now.astimezone(TZ).isoformat(timespec="seconds"),
        "a_tiempo": now <= at(fecha, DEADLINE),
        "corte": at(fecha, CUTOFF).isoformat(), "limite": at(fecha, DEADLINE).isoformat(),
    }
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
    _write_version(outbox, fecha, version, files)
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

"""The report: deterministic bytes, versions kept, partial then complete, reconciliation stops delivery."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime, timedelta
from decimal import Decimal

import pyarrow.compute as pc
import pytest

from podemos_assets.demo import regulatorio as gen
from podemos_assets.regulatorio.deadline import decide
from podemos_assets.regulatorio.errors import ReconciliationMismatch
from podemos_assets.regulatorio.extracts import extract_key, ingest
from podemos_assets.regulatorio.registry import CUTOFF, TZ, at, load_sources
from podemos_assets.regulatorio.report import OUTBOX_PREFIX, XLSX_NAME, deliver, versions
from podemos_assets.resources import LakeResource
from podemos_assets_tests.regulatorio.warehouse_fixture import Warehouse

FECHA = "2026-10-12"


def land(resources, skip=()):
    sources, lake, warehouse = resources["sources"], resources["lake"], resources["warehouse"]
    gen.write_lake_sources(lake, FECHA, scale=0.05, only=("app_campo",))
    wh = Warehouse(lake, warehouse)
    wh.seed(FECHA)
    for i in range(5):
        wh.pay(("suc_001", "suc_003")[i % 2], datetime(2026, 10, 12, 9 + i), f"{10 * i + 1}.{i}5")
    wh.merge(FECHA)
    for name, source in load_sources().items():
        if name in skip:
            continue
        if source.format not in ("lake", "warehouse"):
            gen.write_source(sources, name, FECHA, gen.source_bytes(name, FECHA, scale=0.05), at(FECHA, CUTOFF) - timedelta(hours=4))
        ingest(source, FECHA, sources, lake, warehouse=warehouse)


def files_of(outbox, version):
    base = f"{OUTBOX_PREFIX}/{FECHA}/v{version}/"
    return {k[len(base):]: outbox.read_bytes(k) for k in outbox.list(base)}


def test_same_inputs_give_byte_identical_report_files(resources, tmp_path):
    land(resources)
    other = LakeResource(url=f"file://{tmp_path}/otra_bandeja")
    first = deliver(FECHA, resources["lake"], resources["outbox"], at(FECHA, CUTOFF))
    second = deliver(FECHA, resources["lake"], other, at(FECHA, CUTOFF) + timedelta(hours=3, seconds=17))
    a, b = files_of(resources["outbox"], 1), files_of(other, 1)
    assert set(a) == set(b) and XLSX_NAME in a and "cartera.csv" in a
    for name in a:
        if name != "manifest.json":
            assert a[name] == b[name], name  # XLSX included: pinned zip dates and docProps
    assert first.manifest["contenido_sha256"] == second.manifest["contenido_sha256"]
    assert first.manifest["entregado_en"] != second.manifest["entregado_en"]  # only delivery facts differ
    for name, digest in first.manifest["archivos_sha256"].items():
        assert hashlib.sha256(a[name]).hexdigest() == digest
    with zipfile.ZipFile(io.BytesIO(a[XLSX_NAME])) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert f"{FECHA}T00:00:00Z".encode() in z.read("docProps/core.xml")
        assert "cartera" in z.read("xl/workbook.xml").decode()


def test_rerun_on_same_inputs_makes_no_new_version_and_versions_are_kept(resources):
    land(resources, skip=("seguros",))
    v1 = deliver(FECHA, resources["lake"], resources["outbox"], at(FECHA, CUTOFF))
    again = deliver(FECHA, resources["lake"], resources["outbox"], at(FECHA, CUTOFF) + timedelta(minutes=5))
    assert (v1.version, v1.new, again.version, again.new) == (1, True, 1, False)
    v1_bytes = files_of(resources["outbox"], 1)
    gen.write_source(resources["sources"], "seguros", FECHA, gen.source_bytes("seguros", FECHA, scale=0.05), at(FECHA, CUTOFF))
    ingest(load_sources()["seguros"], FECHA, resources["sources"], resources["lake"])
    v2 = deliver(FECHA, resources["lake"], resources["outbox"], at(FECHA, CUTOFF) + timedelta(hours=2))
    assert (v2.version, v2.new) == (2, True)
    assert versions(FECHA, resources["outbox"]) == [1, 2]
    assert files_of(resources["outbox"], 1) == v1_bytes  # never overwritten
    assert v1.manifest["fuentes"]["seguros"]["estado"] == "faltante"
    assert v2.manifest["fuentes"]["seguros"]["estado"] == "incluida"


def test_missing_required_source_waits_for_cutoff_then_partial_then_complete(resources):
    lake, outbox = resources["lake"], resources["outbox"]
    land(resources, skip=("spei",))
    night = datetime.fromisoformat(f"{FECHA}T00:00:00").replace(tzinfo=TZ) + timedelta(days=1)
    assert not decide(FECHA, night + timedelta(hours=1, minutes=59), lake, outbox).deliver  # before 02:00
    waiting = decide(FECHA, night + timedelta(hours=4), lake, outbox)
    assert not waiting.deliver and "spei" in waiting.reason
    cutoff = decide(FECHA, at(FECHA, CUTOFF), lake, outbox)
    assert cutoff.deliver and cutoff.partial
    partial = deliver(FECHA, lake, outbox, at(FECHA, CUTOFF))
    m = partial.manifest
    assert m["parcial"] and m["faltantes_requeridas"] == ["spei"] and m["a_tiempo"]
    assert any(e["fuente"] == "spei" and e["requerida"] for e in m["excepciones"])
    # empty and flagged inside the file: never mistaken for a day without disbursements
    assert files_of(outbox, 1)["desembolsos.csv"] == (
        "# SECCION INCOMPLETA: fuente spei: no llegó antes del corte de las 05:30\n"
        "sucursal,operaciones,monto\n").encode()
    assert m["secciones"]["desembolsos"]["completa"] is False
    assert not decide(FECHA, at(FECHA, CUTOFF) + timedelta(minutes=20), lake, outbox).deliver

    gen.write_source(resources["sources"], "spei", FECHA, gen.source_bytes("spei", FECHA, scale=0.05), night + timedelta(hours=7))
    ingest(load_sources()["spei"], FECHA, resources["sources"], lake)
    redo = decide(FECHA, night + timedelta(hours=7, minutes=5), lake, outbox)
    assert redo.deliver and not redo.partial
    complete = deliver(FECHA, lake, outbox, night + timedelta(hours=7, minutes=5))
    assert complete.version == 2 and not complete.manifest["parcial"] and not complete.manifest["a_tiempo"]
    spei = gen.expected_table("spei", FECHA, scale=0.05)
    want = pc.sum(spei.filter(pc.equal(spei["tipo"], "E"))["monto"]).as_py()
    rows = files_of(outbox, 2)["desembolsos.csv"].decode().splitlines()[1:]
    assert sum(Decimal(r.split(",")[2]) for r in rows) == want


def test_reconciliation_mismatch_stops_delivery_naming_section_source_and_difference(resources):
    land(resources)
    lake = resources["lake"]
    table = lake.read_parquet(extract_key("core_creditos", FECHA, version=1))
    dropped = table.slice(0, 1)["saldo"][0].as_py()
    lake.write_parquet(extract_key("core_creditos", FECHA, version=1), table.slice(1))  # a row lost after ingestion
    with pytest.raises(ReconciliationMismatch) as info:
        deliver(FECHA, lake, resources["outbox"], at(FECHA, CUTOFF))
    message = str(info.value)
    assert "section 'cartera'" in message and "source 'core_creditos'" in message
    assert "(difference -1)" in message  # one loan account short
    if dropped:
        assert f"(difference -{dropped:.2f})" in message
    assert any(d["medida"] == "saldo" and d["contra"] == "declarado" for d in info.value.differences)
    assert versions(FECHA, resources["outbox"]) == []  # nothing delivered

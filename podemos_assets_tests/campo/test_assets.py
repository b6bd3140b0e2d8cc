"""From the landing zone to the curated tables: the sensor's partitions, late events, clock skew,
dedup, quarantine, metrics and the heartbeat alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pyarrow as pa
import pytest

from podemos_assets.campo import campo_landing_sensor, eventos_campo, latido_campo, metricas_campo
from podemos_assets.contracts import lake as paths
from podemos_assets.resources.alerts import AlertsResource
from podemos_assets.resources.clock import ClockResource
from podemos_assets_tests.campo.helpers import batch_body, events, signed

MX = ZoneInfo("America/Mexico_City")


@pytest.fixture
def resources(core, tmp_path):
    return {"lake": core.lake, "alerts": AlertsResource(url=f"file://{tmp_path}/alerts.jsonl")}


def send(core, evs, device="dev-a", sent_at=None, region="Chiapas"):
    body = batch_body(evs, device=device, sent_at=sent_at, region=region)
    r = core.handle("POST", "/v1/batches", signed(body, device=device), body)
    assert r.status in (200, 400), r.body
    return r


def tick(resources, cursor=None):
    ctx = dg.build_sensor_context(cursor=cursor, resources={"lake": resources["lake"], "clock": ClockResource()})
    result = campo_landing_sensor(ctx)
    requests = [] if isinstance(result, dg.SkipReason) else list(result)
    return sorted(r.partition_key for r in requests), ctx.cursor


def materialize(resources, day, check_config=None):
    run_config = {"ops": {"metricas_campo_latido_campo": {"config": check_config}}} if check_config else None
    return dg.materialize([eventos_campo, metricas_campo, latido_campo], partition_key=day, resources=resources,
                          run_config=run_config, raise_on_error=True)


def mx_day(t: datetime) -> str:
    return t.astimezone(MX).date().isoformat()


def test_sensor_requests_exactly_the_old_partition_a_late_batch_touches(core, resources):
    now = datetime.now(UTC)
    today = mx_day(now)
    send(core, events(4, when=now - timedelta(minutes=5)))
    days, cursor = tick(resources)
    assert days == [today]
    materialize(resources, today)
    assert tick(resources, cursor)[0] == []  # nothing new: nothing requested

    late_time = now - timedelta(days=5)
    late = events(3, seed=9, when=late_time)  # queued offline five days ago, synced now
    send(core, late)
    days, cursor = tick(resources, cursor)
    assert days == [mx_day(late_time)]
    materialize(resources, days[0])
    pagos = core.lake.read_parquet(paths.field_table_day("pagos", days[0]))
    assert sorted(pagos["event_id"].to_pylist()) == sorted(e["event_id"] for e in late)
    assert core.lake.read_parquet(paths.field_table_day("pagos", today)).num_rows == 4


def test_payments_table_has_the_columns_and_types_the_regulator_reads(core, resources):
    now = datetime.now(UTC)
    evs = events(5, when=now - timedelta(minutes=1))
    send(core, evs)
    materialize(resources, mx_day(now))
    pagos = core.lake.read_parquet(paths.field_table_day("pagos", mx_day(now)))
    assert pagos.schema.field("monto").type == pa.decimal128(18, 2)
    for col in ("event_id", "cuenta", "metodo", "device_id", "asesor", "region", "hora_evento"):
        assert col in pagos.column_names
    assert sorted(str(m) for m in pagos["monto"].to_pylist()) == sorted(e["payload"]["monto"] for e in evs)


def test_device_clock_skew_is_corrected_before_partitioning(core, resources):
    now = datetime.now(UTC)
    skew = timedelta(days=2, hours=3)  # the phone's clock is two days ahead
    true_time = now - timedelta(minutes=30)
    evs = events(2, when=true_time + skew)
    send(core, evs, sent_at=now + skew)
    days, _ = tick(resources)
    assert days == [mx_day(true_time)]
    materialize(resources, days[0])
    ev = core.lake.read_parquet(paths.field_table_day("eventos", days[0])).to_pylist()
    assert len(ev) == 2
    for row in ev:
        assert abs(row["desfase_reloj_s"] - skew.total_seconds()) < 5
        assert abs((row["hora_evento"] - true_time).total_seconds()) < 5
        assert row["hora_dispositivo"] - row["hora_evento"] > timedelta(days=2)


def test_rerun_writes_the_same_bytes_and_conflicts_stay_in_quarantine(core, resources):
    now = datetime.now(UTC)
    evs = events(3, when=now - timedelta(minutes=2))
    send(core, evs)
    send(core, [evs[0]])  # duplicate: stored once
    send(core, [{**evs[1], "payload": {**evs[1]["payload"], "monto": "9.99"}}])  # conflict
    send(core, [{**evs[2], "payload": {**evs[2]["payload"], "monto": "bad"}}, {"nonsense": 1}])  # rejected x2
    day = mx_day(now)
    materialize(resources, day)
    first = core.lake.read_bytes(paths.field_table_day("pagos", day)), core.lake.read_bytes(paths.field_quarantine_day(day))
    materialize(resources, day)
    assert (core.lake.read_bytes(paths.field_table_day("pagos", day)), core.lake.read_bytes(paths.field_quarantine_day(day))) == first
    assert core.lake.read_parquet(paths.field_table_day("pagos", day)).num_rows == 3
    q = core.lake.read_parquet(paths.field_quarantine_day(day)).to_pylist()
    assert sorted(r["estado"] for r in q) == ["conflict", "rejected", "rejected"]
    conflict = next(r for r in q if r["estado"] == "conflict")
    assert conflict["event_id"] == evs[1]["event_id"] and "9.99" in conflict["contenido"]
    metrics = core.lake.read_parquet(paths.field_table_day("metricas", day)).to_pylist()
    total = next(m for m in metrics if m["dimension"] == "total")
    assert (total["eventos"], total["cuarentena"]) == (3, 3) and total["tasa_cuarentena"] == 0.5
    assert total["latencia_p99_s"] is not None and total["latencia_p50_s"] <= total["latencia_p99_s"]


def test_checkins_never_carry_exact_gps(core, resources):
    now = datetime.now(UTC)
    evs = events(3, kind="geolocalizacion", when=now - timedelta(minutes=1))
    send(core, evs)
    materialize(resources, mx_day(now))
    rows = core.lake.read_parquet(paths.field_table_day("checkins", mx_day(now))).to_pylist()
    exact = {e["event_id"]: e["payload"] for e in evs}
    for r in rows:
        assert r["lat_aprox"] == round(exact[r["event_id"]]["lat"], 2) != exact[r["event_id"]]["lat"]
    assert not {"lat", "lon"} & set(core.lake.read_parquet(paths.field_table_day("checkins", mx_day(now))).column_names)


def test_silent_device_and_region_raise_one_alert(core, resources):
    now = datetime.now(UTC)
    send(core, events(2, when=now - timedelta(minutes=5)), device="dev-a", region="Chiapas")
    old = now - timedelta(days=4)
    send(core, events(2, seed=3, when=old), device="dev-b", region="Oaxaca")
    for day in sorted({mx_day(now), mx_day(old)}):
        materialize(resources, day, check_config={"umbral_horas": 48, "ahora": now.isoformat()})
    sent = resources["alerts"].sent()
    assert sent and all(a["subject"] == "campo: latido" for a in sent)
    last = sent[-1]
    assert list(last["dispositivos_silenciosos"]) == ["dev-b"] and list(last["regiones_silenciosas"]) == ["Oaxaca"]
    quiet = materialize(resources, mx_day(now), check_config={"umbral_horas": 24 * 7, "ahora": now.isoformat()})
    [evaluation] = [e for e in quiet.get_asset_check_evaluations() if e.check_name == "latido_campo"]
    assert evaluation.passed and json.loads(json.dumps(evaluation.metadata["dispositivos_vistos"].value)) == 2

"""Arrival by content and everything kept, under a simulated clock: a corrected file re-sent under the same
name with the same mtime (`rsync -t`, `cp -p`) is new content and becomes v2 while v1 stays readable with its
own arrival time; an identical re-drop later changes nothing, not even the arrival time; every report
version names the source version it was built from."""

from __future__ import annotations

import os
from datetime import UTC, timedelta
from pathlib import Path

from podemos_assets.demo import regulatorio as gen
from podemos_assets.regulatorio.automation import arrival_requests
from podemos_assets.regulatorio.extracts import extract_versions, ingest, load_extract, read_extract_version
from podemos_assets.regulatorio.registry import CUTOFF, at, load_sources
from podemos_assets.regulatorio.report import deliver, read_manifest
from podemos_assets_tests.instancia import instance_for_test
from podemos_assets_tests.regulatorio.conftest_helpers import SCALE, branch_day, land_files
from podemos_assets_tests.regulatorio.warehouse_fixture import Warehouse

FECHA = "2026-10-12"
NAME = "corresponsales"  # a CSV source with control totals, required


def requested(resources, instance, now, cursor) -> tuple[list[str], dict]:
    """The sources the arrival sensor would ingest at `now` for FECHA, and its next cursor."""
    requests, cursor = arrival_requests(now, resources["sources"], resources["lake"], resources["warehouse"],
                                        instance, cursor)
    names = [k.path[-1] for r in requests if r.partition_key == FECHA for k in r.asset_selection]
    return names, cursor


def test_a_corrected_file_with_the_same_name_and_mtime_is_a_new_version_and_every_version_is_kept(resources):
    sources, lake, outbox = resources["sources"], resources["lake"], resources["outbox"]
    source = load_sources()[NAME]
    arrived = source.window_on(FECHA)[0] + timedelta(minutes=10)
    land_files(resources, FECHA, arrived, skip=(NAME,))
    branch_day(Warehouse(lake, resources["warehouse"]), FECHA)
    first = gen.source_bytes(NAME, FECHA, scale=SCALE)
    corrected = gen.source_bytes(NAME, FECHA, seed=43, scale=SCALE)  # other rows, still a valid file
    assert first != corrected

    with instance_for_test() as instance:
        gen.write_source(sources, NAME, FECHA, first, arrived)
        names, cursor = requested(resources, instance, arrived + timedelta(minutes=2), {})
        assert NAME in names
        v1 = ingest(source, FECHA, sources, lake, now=arrived + timedelta(minutes=2))
        arrival_v1 = arrived.astimezone(UTC).isoformat(timespec="seconds")
        assert v1.control["version"] == 1 and v1.control["llegada"] == arrival_v1
        report_1 = deliver(FECHA, lake, outbox, at(FECHA, CUTOFF) - timedelta(hours=3))
        assert report_1.manifest["fuentes"][NAME]["version"] == 1
        names, cursor = requested(resources, instance, arrived + timedelta(minutes=4), cursor)
        assert NAME not in names  # nothing new: no run

        # The corrected file, same name, mtime preserved to the second (what rsync -t and cp -p do).
        path = Path(sources.local_path(source.path(FECHA)))
        stat = os.stat(path)
        path.write_bytes(corrected)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert os.stat(path).st_mtime_ns == stat.st_mtime_ns
        later = at(FECHA, CUTOFF) - timedelta(hours=2)
        names, cursor = requested(resources, instance, later, cursor)
        assert NAME in names, "a changed content with an unchanged mtime was not seen"
        v2 = ingest(source, FECHA, sources, lake, now=later)
        assert v2.control["version"] == 2 and extract_versions(NAME, FECHA, lake) == [1, 2]
        assert v2.control["sha256"] != v1.control["sha256"] and v2.control["ingerido_en"] != v1.control["ingerido_en"]
        kept = read_extract_version(NAME, FECHA, 1, lake)  # v1 is still there, as it was
        assert kept.table.equals(v1.table) and kept.control == v1.control
        assert load_extract(NAME, FECHA, lake).control["version"] == 2  # the pointer moved
        report_2 = deliver(FECHA, lake, outbox, later + timedelta(minutes=1))
        assert report_2.version == 2 and report_2.manifest["fuentes"][NAME]["version"] == 2
        assert read_manifest(FECHA, 1, outbox)["fuentes"][NAME]["version"] == 1  # v1 of the report: still v1

        # The same corrected bytes dropped again an hour later: no request, no version, first arrival kept.
        gen.write_source(sources, NAME, FECHA, corrected, later + timedelta(hours=1))
        names, cursor = requested(resources, instance, later + timedelta(hours=1, minutes=1), cursor)
        assert NAME not in names
        again = ingest(source, FECHA, sources, lake, now=later + timedelta(hours=1, minutes=1))
        assert extract_versions(NAME, FECHA, lake) == [1, 2] and again.control == v2.control
        assert again.control["llegada"] == v2.control["llegada"]
        assert deliver(FECHA, lake, outbox, later + timedelta(hours=1, minutes=2)).new is False

"""escaneo_pii: PII planted in analyst-facing outputs is found (without leaking it), masked outputs pass."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd
import pyarrow.parquet as pq

from podemos_assets.gobierno.assets import FINDINGS_KEY, escaneo_pii
from podemos_assets.gobierno.pii import mask_frame, masking_view_sql
from podemos_assets_tests.gobierno.fixtures import ResumenClientes, governed_defs

CURP, PHONE, CLABE, INE = "GORM850312MDFMZR09", "55 1234 5678", "002180700000000008", "GMRRMR85031209M100"


def clientes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id_cliente": [1, 2],
            "nombre": ["María Gómez Ruiz", "Ana López"],
            "curp": [CURP, "LOPA900101MOCPXN02"],
            "telefono": ["5512345678", None],
            "fecha_nacimiento": pd.to_datetime(["1985-03-12", "1990-01-01"]),
            "sucursal": ["suc_001", "suc_002"],
        }
    )


def build_warehouse(path, masked: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.register("df", clientes())
    con.execute("CREATE OR REPLACE TABLE clientes_wh AS SELECT * FROM df")  # raw: not analyst-facing
    source = "(SELECT sucursal, id_cliente, curp, nombre FROM clientes_wh)"
    if masked:
        con.execute(masking_view_sql(ResumenClientes, source, "resumen_clientes"))
    else:
        con.execute(f"CREATE OR REPLACE VIEW resumen_clientes AS SELECT * FROM {source}")
    con.close()


def write_report(outbox, masked: bool) -> None:
    frame = clientes()[["sucursal", "id_cliente", "curp"]]
    if masked:
        frame = mask_frame(ResumenClientes, frame)
        note = "contacto: ver expediente"
    else:
        note = f"contacto {PHONE}, cuenta {CLABE}, INE {INE}"
    outbox.write_bytes("analistas/2026-11-27/reporte.csv", (frame.to_csv(index=False) + note + "\n").encode("latin-1"))


def run_scan(resources):
    defs = governed_defs(escaneo_pii, resources=resources)
    job = defs.resolve_implicit_global_asset_job_def()
    selection = dg.AssetSelection.assets(escaneo_pii).resolve(defs.resolve_asset_graph())
    result = job.get_subset(asset_selection=selection).execute_in_process(raise_on_error=False)
    check = result.get_asset_check_evaluations()[0]
    findings = pq.read_table(resources["lake"].local_path(FINDINGS_KEY)).to_pandas()
    return result, check, findings


def test_planted_pii_in_analyst_outputs_fails_the_check_without_leaking(settings, resources):
    build_warehouse(settings.warehouse_path, masked=False)
    write_report(resources["outbox"], masked=False)
    result, check, findings = run_scan(resources)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    found = set(zip(findings["ubicacion"], findings["columna"], findings["tipo_pii"]))
    assert ("main.resumen_clientes", "curp", "curp") in found
    # a name matches no pattern: the classification (nombre is pii) catches it unmasked
    assert ("main.resumen_clientes", "nombre", "pii_sin_enmascarar") in found
    report = "analistas/2026-11-27/reporte.csv"
    assert {(report, "-", k) for k in ("curp", "telefono", "clabe", "clave_elector")} <= found
    # the raw table is not analyst-facing, so it is not scanned
    assert not any(loc == "main.clientes_wh" for loc, _, _ in found)
    # nothing raw leaves the scanner: not in the findings file, nor in the run's metadata
    leaked = findings.to_csv(index=False) + "".join(
        str(e.event_specific_data) for e in result.all_events if e.event_specific_data is not None
    )
    for raw in (CURP, "LOPA900101MOCPXN02", PHONE, CLABE, INE, "María"):
        assert raw not in leaked


def test_masked_outputs_pass_the_check(settings, resources):
    build_warehouse(settings.warehouse_path, masked=True)
    write_report(resources["outbox"], masked=True)
    result, check, findings = run_scan(resources)
    assert check.passed and findings.empty
    meta = result.asset_materializations_for_node("escaneo_pii")[0].metadata
    assert meta["targets"].value == 2 and "main.resumen_clientes" in meta["scanned"].value


def test_file_scan_is_bounded_to_the_newest_files(resources):
    from podemos_assets.gobierno.scan import scan_files

    outbox = resources["outbox"]
    for day in range(1, 6):
        outbox.write_bytes(f"analistas/2026-11-0{day}/r.csv", f"dia {day}, tel 55 1234 567{day}\n".encode())
    findings, scanned, present = scan_files(outbox, "reporte", "analistas/", max_files=2)
    assert (scanned, present) == (2, 5)
    assert sorted(f.location for f in findings) == ["analistas/2026-11-04/r.csv", "analistas/2026-11-05/r.csv"]

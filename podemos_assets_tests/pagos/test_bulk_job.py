"""`consolidacion_masiva`: the settings choose the Spark launcher, and the job run in process on Spark local
writes what the DuckDB path's day-by-day merge holds, with its counts back through Pipes."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import duckdb
import pyarrow.parquet as pq
import pytest

from podemos_assets.config import ConfigError, load_settings
from podemos_assets.pagos.bulk import consolidacion_masiva
from podemos_assets.pagos.extracts import read_day
from podemos_assets.pagos.merge import PAGOS_COLS, merge_day
from podemos_assets.resources.lake import LakeResource
from podemos_assets.resources.spark import spark_resource
from podemos_assets_tests.scale.lake_cases import BRANCH_ZONES, DAYS, LakeCase, Version, canonical, write_lake

GLUE = {
    "PODEMOS_SPARK_MODE": "glue",
    "PODEMOS_SPARK_GLUE_JOB": "podemos-consolidacion-pagos",
    "PODEMOS_SPARK_SCRIPT_URL": "s3://podemos-artifacts-prod/spark/1.4.0/job.py",
    "PODEMOS_SPARK_PY_FILES_URL": "s3://podemos-artifacts-prod/spark/1.4.0/podemos_spark.zip",
    "PODEMOS_SPARK_PIPES_URL": "s3://podemos-artifacts-prod/pipes/",
    "PODEMOS_SPARK_REGISTRY_URL": "s3://podemos-artifacts-prod/spark/1.4.0/sucursales.csv",
}
EMR = {
    "PODEMOS_SPARK_MODE": "emr_serverless",
    "PODEMOS_SPARK_EMR_APP": "00fabc123",
    "PODEMOS_SPARK_ROLE_ARN": "arn:aws:iam::123456789012:role/podemos-spark",
    "PODEMOS_SPARK_SCRIPT_URL": GLUE["PODEMOS_SPARK_SCRIPT_URL"],
    "PODEMOS_SPARK_PY_FILES_URL": GLUE["PODEMOS_SPARK_PY_FILES_URL"],
    "PODEMOS_SPARK_REGISTRY_URL": GLUE["PODEMOS_SPARK_REGISTRY_URL"],
}
LAKE = "s3://podemos-lake-prod/v1"
ARGS = ["--lake-url", LAKE, "--desde", "2019-01-01", "--hasta", "2026-09-30",
        "--registry", GLUE["PODEMOS_SPARK_REGISTRY_URL"]]


def resource(tmp_path, **env):
    return spark_resource(load_settings({"PODEMOS_HOME": str(tmp_path), **env}))


def test_local_is_the_default_and_reads_the_registry_of_the_settings(tmp_path):
    spark = resource(tmp_path)
    assert spark.mode == "local"
    assert spark.registry_url == f"file://{load_settings({'PODEMOS_HOME': str(tmp_path)}).branch_registry}"


def test_glue_runs_the_release_script_with_the_job_arguments(tmp_path):
    spark = resource(tmp_path, **GLUE)
    assert (spark.mode, spark.pipes_s3_uri) == ("glue", "s3://podemos-artifacts-prod/pipes")
    assert spark.glue_params(LAKE, date(2019, 1, 1), date(2026, 9, 30)) == {
        "JobName": "podemos-consolidacion-pagos",
        "Arguments": {**dict(zip(ARGS[::2], ARGS[1::2])),
                      "--scriptLocation": GLUE["PODEMOS_SPARK_SCRIPT_URL"],
                      "--extra-py-files": GLUE["PODEMOS_SPARK_PY_FILES_URL"]},
    }


def test_emr_serverless_submits_the_script_with_the_package(tmp_path):
    spark = resource(tmp_path, **EMR)
    assert spark.emr_params(LAKE, date(2019, 1, 1), date(2026, 9, 30)) == {
        "applicationId": "00fabc123",
        "executionRoleArn": "arn:aws:iam::123456789012:role/podemos-spark",
        "name": "consolidacion_pagos 2019-01-01..2026-09-30",
        "jobDriver": {"sparkSubmit": {
            "entryPoint": EMR["PODEMOS_SPARK_SCRIPT_URL"],
            "entryPointArguments": ARGS,
            "sparkSubmitParameters": f"--py-files {EMR['PODEMOS_SPARK_PY_FILES_URL']}",
        }},
    }


@pytest.mark.parametrize("env,message", [
    ({"PODEMOS_SPARK_MODE": "databricks"}, r"PODEMOS_SPARK_MODE='databricks': expected 'local' \(default\), 'glue'"),
    ({"PODEMOS_SPARK_MODE": "glue", "PODEMOS_SPARK_GLUE_JOB": "x"},
     "PODEMOS_SPARK_MODE=glue needs PODEMOS_SPARK_SCRIPT_URL, PODEMOS_SPARK_PY_FILES_URL, PODEMOS_SPARK_PIPES_URL, "
     "PODEMOS_SPARK_REGISTRY_URL"),
    ({**EMR, "PODEMOS_SPARK_ROLE_ARN": "podemos-spark"},
     "PODEMOS_SPARK_ROLE_ARN='podemos-spark' is not an IAM role ARN"),
    ({**GLUE, "PODEMOS_SPARK_SCRIPT_URL": "file:///tmp/job.py"},
     "PODEMOS_SPARK_SCRIPT_URL='file:///tmp/job.py' is not"),
])
def test_bad_spark_settings_fail_in_one_line(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message) as failure:
        load_settings({"PODEMOS_HOME": str(tmp_path), **env})
    assert "\n" not in str(failure.value)


def test_a_bad_range_fails_before_anything_runs(tmp_path):
    result = consolidacion_masiva.execute_in_process(
        run_config={"ops": {"consolidar_rango": {"config": {"desde": "2026-11-02", "hasta": "2026-10-31"}}}},
        resources={"lake": LakeResource(url=f"file://{tmp_path}"), "spark": resource(tmp_path)},
        raise_on_error=False,
    )
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "hasta=2026-10-31 is before desde=2026-11-02" in error


def version(suc, day, id_, monto, cuenta=1, at=time(10)):
    return Version(suc, day, id_, cuenta, 1, datetime.combine(day, at), Decimal(monto), "OXXO",
                   datetime.combine(day, time(9)))


# Three days around the 2026-11-01 fall-back of the US-rule border zones (Tijuana, Matamoros).
DESDE, HASTA = DAYS[2], DAYS[4]
CASE = LakeCase(
    versions=[version("suc_001", DAYS[2], 1, "10.00"), version("suc_001", DAYS[3], 1, "12.50", at=time(1, 30)),
              version("suc_002", DAYS[3], 1, "-5.00"),
              version("suc_002", DAYS[3], 2, "7.00", cuenta=3),  # unknown loan
              version("suc_003", DAYS[3], 4, "3.00"),  # dead: its tombstone comes the next day
              version("suc_005", DAYS[4], 1, "1.00"),  # branch not in the registry
              version("suc_004", DAYS[1], 9, "8.00")],  # before the range
    cuentas={(s, 1, DAYS[2]) for s in BRANCH_ZONES}, clientes={(s, 1, DAYS[2]) for s in BRANCH_ZONES},
    bajas={("transacciones", "suc_003", 4, DAYS[4])},
    desde=DESDE, hasta=HASTA,
)


def merged_by_the_duckdb_path(lake: LakeResource) -> dict:
    """`pagos.merge.merge_day` over each day of the range, oldest first, into an empty warehouse."""
    con = duckdb.connect()
    try:
        day = DESDE
        while day <= HASTA:
            merge_day(con, day.isoformat(), read_day(lake, day.isoformat())[0], BRANCH_ZONES)
            day += timedelta(days=1)
        cols = ", ".join(PAGOS_COLS)
        return {"pagos_historicos": con.sql(f"SELECT {cols} FROM pagos_historicos").to_arrow_table(),
                "pagos_cuarentena": con.sql(f"SELECT {cols}, motivo FROM pagos_cuarentena").to_arrow_table()}
    finally:
        con.close()


@pytest.mark.spark
def test_the_job_on_spark_local_writes_what_the_duckdb_path_merges(tmp_path):
    pytest.importorskip("pyspark")
    root = tmp_path / "lake"
    lake = LakeResource(url=f"file://{root}")
    write_lake(CASE, lake, tombstones=("transacciones",))
    registry = tmp_path / "sucursales.csv"
    registry.write_text("id,nombre,estado,zona_horaria,url,url_env\n" + "".join(
        f"{k},{k},X,{z},sqlite:///x,\n" for k, z in BRANCH_ZONES.items()))
    spark = resource(tmp_path, PODEMOS_BRANCH_REGISTRY=str(registry))

    result = consolidacion_masiva.execute_in_process(
        run_config={"ops": {"consolidar_rango": {"config": {"desde": str(DESDE), "hasta": str(HASTA)}}}},
        resources={"lake": lake, "spark": spark},
    )

    assert result.success
    expected = merged_by_the_duckdb_path(lake)
    for name, table in expected.items():
        written = pq.read_table(root / f"curated/pagos/{name}/desde={DESDE}/hasta={HASTA}")
        assert canonical(written.select(table.column_names)) == canonical(table), name
    motivos = {(r["sucursal"], r["id_origen"]): r["motivo"] for r in expected["pagos_cuarentena"].to_pylist()}
    assert motivos == {("suc_002", 2): "prestamo_desconocido", ("suc_003", 4): "baja_en_sucursal",
                       ("suc_005", 1): "sucursal_desconocida"}
    pagos = {(r["sucursal"], r["id_origen"]): r["monto"] for r in expected["pagos_historicos"].to_pylist()}
    assert pagos == {("suc_001", 1): Decimal("12.50"), ("suc_002", 1): Decimal("-5.00")}

    (output,) = [e for e in result.all_node_events if e.is_successful_output]
    metadata = {k: v.value for k, v in output.step_output_data.metadata.items()}
    assert metadata == {
        "pagos_historicos": 2, "pagos_cuarentena": 3, "versiones_leidas": 6,
        "desde": str(DESDE), "hasta": str(HASTA),
        "destino": f"file://{root}/curated/pagos/{{pagos_historicos,pagos_cuarentena}}/desde={DESDE}/hasta={HASTA}",
    }

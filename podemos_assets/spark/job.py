"""The bulk path: load or reprocess any date range of branch extracts into the payments tables on Spark.

Run it with `spark-submit podemos_assets/spark/job.py --lake-url … --desde … --hasta …` (or
`python -m podemos_assets.spark.job`); in production Glue / EMR Serverless run the same file, launched
through Dagster Pipes (podemos_assets/resources/spark.py) by the job `consolidacion_masiva`. It imports
pyspark, dagster-pipes (when launched by Dagster) and the shared rules in `rules.py`, which bring sqlglot
and `pagos.merge` (and with it the pagos package, Dagster included: the cluster needs the project's
dependencies, docs/production.md §5).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import date, timedelta

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from podemos_assets.contracts import lake as paths
from podemos_assets.spark import rules


def spark_session(master: str | None = None, app_name: str = "podemos-consolidacion-pagos",
                  driver_memory: str = "4g") -> SparkSession:
    """A session whose time zone is UTC (instants are compared and written in UTC on every engine)."""
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        # Parquet timestamps as INT64 micros (Spark's default INT96 is legacy: Arrow and Redshift COPY
        # read it as naive nanoseconds and lose the UTC meaning).
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    )
    if master:  # local runs (tests, laptops); on Glue / EMR the cluster sets these
        builder = (
            builder.master(master)
            .config("spark.driver.host", "127.0.0.1")  # loopback only: never bind or talk to eth0
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "8")
            # local[*] runs every task in the driver's JVM; Spark's 1 GiB default runs out at 10M rows.
            .config("spark.driver.memory", driver_memory)
        )
    return builder.getOrCreate()


def consolidate(spark: SparkSession, frames: dict[str, DataFrame], branch_zones: dict[str, str]) -> dict[str, DataFrame]:
    """`pagos_historicos` and `pagos_cuarentena` from the input frames, by the shared SQL of `rules`."""
    for name, df in frames.items():
        df.createOrReplaceTempView(name)
    spark.createDataFrame(sorted(branch_zones.items()), "id STRING, zona_horaria STRING").createOrReplaceTempView("sucursales")
    spark.createDataFrame(
        rules.zones_rows(branch_zones.values()),
        "zona_horaria STRING, local_desde TIMESTAMP_NTZ, local_hasta TIMESTAMP_NTZ, offset_segundos INT",
    ).createOrReplaceTempView("zonas")
    if spark.catalog.tableExists("consolidado"):
        spark.catalog.uncacheTable("consolidado")  # a previous run in this session
    # Both tables derive from one pass over the versions: keep it (spilling to disk at scale).
    spark.sql(rules.consolidation_sql("spark")).persist(StorageLevel.MEMORY_AND_DISK).createOrReplaceTempView("consolidado")
    return {name: spark.sql(sql) for name, sql in rules.split_sql("consolidado").items()}


def _files(spark: SparkSession, pattern: str) -> list[str]:
    """Files matching a Hadoop glob (works on file://, s3:// on EMR/Glue, s3a://), sorted."""
    jvm = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(pattern)
    statuses = path.getFileSystem(spark._jsc.hadoopConfiguration()).globStatus(path) or []
    return sorted(str(s.getPath()) for s in statuses)


def read_extracts(spark: SparkSession, lake_url: str, desde: date, hasta: date) -> dict[str, DataFrame]:
    """The inputs of a run over extract days `[desde, hasta]` (file choice: `rules.wanted`).

    Files are listed and handed to Spark explicitly, so the Hive path segments never become columns
    that would clash with the `sucursal` column inside the files.
    """
    return {
        relation: _read(
            spark,
            [f for f in _files(spark, f"{lake_url}/{pattern}") if rules.wanted(relation, f, desde, hasta)],
            relation,
        )
        for relation, pattern in rules.INPUT_GLOBS.items()
    }


def _read(spark: SparkSession, files: list[str], relation: str) -> DataFrame:
    schema, columns = rules.spark_ddl(relation), rules.INPUT_SCHEMAS[relation].names
    if not files:
        return spark.createDataFrame([], schema)
    # An explicit schema spares Spark a job that reads every footer to infer one.
    return spark.read.schema(schema).parquet(*files).select(*columns)


def read_registry(spark: SparkSession, url: str) -> dict[str, str]:
    """Branch id → IANA zone from the registry CSV (a local path, file:// or s3:// URL)."""
    text = "\n".join(r.value for r in spark.read.text(url).collect())
    return {row["id"]: row["zona_horaria"] for row in csv.DictReader(io.StringIO(text))}


def write_outputs(outputs: dict[str, DataFrame], lake_url: str, desde: date, hasta: date) -> dict[str, int]:
    """Overwrite `contracts.lake.payments_bulk` of each table (a re-run replaces its own range only)."""
    counts = {}
    for name, df in outputs.items():
        path = f"{lake_url}/{paths.payments_bulk(name, desde, hasta)}"
        # Sorted within a file, repartitioned by branch: the same input gives the same rows per file.
        df = df.repartition(8, "sucursal").sortWithinPartitions("sucursal", "id_pago").cache()
        df.write.mode("overwrite").parquet(path)
        counts[name] = df.count()
        df.unpersist()
    return counts


def run(spark: SparkSession, lake_url: str, desde: date, hasta: date, registry_url: str) -> dict[str, int]:
    frames = read_extracts(spark, lake_url, desde, hasta)
    counts = write_outputs(consolidate(spark, frames, read_registry(spark, registry_url)), lake_url, desde, hasta)
    return {**counts, "versiones_leidas": frames["transacciones"].count()}


def parse_args(argv: list[str]) -> argparse.Namespace:
    from podemos_assets.config import DEFAULT_BRANCH_REGISTRY

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake-url", required=True, help="file:///… or s3://bucket/prefix (s3a:// with hadoop-aws)")
    p.add_argument("--desde", required=True, type=date.fromisoformat, help="first extract day, YYYY-MM-DD")
    p.add_argument("--hasta", required=True, type=date.fromisoformat, help="last extract day (inclusive)")
    p.add_argument("--registry", default=f"file://{DEFAULT_BRANCH_REGISTRY}", help="branch registry CSV URL")
    p.add_argument("--master", default=None, help="e.g. local[2]; omit under spark-submit / Glue / EMR")
    # Glue hands the script its own arguments (--JOB_ID, --TempDir, ...) and Pipes' beside ours.
    args, unknown = p.parse_known_args(argv)
    if unknown and "--dagster-pipes-context" not in argv:
        p.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.hasta < args.desde:
        p.error(f"--hasta {args.hasta} is before --desde {args.desde}")
    if args.hasta - args.desde > timedelta(days=366 * 30):
        p.error("a range longer than 30 years is a typo")
    return args


def _open_pipes():
    """The Pipes session of the launching Dagster run, or None when run by hand (no dagster-pipes needed).

    Glue passes the Pipes parameters as arguments and the context through S3; a subprocess and EMR
    Serverless pass both in the environment. Messages go to stdout or a file, as the launcher asks.
    """
    try:
        from dagster_pipes import PipesCliArgsParamsLoader, PipesEnvVarParamsLoader, open_dagster_pipes
    except ImportError:
        return None
    if PipesCliArgsParamsLoader().is_dagster_pipes_process():
        import boto3
        from dagster_pipes import PipesS3ContextLoader

        return open_dagster_pipes(params_loader=PipesCliArgsParamsLoader(),
                                  context_loader=PipesS3ContextLoader(client=boto3.client("s3")))
    return open_dagster_pipes() if PipesEnvVarParamsLoader().is_dagster_pipes_process() else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spark = spark_session(args.master)
    pipes = _open_pipes()
    if pipes is not None:
        with pipes:
            pipes.log.info(f"consolidating extracts {args.desde}..{args.hasta} from {args.lake_url}")
            counts = run(spark, args.lake_url, args.desde, args.hasta, args.registry)
            # The launcher is an op (consolidacion_masiva), not an asset: the counts go back as a message.
            pipes.report_custom_message({**counts, "desde": str(args.desde), "hasta": str(args.hasta)})
    else:
        counts = run(spark, args.lake_url, args.desde, args.hasta, args.registry)
        print(counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())

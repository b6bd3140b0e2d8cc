"""Launching the bulk PySpark job (podemos_assets/spark/job.py): locally, on AWS Glue or on EMR Serverless.

The same script runs everywhere; only the launcher changes, through Dagster Pipes, so the job's counts
come back to the launching op (a Pipes custom message). `local` runs it as a subprocess on `local[*]`;
the cloud modes start a run of the script and package of the deployed release (docs/production.md §5).
"""

from __future__ import annotations

import sys
from datetime import date
from urllib.parse import urlparse

import dagster as dg

from podemos_assets.config import SPARK_MODES, Settings

JOB_MODULE = "podemos_assets.spark.job"


class SparkJobResource(dg.ConfigurableResource):
    """`mode`: local | glue | emr_serverless. Cloud settings name AWS objects, never credentials."""

    mode: str = "local"
    glue_job_name: str | None = None  # a Glue 5 job (Spark 3.5); its script is given per run
    emr_application_id: str | None = None
    emr_execution_role_arn: str | None = None
    script_s3_uri: str | None = None  # s3://podemos-artifacts-prod/spark/{version}/job.py
    py_files_s3_uri: str | None = None  # the package zip with podemos_assets
    pipes_s3_uri: str | None = None  # where a Glue run reads its Pipes context: s3://bucket/prefix
    registry_url: str | None = None  # the branch registry CSV where the job can read it

    def job_args(self, lake_url: str, desde: date, hasta: date) -> list[str]:
        args = ["--lake-url", lake_url, "--desde", desde.isoformat(), "--hasta", hasta.isoformat()]
        if self.registry_url:
            args += ["--registry", self.registry_url]
        return args

    def glue_params(self, lake_url: str, desde: date, hasta: date) -> dict:
        """StartJobRun parameters: the script and package of this release override the job definition's."""
        args = self.job_args(lake_url, desde, hasta)
        return {"JobName": self.glue_job_name, "Arguments": {
            **dict(zip(args[::2], args[1::2])),
            "--scriptLocation": self.script_s3_uri,
            "--extra-py-files": self.py_files_s3_uri,
        }}

    def emr_params(self, lake_url: str, desde: date, hasta: date) -> dict:
        """StartJobRun parameters of EMR Serverless (Pipes adds its context to the driver's environment)."""
        return {
            "applicationId": self.emr_application_id,
            "executionRoleArn": self.emr_execution_role_arn,
            "name": f"consolidacion_pagos {desde}..{hasta}",
            "jobDriver": {"sparkSubmit": {
                "entryPoint": self.script_s3_uri,
                "entryPointArguments": self.job_args(lake_url, desde, hasta),
                "sparkSubmitParameters": f"--py-files {self.py_files_s3_uri}",
            }},
        }

    def run(self, context: dg.OpExecutionContext, lake_url: str, desde: date,
            hasta: date) -> dg.PipesClientCompletedInvocation:
        """Run the job over extract days [desde, hasta] and wait for it; the Pipes invocation it returns holds
        the job's messages and the launcher's metadata (the Glue / EMR run)."""
        if self.mode == "local":
            args = self.job_args(lake_url, desde, hasta)
            return dg.PipesSubprocessClient().run(
                context=context, command=[sys.executable, "-m", JOB_MODULE, *args, "--master", "local[*]"])
        if self.mode not in SPARK_MODES:
            raise ValueError(f"SparkJobResource.mode={self.mode!r}: expected one of {', '.join(SPARK_MODES)}.")
        import boto3  # the cloud modes only: boto3 comes with the prod extra
        from dagster_aws.pipes import PipesEMRServerlessClient, PipesGlueClient, PipesS3ContextInjector

        if self.mode == "glue":
            # Glue passes arguments, not environment: the context goes through S3; messages are read back
            # from the run's CloudWatch output (the client's default reader).
            pipes = urlparse(self.pipes_s3_uri)
            prefix = pipes.path.strip("/")
            client = PipesGlueClient(client=boto3.client("glue"), context_injector=PipesS3ContextInjector(
                client=boto3.client("s3"), bucket=pipes.netloc, key_prefix=f"{prefix}/" if prefix else None))
            return client.run(context=context, start_job_run_params=self.glue_params(lake_url, desde, hasta))
        # EMR Serverless: context in the driver's environment, messages from CloudWatch (both client defaults).
        client = PipesEMRServerlessClient(client=boto3.client("emr-serverless"))
        return client.run(context=context, start_job_run_params=self.emr_params(lake_url, desde, hasta))


def spark_resource(settings: Settings) -> SparkJobResource:
    """The launcher PODEMOS_SPARK_* choose; locally the job reads the registry the settings point at."""
    spark = settings.spark
    return SparkJobResource(
        mode=spark.mode,
        glue_job_name=spark.glue_job or None,
        emr_application_id=spark.emr_app or None,
        emr_execution_role_arn=spark.role_arn or None,
        script_s3_uri=spark.script_url or None,
        py_files_s3_uri=spark.py_files_url or None,
        pipes_s3_uri=spark.pipes_url or None,
        registry_url=spark.registry_url or f"file://{settings.branch_registry}",
    )

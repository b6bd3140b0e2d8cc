"""Launching the bulk PySpark job (podemos_assets/spark/job.py): locally, on AWS Glue or on EMR Serverless.

The same script runs everywhere; only the launcher changes, through Dagster Pipes, so the job's
counts come back as materialization metadata. `local` runs it as a subprocess on `local[*]`.
"""

from __future__ import annotations

import sys
from datetime import date

import dagster as dg

JOB_MODULE = "podemos_assets.spark.job"


class SparkJobResource(dg.ConfigurableResource):
    """`mode`: local | glue | emr_serverless. Cloud settings name AWS objects, never credentials."""

    mode: str = "local"
    glue_job_name: str | None = None  # a Glue 5 job whose script is job.py (see docs/production.md)
    emr_application_id: str | None = None
    emr_execution_role_arn: str | None = None
    script_s3_uri: str | None = None  # s3://podemos-artifacts-prod/spark/{version}/job.py
    py_files_s3_uri: str | None = None  # the package zip with podemos_assets
    pipes_bucket: str | None = None  # Pipes context and messages (s3://bucket/pipes/)
    registry_url: str | None = None  # the branch registry CSV where the cluster can read it

    def job_args(self, lake_url: str, desde: date, hasta: date) -> list[str]:
        args = ["--lake-url", lake_url, "--desde", desde.isoformat(), "--hasta", hasta.isoformat()]
        if self.registry_url:
            args += ["--registry", self.registry_url]
        return args

    def run(self, context: dg.AssetExecutionContext, lake_url: str, desde: date, hasta: date):
        """Run the job over extract days [desde, hasta]; returns the Pipes results to yield."""
        args = self.job_args(lake_url, desde, hasta)
        if self.mode == "local":
            return dg.PipesSubprocessClient().run(
                context=context, command=[sys.executable, "-m", JOB_MODULE, *args, "--master", "local[*]"]
            ).get_results()
        import boto3
        from dagster_aws.pipes import (
            PipesCloudWatchMessageReader,
            PipesEMRServerlessClient,
            PipesGlueClient,
            PipesS3ContextInjector,
        )

        if self.mode == "glue":
            client = PipesGlueClient(
                client=boto3.client("glue"),
                context_injector=PipesS3ContextInjector(client=boto3.client("s3"), bucket=self.pipes_bucket),
                message_reader=PipesCloudWatchMessageReader(client=boto3.client("logs")),
            )
            params = {"JobName": self.glue_job_name,
                      "Arguments": {**dict(zip(args[::2], args[1::2])), "--extra-py-files": self.py_files_s3_uri}}
            return client.run(context=context, start_job_run_params=params).get_results()
        if self.mode == "emr_serverless":
            client = PipesEMRServerlessClient(client=boto3.client("emr-serverless"))
            params = {
                "applicationId": self.emr_application_id,
                "executionRoleArn": self.emr_execution_role_arn,
                "jobDriver": {"sparkSubmit": {
                    "entryPoint": self.script_s3_uri,
                    "entryPointArguments": args,
                    "sparkSubmitParameters": f"--py-files {self.py_files_s3_uri}",
                }},
            }
            return client.run(context=context, start_job_run_params=params).get_results()
        raise ValueError(f"SparkJobResource.mode={self.mode!r}: expected local, glue or emr_serverless.")

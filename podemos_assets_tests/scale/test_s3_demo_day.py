"""A whole demo day with the lake, the sources drop zone and the outbox on S3 (`s3://…` URLs).

The S3 endpoint is moto in server mode on loopback, not AWS (none is reachable here): this shows every
capability reads and writes through the lake resource's S3 path, not anything about AWS itself.
`podemos generate` and `podemos demo` run as subprocesses, as an operator would run them.
"""

from __future__ import annotations

import re

import boto3
import pytest

from podemos_assets_tests.scale.servers import moto_s3
from podemos_assets_tests.ui.tiny_demo import isolated_env, podemos

pytestmark = [pytest.mark.s3, pytest.mark.slow]

BUCKET = "podemos-prod"
ONE_DAY = ["--days", "1", "--branches", "2", "--clients-per-branch", "8"]


def _keys(prefix: str) -> list[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_demo_day_runs_against_an_s3_lake(tmp_path):
    home = tmp_path / "podemos"
    with moto_s3(BUCKET) as endpoint:
        env = isolated_env(home)  # keeps the AWS_* variables moto_s3 set: fake keys, loopback endpoint
        env.update(PODEMOS_LAKE_URL=f"s3://{BUCKET}/lake", PODEMOS_SOURCES_URL=f"s3://{BUCKET}/fuentes",
                   PODEMOS_OUTBOX_URL=f"s3://{BUCKET}/outbox", AWS_ENDPOINT_URL=endpoint)
        podemos(env, "instance-setup", timeout=120)
        podemos(env, "generate", *ONE_DAY, timeout=300)
        output = podemos(env, "demo", timeout=600)

        summary = re.search(r"assets materialized:\s*(\d+) of (\d+)", output)
        assert summary and summary[1] == summary[2], output[-3000:]
        assert f"lake:       s3://{BUCKET}/lake" in output

        # Every capability wrote to the bucket, at the same Hive-style paths as the local lake.
        lake = _keys("lake/")
        for prefix in ("lake/raw/sucursales/transacciones/fecha=", "lake/landing/campo/",
                       "lake/gobierno/catalogo/"):
            assert any(k.startswith(prefix) for k in lake), f"nothing under s3://{BUCKET}/{prefix}"
        assert _keys("fuentes/"), "the generator wrote no source files to the S3 drop zone"
        outbox = _keys("outbox/")
        assert any(k.endswith("manifest.json") for k in outbox), outbox[:20]

    # Nothing fell back to the local disk: the local home holds only state that is local by design.
    assert not (home / "lake").exists()
    assert not (home / "outbox").exists()
    assert not (home / "fuentes").exists()

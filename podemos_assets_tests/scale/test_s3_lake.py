"""The lake on S3 (`PODEMOS_LAKE_URL=s3://…`), exercised against moto's S3 server on loopback.

moto is an emulator of the S3 API, not AWS: these tests show the lake resource speaks S3 correctly
(paths, overwrite, listing, Parquet round trip), not anything about AWS latency or permissions.
"""

import datetime as dt
from decimal import Decimal

import boto3
import pyarrow as pa
import pytest

from podemos_assets.config import load_settings
from podemos_assets.resources import build_resources
from podemos_assets_tests.scale.servers import moto_s3

pytestmark = pytest.mark.s3

BUCKET = "podemos-lake"


@pytest.fixture(scope="module")
def s3_endpoint():
    with moto_s3(BUCKET) as endpoint:
        yield endpoint


@pytest.fixture
def s3_lake(s3_endpoint, tmp_path, request):
    prefix = f"prod/{request.node.name}"
    settings = load_settings({"PODEMOS_HOME": str(tmp_path), "PODEMOS_LAKE_URL": f"s3://{BUCKET}/{prefix}"})
    return build_resources(settings)["lake"], prefix


def _extract(n: int, amount: str = "100.50") -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "monto": pa.array([Decimal(amount)] * n, pa.decimal128(15, 2)),
            "fecha": pa.array([dt.date(2026, 11, 3)] * n, pa.date32()),
            "updated_at_utc": pa.array([dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)] * n, pa.timestamp("us", "UTC")),
        }
    )


def test_parquet_round_trips_through_s3_with_exact_types(s3_lake):
    lake, prefix = s3_lake
    key = "raw/sucursales/transacciones/fecha=2026-11-03/sucursal=suc_001/part-0.parquet"
    uri = lake.write_parquet(key, _extract(5))
    assert uri == f"s3://{BUCKET}/{prefix}/{key}"
    assert lake.exists(key) and not lake.is_local
    assert lake.read_parquet(key).equals(_extract(5))
    # It is a real object in the bucket, at the same Hive-style path as on the local lake.
    head = boto3.client("s3").head_object(Bucket=BUCKET, Key=f"{prefix}/{key}")
    assert head["ContentLength"] == len(lake.read_bytes(key))


def test_rewrite_replaces_the_whole_object_and_gives_the_same_bytes(s3_lake):
    lake, _ = s3_lake
    key = "raw/sucursales/transacciones/fecha=2026-11-03/sucursal=suc_002/part-0.parquet"
    lake.write_parquet(key, _extract(1000, "1.00"))
    lake.write_parquet(key, _extract(3, "2.00"))
    first = lake.read_bytes(key)
    assert lake.read_parquet(key).equals(_extract(3, "2.00"))
    lake.write_parquet(key, _extract(3, "2.00"))
    assert lake.read_bytes(key) == first  # idempotent: a re-run writes the same bytes


def test_list_returns_sorted_relative_keys_below_a_prefix(s3_lake):
    lake, _ = s3_lake
    keys = [
        "raw/sucursales/cuentas/fecha=2026-11-04/sucursal=suc_001/part-0.parquet",
        "raw/sucursales/cuentas/fecha=2026-11-03/sucursal=suc_002/part-0.parquet",
        "raw/sucursales/cuentas/fecha=2026-11-03/sucursal=suc_001/part-0.parquet",
        "raw/sucursales/clientes/fecha=2026-11-03/sucursal=suc_001/part-0.parquet",
    ]
    for key in keys:
        lake.write_parquet(key, _extract(1))
    assert list(lake.list("raw/sucursales/cuentas")) == sorted(keys[:3])
    assert list(lake.list("raw/sucursales/nada")) == []
    lake.delete(keys[0])
    assert not lake.exists(keys[0])
    assert list(lake.list("raw/sucursales/cuentas")) == sorted(keys[1:3])

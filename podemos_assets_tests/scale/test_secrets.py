"""Branch URLs resolved from AWS Secrets Manager through dagster-aws, against moto (an emulator).

Production: a secret named like the registry's `url_env` and tagged `dagster` becomes an environment
variable of the run (EcsRunLauncher does it for run tasks; the resource below does it in-process).
"""

import boto3
import pytest
from dagster_aws.secretsmanager import SecretsManagerSecretsResource

from podemos_assets.config import ConfigError
from podemos_assets.sucursales.registry import Branch
from podemos_assets_tests.scale.servers import moto_server

pytestmark = pytest.mark.s3

BRANCH = Branch("suc_001", "Tuxtla Gutiérrez", "Chiapas", "America/Mexico_City", url="", url_env="PODEMOS_SUC_001_URL")
SECRET_URL = "mysql://etl_ro:s3cr3t@10.20.1.15:3306/sucursal"


def test_branch_url_comes_from_a_tagged_secret_and_only_inside_the_scope(tmp_path, monkeypatch):
    monkeypatch.delenv("PODEMOS_SUC_001_URL", raising=False)
    with moto_server():
        sm = boto3.client("secretsmanager")
        sm.create_secret(Name="PODEMOS_SUC_001_URL", SecretString=SECRET_URL, Tags=[{"Key": "dagster", "Value": "sucursales"}])
        sm.create_secret(Name="OTRO_SECRETO", SecretString="nope")  # untagged: must not be loaded
        resource = SecretsManagerSecretsResource(secrets_tag="dagster")

        with pytest.raises(ConfigError, match="PODEMOS_SUC_001_URL is not set"):
            BRANCH.connection_url(tmp_path)
        with resource.secrets_in_environment() as secrets:
            assert BRANCH.connection_url(tmp_path) == SECRET_URL
            assert "OTRO_SECRETO" not in secrets
        with pytest.raises(ConfigError) as err:
            BRANCH.connection_url(tmp_path)
        assert "s3cr3t" not in str(err.value)  # the message names the variable, never the URL

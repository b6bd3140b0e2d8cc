"""podemos-assets: Podemos' data platform on Dagster. Exact versions live in constraints.txt."""

from setuptools import find_packages, setup

setup(
    name="podemos-assets",
    version="0.1.0",
    description="Branch ETL, payments warehouse, field events, regulatory report and governance as Dagster assets.",
    packages=find_packages(exclude=["podemos_assets_tests", "benchmarks"]),
    package_data={"podemos_assets": ["**/*.csv", "**/*.yaml", "**/*.json", "**/*.sql"]},
    include_package_data=True,
    python_requires=">=3.11,<3.13",
    install_requires=[
        "dagster==1.13.27",
        "dagster-webserver==1.13.27",
        "dagster-aws==0.29.27",
        "dagster-dbt==0.29.27",
        # dbt-core and its adapters live in their own environment (sql/requirements.txt): imported here,
        # they cost every Dagster process 1.2 s; dagster-dbt runs dbt as a subprocess either way.
        "duckdb",
        "pandas>=2.2,<3",  # the pandera models and Arrow dtypes are tested on pandas 2
        "pandera[pandas]",
        "pyarrow",
        "connectorx",
        "pymysql",
        "tenacity",  # retries with backoff and jitter (the branch links)
        "starlette",
        "uvicorn",
        "granian",  # `podemos ingest serve --server granian`: the compiled (Rust) HTTP server, faster on two cores
        "httpx",
        "sniffio",  # without it httpcore retries a failing `import sniffio` on every request (~15% of the SDK's CPU)
        "orjson",  # the ingestion endpoint's JSON: the stdlib codec was its largest cost per event
        "msgspec",  # the field-ingestion wire contract: compiled typed decoding and validation, JSON Schema
        "openpyxl",
        "openlineage-python",  # the catalog export is validated against its model
        "tzdata",
    ],
    extras_require={
        # sqlglot: the bulk job generates its Spark SQL from the DuckDB path's (podemos_assets/spark/rules.py)
        "spark": ["dagster-pyspark==0.29.27", "dagster-pipes==1.13.27", "pyspark", "sqlglot"],
        "prod": ["dagster-postgres==0.29.27", "dagster-slack==0.29.27", "redshift-connector", "psycopg2-binary", "boto3"],
        "dev": [
            "pytest",
            "pytest-xdist",
            "hypothesis",
            "playwright",  # drives Debian's chromium; never downloads a browser
            "moto[server]",
            "ruff",  # the lint `make test` runs (podemos_assets_tests/test_lint.py)
            "sqlglot",
            "boto3",
        ],
    },
    entry_points={"console_scripts": ["podemos=podemos_assets.cli:main"]},
)

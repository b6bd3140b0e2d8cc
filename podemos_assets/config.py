"""The configuration contract: every setting the platform reads from the environment, read here only.

Asset code never reads os.environ; it receives resources built from `Settings`. A bad value fails at
load with a `ConfigError` that names the variable, the value and what is expected.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_GO_LIVE = "2026-10-01"
# 6 closed months + the current one: at most 215 days, i.e. 43,000 branch-day partitions for 200 branches and
# 86,000 for 400, under Dagster's advised 100,000 per asset however many years pass (docs/sucursales.md).
DEFAULT_WINDOW_MONTHS = 6
MAX_WINDOW_MONTHS = 120
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BRANCH_REGISTRY = Path(__file__).resolve().parent / "sucursales" / "sucursales.csv"
# Written into PODEMOS_HOME by `podemos generate`: demo/scenario.py's SCENARIO_FILE (a test holds them equal;
# scenario.py cannot import this module, whose import raises on a bad setting before the CLI can report it).
DEMO_SCENARIO = "demo_scenario.json"


class ConfigError(ValueError):
    """A setting in the environment is missing or malformed; the message says which and how to fix it."""


SPARK_MODES = ("local", "glue", "emr_serverless")


@dataclass(frozen=True)
class SparkSettings:
    """PODEMOS_SPARK_*: where the bulk Spark job runs (docs/production.md §5). AWS objects, never credentials."""

    mode: str = "local"  # PODEMOS_SPARK_MODE: local | glue | emr_serverless
    glue_job: str = ""  # PODEMOS_SPARK_GLUE_JOB: the Glue 5 job (glue)
    emr_app: str = ""  # PODEMOS_SPARK_EMR_APP: the EMR Serverless application id (emr_serverless)
    role_arn: str = ""  # PODEMOS_SPARK_ROLE_ARN: the EMR job execution role (emr_serverless)
    script_url: str = ""  # PODEMOS_SPARK_SCRIPT_URL: s3://…/spark/{version}/job.py (glue, emr_serverless)
    py_files_url: str = ""  # PODEMOS_SPARK_PY_FILES_URL: s3://…/podemos_spark.zip (glue, emr_serverless)
    pipes_url: str = ""  # PODEMOS_SPARK_PIPES_URL: s3://bucket/prefix of the Pipes context (glue)
    registry_url: str = ""  # PODEMOS_SPARK_REGISTRY_URL: the branch registry CSV where the job reads it


@dataclass(frozen=True)
class Settings:
    home: Path
    lake_url: str
    warehouse_url: str
    branch_registry: Path
    sources_url: str
    outbox_url: str
    alerts_url: str
    dagster_home: Path
    automation_on: bool = True  # PODEMOS_AUTOMATION=pausada stops every schedule and sensor by default
    go_live: str = DEFAULT_GO_LIVE  # PODEMOS_GO_LIVE: the first daily partition (ISO date)
    window_months: int = DEFAULT_WINDOW_MONTHS  # PODEMOS_VENTANA_MESES: closed months kept as daily partitions
    campo_store_url: str = ""  # field ingestion's idempotency store: sqlite:///path or dynamodb://eventos/firmas
    spark: SparkSettings = SparkSettings()  # PODEMOS_SPARK_*: the bulk job's launcher

    @property
    def warehouse_path(self) -> Path | None:
        """The DuckDB file, or None when the warehouse is not an embedded DuckDB."""
        parsed = urlparse(self.warehouse_url)
        return Path(parsed.path) if parsed.scheme == "duckdb" else None


def _url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    scheme = urlparse(value).scheme
    if scheme not in schemes:
        raise ConfigError(
            f"{name}={value!r} is not a supported URL: expected one of "
            f"{', '.join(s + '://' for s in schemes)} (see README, 'Configuration')."
        )
    if scheme == "file" and not urlparse(value).path.startswith("/"):
        raise ConfigError(f"{name}={value!r}: a file:// URL needs an absolute path, e.g. file:///srv/podemos/lake.")
    if scheme == "s3" and not urlparse(value).netloc:
        raise ConfigError(f"{name}={value!r}: an s3:// URL needs a bucket, e.g. s3://podemos-lake/prod.")
    return value.rstrip("/")


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("PODEMOS_HOME") or REPO_ROOT / ".podemos").expanduser().resolve()


def _go_live(env: Mapping[str, str], home: Path | None = None) -> str:
    """PODEMOS_GO_LIVE as a canonical ISO date string (callers compare partition keys with it as text).

    Unset, a demo home (`home` holding the scenario `podemos generate` wrote) goes live on the demo's first
    day, as the home's branch registry wins over the packaged one: its data starts there, and no month of
    the default go-live is left empty as the calendar moves on. Otherwise DEFAULT_GO_LIVE."""
    demo = None if env.get("PODEMOS_GO_LIVE") or home is None else _demo_start(home)
    value = (env.get("PODEMOS_GO_LIVE") or demo or DEFAULT_GO_LIVE).strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or value != day.isoformat():
        if demo:
            raise ConfigError(f"{home / DEMO_SCENARIO}: start={value!r} is not a YYYY-MM-DD date: run "
                              "`podemos generate` again.")
        raise ConfigError(f"PODEMOS_GO_LIVE={value!r} is not a date: expected YYYY-MM-DD, e.g. {DEFAULT_GO_LIVE} "
                          "(the first daily partition; see README, 'Configuration').")
    return value


def _demo_start(home: Path) -> str | None:
    """The first day of the demo data in `home`, if `podemos generate` wrote any."""
    path = home / DEMO_SCENARIO
    try:
        start = json.loads(path.read_text())["start"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a demo scenario ({type(exc).__name__}): run `podemos generate` again, "
                          "or remove it to use PODEMOS_GO_LIVE's default.") from None
    if not isinstance(start, str) or not start:
        raise ConfigError(f"{path}: start={start!r} is not a YYYY-MM-DD date: run `podemos generate` again.")
    return start


def _window_months(env: Mapping[str, str]) -> int:
    """PODEMOS_VENTANA_MESES: how many closed months before the current one stay daily partitions (0: all)."""
    value = (env.get("PODEMOS_VENTANA_MESES") or str(DEFAULT_WINDOW_MONTHS)).strip()
    if not value.isascii() or not value.isdigit() or int(value) > MAX_WINDOW_MONTHS:
        raise ConfigError(f"PODEMOS_VENTANA_MESES={value!r}: expected a whole number of months from 0 to "
                          f"{MAX_WINDOW_MONTHS} (default {DEFAULT_WINDOW_MONTHS}; 0 keeps every day since go-live; "
                          "see docs/sucursales.md, 'Partitions over the years').")
    return int(value)


def window_start(today: date, months: int, go_live: str) -> date:
    """The first daily branch partition: the 1st of the month `months` months before `today`'s month,
    never before go-live; `months=0` keeps every day since go-live (docs/sucursales.md)."""
    first = date.fromisoformat(go_live)
    if months == 0:
        return first
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return max(first, date(year, month + 1, 1))


# The settings each cloud mode cannot run without (Glue's script and package are per run, like EMR's, so a
# release never has to edit the Glue job definition).
_SPARK_REQUIRED = {
    "glue": ("PODEMOS_SPARK_GLUE_JOB", "PODEMOS_SPARK_SCRIPT_URL", "PODEMOS_SPARK_PY_FILES_URL",
             "PODEMOS_SPARK_PIPES_URL", "PODEMOS_SPARK_REGISTRY_URL"),
    "emr_serverless": ("PODEMOS_SPARK_EMR_APP", "PODEMOS_SPARK_ROLE_ARN", "PODEMOS_SPARK_SCRIPT_URL",
                       "PODEMOS_SPARK_PY_FILES_URL", "PODEMOS_SPARK_REGISTRY_URL"),
}


def _spark(env: Mapping[str, str]) -> SparkSettings:
    """PODEMOS_SPARK_*; a cloud mode names every AWS object it needs, as s3:// URLs where they are files."""
    get = lambda name: (env.get(name) or "").strip()  # noqa: E731
    mode = get("PODEMOS_SPARK_MODE").lower() or "local"
    if mode not in SPARK_MODES:
        raise ConfigError(f"PODEMOS_SPARK_MODE={mode!r}: expected 'local' (default), 'glue' or 'emr_serverless' "
                          "(see docs/production.md, section 5).")
    missing = [name for name in _SPARK_REQUIRED.get(mode, ()) if not get(name)]
    if missing:
        raise ConfigError(f"PODEMOS_SPARK_MODE={mode} needs {', '.join(missing)} (see docs/production.md, section 5).")
    role = get("PODEMOS_SPARK_ROLE_ARN")
    if role and not role.startswith("arn:aws:iam::"):
        raise ConfigError(f"PODEMOS_SPARK_ROLE_ARN={role!r} is not an IAM role ARN: expected "
                          "arn:aws:iam::<account>:role/<name>.")
    s3 = lambda name: _url(name, get(name), ("s3",)) if get(name) else ""  # noqa: E731
    return SparkSettings(
        mode=mode,
        glue_job=get("PODEMOS_SPARK_GLUE_JOB"),
        emr_app=get("PODEMOS_SPARK_EMR_APP"),
        role_arn=role,
        script_url=s3("PODEMOS_SPARK_SCRIPT_URL"),
        py_files_url=s3("PODEMOS_SPARK_PY_FILES_URL"),
        pipes_url=s3("PODEMOS_SPARK_PIPES_URL"),
        registry_url=_url("PODEMOS_SPARK_REGISTRY_URL", get("PODEMOS_SPARK_REGISTRY_URL"), ("file", "s3"))
        if get("PODEMOS_SPARK_REGISTRY_URL") else "",
    )


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the PODEMOS_* variables (defaults: everything local under .podemos/)."""
    env = dict(os.environ if environ is None else environ)
    home = _home(env)
    if home.exists() and not home.is_dir():
        raise ConfigError(f"PODEMOS_HOME={home} exists and is not a directory: point it at a directory.")

    lake_url = _url("PODEMOS_LAKE_URL", env.get("PODEMOS_LAKE_URL") or f"file://{home}/lake", ("file", "s3"))
    warehouse_url = _url(
        "PODEMOS_WAREHOUSE_URL",
        env.get("PODEMOS_WAREHOUSE_URL") or f"duckdb://{home}/warehouse.duckdb",
        ("duckdb", "redshift"),
    )
    sources_url = _url("PODEMOS_SOURCES_URL", env.get("PODEMOS_SOURCES_URL") or f"file://{home}/fuentes", ("file", "s3"))
    outbox_url = _url("PODEMOS_OUTBOX_URL", env.get("PODEMOS_OUTBOX_URL") or f"file://{home}/outbox", ("file", "s3"))
    alerts_url = _url(
        "PODEMOS_ALERTS_URL",
        env.get("PODEMOS_ALERTS_URL") or f"file://{home}/alerts.jsonl",
        ("file", "https", "slack"),
    )
    # The branches this home serves: a registry written into PODEMOS_HOME (the demo's generator writes the
    # branches it made) wins over the packaged registry of all 200; PODEMOS_BRANCH_REGISTRY over both.
    home_registry = home / "sucursales" / "sucursales.csv"
    registry = Path(env.get("PODEMOS_BRANCH_REGISTRY")
                    or (home_registry if home_registry.is_file() else DEFAULT_BRANCH_REGISTRY)).expanduser()
    if not registry.is_file():
        raise ConfigError(
            f"PODEMOS_BRANCH_REGISTRY={registry} does not exist: point it at a branch registry CSV "
            f"(columns id,nombre,estado,zona_horaria,url,url_env; see {DEFAULT_BRANCH_REGISTRY.name})."
        )
    dagster_home = Path(env.get("DAGSTER_HOME") or home / "dagster_home").expanduser().resolve()
    automation = (env.get("PODEMOS_AUTOMATION") or "activa").strip().lower()
    if automation not in ("activa", "pausada"):
        raise ConfigError(f"PODEMOS_AUTOMATION={automation!r}: expected 'activa' (default) or 'pausada' "
                          "(every schedule and sensor starts stopped; see README, 'Automation').")
    return Settings(
        home=home,
        lake_url=lake_url,
        warehouse_url=warehouse_url,
        branch_registry=registry.resolve(),
        sources_url=sources_url,
        outbox_url=outbox_url,
        alerts_url=alerts_url,
        dagster_home=dagster_home,
        automation_on=automation == "activa",
        go_live=_go_live(env, home),
        window_months=_window_months(env),
        campo_store_url=_url("PODEMOS_CAMPO_STORE_URL", env["PODEMOS_CAMPO_STORE_URL"], ("sqlite", "dynamodb"))
        if env.get("PODEMOS_CAMPO_STORE_URL") else "",
        spark=_spark(env),
    )


# First daily partition; history before it is loaded by the bulk path. Read once at import (partitions
# definitions need it at module level); a malformed PODEMOS_GO_LIVE raises ConfigError here.
GO_LIVE: str = _go_live(os.environ, _home(os.environ))
WINDOW_MONTHS: int = _window_months(os.environ)

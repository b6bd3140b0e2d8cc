"""The dbt CLI resource for the project in sql/ (DuckDB `dev` locally, `prod` on Redshift) and its manifest.

The manifest (sql/target/manifest.json) is prepared once per content of sql/: `make install` runs
`python -m podemos_assets.resources.dbt`, which runs `dbt parse` only when the sources' digest differs from
the one stamped beside the manifest. A definitions load only compares the digest (milliseconds); it parses
only when the stamp is missing or stale (a clean clone, an edited model), under a file lock so that the
processes `dagster dev` starts at once parse once between them instead of each on its own.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from podemos_assets.config import REPO_ROOT, Settings

if TYPE_CHECKING:
    from dagster_dbt import DbtCliResource

    from podemos_assets.resources.warehouse import WarehouseResource

DBT_DIR = REPO_ROOT / "sql"
TARGET_DIR = DBT_DIR / "target"
MANIFEST = TARGET_DIR / "manifest.json"
STAMP = TARGET_DIR / "podemos_sources.sha256"  # digest of the sources the manifest was parsed from
# The daily models read their window from these (pagos/reports.py sets them per run). Models that have no
# window still need a value for dbt to parse the project: any date parses, none is ever built from these.
PARSE_WINDOW = {"PODEMOS_DBT_MIN_DATE": "2026-10-01", "PODEMOS_DBT_MAX_DATE": "2026-10-02"}
# The op tag of a `@dbt_assets` group that names its models (`manifest_of`, `PodemosDbtCliResource.build`).
DBT_SELECT_TAG = "podemos/dbt_select"
# What dbt writes or downloads, not what it reads: never part of the digest.
_NOT_SOURCES = {"target", "logs", "dbt_packages", ".user.yml"}


class ManifestError(RuntimeError):
    """The dbt manifest could not be prepared; the message says what to run."""


DBT_VENV = REPO_ROOT / ".venv-dbt"  # `make install`; the image sets PODEMOS_DBT_EXECUTABLE instead


def _dbt_executable() -> str:
    """dbt from its own environment: PODEMOS_DBT_EXECUTABLE (the image), else the repo's .venv-dbt (`make
    install`), else whatever `dbt` is on PATH. Never dbt-core in the Dagster venv: dagster-dbt imports it
    when it is importable, 1.2 s in every Dagster process, and only needs the executable."""
    configured = os.environ.get("PODEMOS_DBT_EXECUTABLE")
    if configured:
        if not Path(configured).is_file():
            raise RuntimeError(f"PODEMOS_DBT_EXECUTABLE={configured} is not a file: point it at the dbt of the "
                               "environment installed from sql/requirements.txt")
        return configured
    local = DBT_VENV / "bin" / "dbt"
    found = str(local) if local.exists() else shutil.which("dbt")
    if found is None:
        raise RuntimeError(f"dbt is not installed: run `make install` (it installs sql/requirements.txt into "
                           f"{DBT_VENV.name}/), or set PODEMOS_DBT_EXECUTABLE")
    return found


DBT_EXECUTABLE = _dbt_executable()


def dbt_site_packages(executable: str = DBT_EXECUTABLE) -> list[Path]:
    """The site-packages of the environment `executable` belongs to (its dbt-core metadata and bytecode)."""
    return sorted((Path(shutil.which(executable) or executable).parent.parent).glob("lib/python*/site-packages"))


def sources_digest(project_dir: Path = DBT_DIR) -> str:
    """sha256 over the relative path and bytes of every file dbt may read in the project (a few ms)."""
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        rel = path.relative_to(project_dir)
        if rel.parts[0] in _NOT_SOURCES or not path.is_file():
            continue
        digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def manifest_is_current(project_dir: Path = DBT_DIR) -> bool:
    target = project_dir / "target"
    stamp = target / STAMP.name
    return ((target / MANIFEST.name).is_file() and stamp.is_file()
            and stamp.read_text().strip() == sources_digest(project_dir))


def prepare_manifest(project_dir: Path = DBT_DIR, force: bool = False) -> bool:
    """Run `dbt parse` (offline, no warehouse connection) unless the manifest matches the sources.

    Returns whether it parsed. Concurrent callers serialize on a lock in target/; the ones that waited
    find the fresh stamp and return without parsing.
    """
    if not force and manifest_is_current(project_dir):
        return False
    target = project_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and manifest_is_current(project_dir):
            return False
        digest = sources_digest(project_dir)  # before parsing: an edit during the parse leaves it stale
        t0 = time.perf_counter()
        done = subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(project_dir),
             "--profiles-dir", str(project_dir), "--target-path", str(target)],
            cwd=project_dir, capture_output=True, text=True,
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **PARSE_WINDOW},
        )
        if done.returncode != 0:
            detail = (done.stdout + done.stderr).strip().splitlines()
            raise ManifestError(f"`dbt parse` of {project_dir} failed ({detail[-1] if detail else 'no output'}); "
                                f"fix the model, then run `make install` (or `{sys.executable} -m "
                                "podemos_assets.resources.dbt`)")
        (target / STAMP.name).write_text(digest + "\n")
        print(f"dbt: manifest prepared for {project_dir} in {time.perf_counter() - t0:.1f} s "
              f"(once per content of {project_dir.name}/)", file=sys.stderr, flush=True)
        return True


def manifest_of(models: str, manifest_path: Path = MANIFEST) -> dict:
    """The manifest restricted to `models` (space-separated names) and the tests that read them, for a
    `@dbt_assets(select="")` group. dagster-dbt evaluates any other selection with dbt-core in process,
    which is not installed here (see `_dbt_executable`); our groups are plain model names, so the
    selection is a filter. `PodemosDbtCliResource.build` selects the same models when dbt runs."""
    from dagster_dbt.compat import DBT_PYTHON_VERSION  # already imported by the caller's @dbt_assets

    if DBT_PYTHON_VERSION is not None:  # dagster-dbt would select through dbt-core's graph: nothing matches ""
        raise ManifestError(f"dbt-core {DBT_PYTHON_VERSION} is importable beside Dagster ({sys.executable}); it "
                            "belongs in its own environment: run `make install` (it moves dbt to .venv-dbt), or "
                            "uninstall dbt-core here and set PODEMOS_DBT_EXECUTABLE")
    manifest = json.loads(manifest_path.read_bytes())
    names = set(models.split())
    nodes = manifest["nodes"]
    chosen = {uid for uid, node in nodes.items() if node["resource_type"] == "model" and node["name"] in names}
    if missing := names - {nodes[uid]["name"] for uid in chosen}:
        raise ManifestError(f"dbt models {sorted(missing)} are not in {manifest_path}: check the names, or run "
                            "`make install` if sql/ changed")
    chosen |= {uid for uid, node in nodes.items()
               if node["resource_type"] == "test" and chosen & set(node["depends_on"]["nodes"])}
    return {**manifest, "nodes": {uid: node for uid, node in nodes.items() if uid in chosen}}


def dbt_group(models: str) -> dict:
    """The `@dbt_assets` arguments of a group of plain model names: its filtered manifest, the default
    selection (the only one dagster-dbt evaluates without dbt-core) and the tag the build selects with."""
    return {"manifest": manifest_of(models), "select": "", "op_tags": {DBT_SELECT_TAG: models}}


def dbt_resource(settings: Settings, warehouse: WarehouseResource) -> DbtCliResource:
    """dbt on the engine of `warehouse` (its target of sql/profiles.yml, and its file for dbt-duckdb)."""
    from podemos_assets.resources.dbt_cli import PodemosDbtCliResource  # here: importing dagster-dbt costs seconds

    return PodemosDbtCliResource(project_dir=str(DBT_DIR), profiles_dir=str(DBT_DIR), target=warehouse.dbt_target,
                                 dbt_executable=DBT_EXECUTABLE, target_root=str(settings.home / "dbt"),
                                 warehouse_path=warehouse.dbt_path)


if __name__ == "__main__":  # `make install`: prepare the manifest once per content of sql/
    try:
        parsed = prepare_manifest(force="--force" in sys.argv[1:])
    except ManifestError as exc:
        print(f"dbt: {exc}", file=sys.stderr)
        sys.exit(1)
    if not parsed:
        print(f"dbt: manifest up to date ({MANIFEST.relative_to(REPO_ROOT)})")

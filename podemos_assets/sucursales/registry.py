"""The branch registry: the 200 branches, their time zones and where their databases are.

It defines the `sucursal` partition dimension. Each row gives either a `url` (may use ${PODEMOS_HOME})
or `url_env`, the name of the environment variable (or secret) that holds the branch's mysql:// URL,
so that no credential is ever written in the repository.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from podemos_assets.config import ConfigError

COLUMNS = ("id", "nombre", "estado", "zona_horaria", "url", "url_env")


@dataclass(frozen=True)
class Branch:
    id: str
    nombre: str
    estado: str
    zona_horaria: str
    url: str
    url_env: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zona_horaria)

    def connection_url(self, home: Path, environ: dict[str, str] | None = None) -> str:
        """The branch's database URL; read from the environment when the registry names a variable."""
        env = os.environ if environ is None else environ
        if self.url_env:
            try:
                return env[self.url_env]
            except KeyError:
                raise ConfigError(
                    f"Branch {self.id} ({self.nombre}): environment variable {self.url_env} is not set; "
                    f"set it to the branch's mysql:// URL or load it from the secret manager."
                ) from None
        return Template(self.url).safe_substitute(PODEMOS_HOME=str(home))


@lru_cache(maxsize=8)
def load_registry(path: Path) -> tuple[Branch, ...]:
    """Read and validate the registry file; errors name the file, row and column."""
    path = Path(path)
    branches: list[Branch] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: missing column(s) {missing}; expected header {','.join(COLUMNS)}.")
        for lineno, row in enumerate(reader, start=2):
            where = f"{path}, line {lineno}"
            if not row["id"]:
                raise ConfigError(f"{where}: empty 'id'.")
            try:
                ZoneInfo(row["zona_horaria"])
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"{where}: zona_horaria {row['zona_horaria']!r} of branch {row['id']} is not an IANA zone "
                    f"(e.g. America/Mexico_City)."
                ) from None
            if bool(row["url"]) == bool(row["url_env"]):
                raise ConfigError(f"{where}: branch {row['id']} needs exactly one of 'url' or 'url_env'.")
            branches.append(Branch(**{c: row[c].strip() for c in COLUMNS}))
    ids = [b.id for b in branches]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ConfigError(f"{path}: duplicate branch id(s) {dup}.")
    return tuple(branches)

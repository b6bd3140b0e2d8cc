"""What happens outside the platform during the demo's simulated days: the world the automation reacts to.

Before each tick of the simulated clock: the branches' planted changes of the days gone by are applied to
their databases (late commits with an old updated_at, re-deliveries, hard deletes), the offline branch's
link goes down and up, the phones sync their outboxes through the real endpoint, and the regulatory
sources land in the drop zone at their planned arrival times. Nothing here runs an asset: the simulated
daemon (podemos_assets/simulation.py) decides that from the code location's own automation.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from podemos_assets.demo.branches import MUTATIONS, OFFLINE_MARKER

MX = ZoneInfo("America/Mexico_City")
ASIDE = ".sin_enlace"  # a branch database moved aside: the platform finds no branch there, as on a dead link
PLANTED = {  # what each planted branch change shows, for the summary
    "tardia": "a payment committed two days late with its old updated_at: caught by the fingerprint "
              "(sucursales/huellas), its day re-extracted and re-merged",
    "duplicada": "a payment delivered again with a new updated_at: one row in pagos_historicos",
    "baja": "a payment deleted at the branch: a tombstone (sucursales/bajas), the payment moves from "
            "pagos_historicos to pagos_cuarentena as baja_en_sucursal",
}


@dataclass
class World:
    ctx: object  # demo.run.DemoContext
    applied: set[int] = field(default_factory=set)
    synced: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def branch_dir(self):
        return self.ctx.settings.home / "sucursales"

    def advance(self, now: datetime) -> list[str]:
        """Bring the world to `now`; returns what happened (one line each)."""
        out = self._branches(now)
        if not self.synced:
            self.synced = True
            out += self._phones()
        out += self._sources(now)
        self.notes += out
        return out

    def _branches(self, now: datetime) -> list[str]:
        today = now.astimezone(MX).date()
        out = self._links(today)
        path = self.branch_dir / MUTATIONS
        mutations = json.loads(path.read_text()) if path.exists() else []
        for i, m in enumerate(mutations):  # a change of day D happened during D: before that night's run
            if i in self.applied or m["dia"] >= today.isoformat():
                continue
            self.applied.add(i)
            self._execute(m["sucursal"], m["sql"], m["params"])
            out.append(f"planted at {m['sucursal']} ({m['dia']}): {m['nota']}")
        return out

    def _links(self, today) -> list[str]:
        """Each branch's link follows the simulated date: on its down days its database is moved aside."""
        marker = self.branch_dir / OFFLINE_MARKER
        down = json.loads(marker.read_text())["sucursales"] if marker.exists() else {}
        out = []
        for suc, days in sorted(down.items()):
            db = self._sqlite_path(suc)
            if db is None:
                continue  # a MariaDB branch: its link is cut elsewhere (the week test's proxy)
            aside = db.with_name(db.name + ASIDE)
            if today.isoformat() in days and db.exists():
                db.rename(aside)
                out.append(f"the link to {suc} is down")
            elif today.isoformat() not in days and aside.exists():
                aside.rename(db)
                out.append(f"the link to {suc} is back")
        return out

    def _sqlite_path(self, suc: str):
        from podemos_assets.sucursales.partitions import BRANCHES

        url = urlparse(BRANCHES[suc].connection_url(self.ctx.settings.home))
        return Path("/" + url.path.lstrip("/")) if url.scheme == "sqlite" else None

    def _execute(self, suc: str, sql: str, params: list) -> None:
        """A change made by the branch application, on the branch's own database (SQLite or MySQL)."""
        from podemos_assets.sucursales.partitions import BRANCHES

        url = urlparse(BRANCHES[suc].connection_url(self.ctx.settings.home))
        if url.scheme == "sqlite":
            db = self._sqlite_path(suc)
            aside = db.with_name(db.name + ASIDE)
            # The branch works while its link is down: its application writes to its own database.
            con = sqlite3.connect(aside if aside.exists() and not db.exists() else db)
            with con:
                con.execute(sql, params)
            con.close()
            return
        import pymysql

        con = pymysql.connect(host=url.hostname, port=url.port or 3306, user=url.username, password=url.password or "",
                              database=url.path.lstrip("/"), autocommit=True)
        with con.cursor() as cur:
            cur.execute(sql.replace("?", "%s").replace("INSERT OR REPLACE", "REPLACE"), params)
        con.close()

    def _phones(self) -> list[str]:
        from podemos_assets.demo import phones

        return phones.sync(self.ctx)

    def _sources(self, now: datetime) -> list[str]:
        from podemos_assets.demo import regulatorio

        arrive = getattr(regulatorio, "arrive_due", None)
        return arrive(self.ctx.settings, now) if arrive else []

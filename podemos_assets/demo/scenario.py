"""The demo scenario: which days, how many branches and clients, which trouble to plant.

Saved as `$PODEMOS_HOME/demo_scenario.json` by `podemos generate` so that `podemos demo` (and the
tests) materialize exactly the days that were generated. Same scenario + same seed = same bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

SCENARIO_FILE = "demo_scenario.json"
# The demo's default: 20 branches (the offline suc_013 among them) keep `make demo` under ~3 minutes on
# two cores; `podemos generate --branches 200` builds the whole company (see docs/sucursales.md for its cost).
DEMO_BRANCHES = 20
# Four days hold all the planted trouble (an offline night and its catch-up, a late commit, a re-delivery, a
# delete, a broken and a late regulatory file) at about 115 s of simulated night each; `--days 7` walks a week.
DEMO_DAYS = 4


def default_start(days: int) -> date:
    """The demo ends yesterday in Mexico City, so today's deadlines are live in the UI."""
    return datetime.now(ZoneInfo("America/Mexico_City")).date() - timedelta(days=days)


@dataclass(frozen=True)
class Scenario:
    start: date
    days: int = DEMO_DAYS
    seed: int = 42
    branches: int = DEMO_BRANCHES  # the first N branches of the registry
    clients_per_branch: int = 60
    trouble: bool = True  # plant duplicates, late rows, an offline branch, malformed rows and files
    offline_branch: str = "suc_013"  # with trouble: unreachable for the middle days of the demo
    extra: dict = field(default_factory=dict)  # per-capability knobs

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    @property
    def end(self) -> date:
        """The last demo day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    def save(self, home: Path) -> Path:
        home.mkdir(parents=True, exist_ok=True)
        path = home / SCENARIO_FILE
        path.write_text(json.dumps({**asdict(self), "start": self.start.isoformat()}, indent=2, sort_keys=True))
        return path

    @classmethod
    def load(cls, home: Path) -> Scenario:
        path = home / SCENARIO_FILE
        if not path.exists():
            raise SystemExit(f"No demo data in {home}: run `podemos generate` (or `make demo`) first.")
        raw = json.loads(path.read_text())
        return cls(**{**raw, "start": date.fromisoformat(raw["start"])})

"""The registry of the 15 regulatory sources (`fuentes.yaml`), loaded once into `Source` records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from podemos_assets.contracts import lake as paths

REGISTRY_FILE = Path(__file__).with_name("fuentes.yaml")
TZ_NAME = "America/Mexico_City"
TZ = ZoneInfo(TZ_NAME)
BUILD_AT = time(2, 0)  # the report is first built at 02:00 on the day after the business date
CUTOFF = time(5, 30)  # past this, a missing required source gives a PARTIAL delivery
DEADLINE = time(6, 0)  # the regulator's deadline


@dataclass(frozen=True)
class Source:
    name: str
    owner: str
    description: str
    format: str  # db | csv | xlsx | fixed | json | lake | warehouse
    file: str
    window: tuple[time, time]
    required: bool
    schema: str
    control: tuple[str, ...]
    encoding: str = "utf-8"
    table: str | None = None
    upstream: tuple[tuple[str, ...], ...] = ()  # asset keys it reads (lake and warehouse sources)
    layout: dict[str, tuple[int, int]] = field(default_factory=dict)

    def path(self, fecha: str) -> str:
        """Where the day's file is: under the drop zone, (format lake) the asset's day folder in the lake,
        (format warehouse) the asset's table."""
        if self.format == "warehouse":
            return self.file
        return paths.asset_day_prefix(self.file, fecha) if self.format == "lake" else f"{fecha}/{self.file}"

    def window_on(self, fecha: str) -> tuple[datetime, datetime]:
        """The arrival window of business day `fecha`, on the next day, as aware datetimes."""
        day = date.fromisoformat(fecha) + timedelta(days=1)
        return tuple(datetime.combine(day, t, tzinfo=TZ) for t in self.window)  # type: ignore[return-value]

    @property
    def deadline_cron(self) -> str:
        end = self.window[1]
        return f"{end.minute} {end.hour} * * *"


def _file(name: str, spec: dict) -> str:
    """A drop-zone source names its file; a lake or warehouse source names the asset it reads (`upstream`),
    never a path, so the lake layout stays defined once (contracts/lake.py)."""
    if spec["format"] in ("lake", "warehouse"):
        if "file" in spec or len(spec.get("upstream") or ()) != 1:
            raise ValueError(f"{REGISTRY_FILE}: source {name!r} ({spec['format']}) names the one asset it reads "
                             "in `upstream` and no `file`.")
        return spec["upstream"][0][-1]
    return spec["file"]


def _time(text: str) -> time:
    return time.fromisoformat(text)


@cache
def load_sources(path: Path = REGISTRY_FILE) -> dict[str, Source]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["fuentes"]
    return {
        name: Source(
            name=name,
            owner=spec["owner"],
            description=spec["description"],
            format=spec["format"],
            file=_file(name, spec),
            window=(_time(spec["window"][0]), _time(spec["window"][1])),
            required=bool(spec["required"]),
            schema=spec["schema"],
            control=tuple(spec.get("control") or ()),
            encoding=spec.get("encoding", "utf-8"),
            table=spec.get("table"),
            upstream=tuple(tuple(k) for k in spec.get("upstream") or ()),
            layout={k: (int(v[0]), int(v[1])) for k, v in (spec.get("layout") or {}).items()},
        )
        for name, spec in raw.items()
    }


def at(fecha: str, t: time) -> datetime:
    """`t` on the day after business day `fecha`, Mexico City (build, cut-off and deadline moments)."""
    return datetime.combine(date.fromisoformat(fecha) + timedelta(days=1), t, tzinfo=TZ)


def due_fecha(now: datetime) -> str:
    """The business day whose report is due at the next or current 06:00 (yesterday in Mexico City)."""
    return (now.astimezone(TZ).date() - timedelta(days=1)).isoformat()

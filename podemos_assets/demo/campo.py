"""Demo part `campo`: the field devices' offline outboxes (one SQLite file per device), seeded.

One device per two branches, a few events per working day each. With trouble: one region falls silent
after the third day (the heartbeat flags it), one phone's clock runs 3 h ahead, one event_id is re-used
with a different amount on another phone (a conflict) and one payment carries a float amount (rejected).
`podemos demo` then drains the outboxes through the real endpoint (steps_campo.py).
"""

from __future__ import annotations

import csv
import json
import random
import shutil
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from podemos_assets.demo.simulator import device_secret, make_event
from podemos_assets.ingesta.auth import DEFAULT_SECRETS_FILE, write_secrets_file
from podemos_assets.ingesta.sdk import Outbox

MX = ZoneInfo("America/Mexico_City")
EVENTS_PER_DAY = 3
SKEWED_DEVICE_S = 3 * 3600.0
KINDS, WEIGHTS = ("pago", "geolocalizacion", "foto", "visita"), (4, 4, 0.4, 2)


def fleet_dir(settings):
    return settings.home / "campo" / "dispositivos"


def generate(scenario, settings) -> dict:
    rng = random.Random(f"campo-{scenario.seed}")
    with open(settings.branch_registry, newline="", encoding="utf-8") as f:
        branches = list(csv.DictReader(f))[: scenario.branches]
    folder = fleet_dir(settings)
    shutil.rmtree(folder, ignore_errors=True)
    silent_region = branches[len(branches) // 2]["estado"] if scenario.trouble else None
    fleet, secrets, totals = [], {}, {"events": 0, "photos": 0}
    for n, branch in enumerate(branches[::2]):
        device_id = f"tel-{branch['id']}"
        skew = SKEWED_DEVICE_S if scenario.trouble and n == 1 else 0.0
        secrets[device_id] = device_secret(scenario.seed, device_id)
        items = []
        for i, day in enumerate(scenario.dates):
            if branch["estado"] == silent_region and i >= 3:
                break  # the region has no signal from the fourth day on
            for _ in range(EVENTS_PER_DAY):
                when = datetime.combine(day, time(8), MX) + timedelta(seconds=rng.uniform(0, 10 * 3600))
                items.append(make_event(rng, rng.choices(KINDS, WEIGHTS)[0], when + timedelta(seconds=skew),
                                        cuenta=f"{branch['id']}-{rng.randint(1, scenario.clients_per_branch):04d}"))
        if scenario.trouble and n == 2 and items:
            bad, _ = make_event(rng, "pago", datetime.combine(scenario.dates[-1], time(12), MX))
            bad["payload"]["monto"] = 150.5  # a float amount: rejected with a reason
            items.append((bad, None))
        if scenario.trouble and n == 3 and fleet and fleet[0]["primer_pago"]:
            reused = json.loads(fleet[0]["primer_pago"])  # same event_id as another phone, other amount
            reused["payload"]["monto"] = "1.00"
            items.append((reused, None))
        outbox = Outbox(folder / f"{device_id}.sqlite", durable=False)
        outbox.enqueue_many(items)
        outbox.close()
        first_payment = next((e for e, _ in items if e["type"] == "pago"), None)
        fleet.append({"device_id": device_id, "asesor": f"ase_{branch['id'][4:]}", "sucursal": branch["id"],
                      "region": branch["estado"], "skew_s": skew,
                      "primer_pago": json.dumps(first_payment) if first_payment else None})
        totals["events"] += len(items)
        totals["photos"] += sum(p is not None for _, p in items)
    (folder.parent / "flota.json").write_text(json.dumps(fleet, indent=1, sort_keys=True))
    write_secrets_file(settings.home / DEFAULT_SECRETS_FILE, secrets)
    return {"devices": len(fleet), **totals, "silent_region": silent_region}

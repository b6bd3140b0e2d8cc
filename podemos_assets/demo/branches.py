"""Demo part: the first `scenario.branches` branch databases as SQLite files, seeded and deterministic.

Group lending as it looks at a branch: groups of 10-40 women share a loan repaid in 16 weekly
instalments. Loans were disbursed up to ~6 months before the demo, so every PAR bucket exists, but
every row's `updated_at` falls inside the demo days: day 1 is the go-live migration that stamps the
existing rows; later days add payments, instalment status changes and new groups when they happen.
With trouble, `mutaciones.json` lists changes the demo applies on a given day (late commits with an
older updated_at, re-deliveries, hard deletes) and `offline.json` the days a branch is unreachable.
"""

from __future__ import annotations

import csv
import json
import random
import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from podemos_assets.config import DEFAULT_BRANCH_REGISTRY, REPO_ROOT
from podemos_assets.demo.scenario import Scenario
from podemos_assets.resources.branches import BRANCH_TABLES
from podemos_assets.sucursales.registry import COLUMNS, load_registry

MUTATIONS = "mutaciones.json"
OFFLINE_MARKER = "offline.json"  # the days each branch's link is down; demo/world.py acts them out
CENT = Decimal("0.01")
NOMBRES = ("María", "Guadalupe", "Juana", "Margarita", "Verónica", "Rosa", "Leticia", "Francisca", "Teresa", "Alicia",
           "Adriana", "Gabriela", "Patricia", "Elizabeth", "Claudia", "Araceli", "Silvia", "Yolanda", "Isabel", "Norma",
           "Martha", "Josefina", "Laura", "Alejandra", "Sofía", "Angélica", "Beatriz", "Carmen", "Esperanza", "Ximena")
APELLIDOS = ("Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez", "Cruz",
             "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres", "Díaz", "Gutiérrez", "Ruiz",
             "Mendoza", "Aguilar", "Ortiz", "Moreno", "Castillo", "Romero", "Álvarez", "Méndez", "Chávez", "Ramos")
GRUPOS = ("Mujeres Unidas", "Las Emprendedoras", "Flor de Mayo", "Esperanza", "Nuevo Amanecer", "Las Girasoles",
          "Manos Trabajadoras", "Luz del Valle", "Las Palomas", "Sol Naciente", "Fuerza y Fe", "La Ceiba")
ESTADOS_CURP = {"Chiapas": "CS", "Oaxaca": "OC", "Guerrero": "GR", "Puebla": "PL", "Veracruz": "VZ", "Tabasco": "TC",
                "Yucatán": "YN", "Campeche": "CC", "Quintana Roo": "QR", "Ciudad de México": "DF", "México": "MC",
                "Jalisco": "JC", "Michoacán": "MN", "Hidalgo": "HG", "Tlaxcala": "TL", "Morelos": "MS"}
CANALES = (("VENTANILLA", 40), ("CORRESPONSAL_OXXO", 25), ("SPEI", 15), ("ASESOR_CAMPO", 20))
CURP_ALPHABET = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"


def _plain(text: str) -> str:
    return text.upper().translate(str.maketrans("ÁÉÍÓÚÜÑ", "AEIOUUX"))


def curp_check_digit(first17: str) -> str:
    total = sum(CURP_ALPHABET.index(c) * (18 - i) for i, c in enumerate(first17))
    return str((10 - total % 10) % 10)


def make_curp(nombre: str, ap1: str, ap2: str, born: date, estado: str, rng: random.Random) -> str:
    a1, a2, n = _plain(ap1), _plain(ap2), _plain(nombre)
    vowel = next((c for c in a1[1:] if c in "AEIOU"), "X")
    consonant = lambda s: next((c for c in s[1:] if c.isalpha() and c not in "AEIOU"), "X")  # noqa: E731
    first17 = (f"{a1[0]}{vowel}{a2[0]}{n[0]}{born:%y%m%d}M{ESTADOS_CURP.get(estado, 'NE')}"
               f"{consonant(a1)}{consonant(a2)}{consonant(n)}{rng.choice('0123456789' if born.year < 2000 else 'ABCDEFGH')}")
    return first17 + curp_check_digit(first17)


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


class _Clock:
    """Branch-local timestamps as the branch stores them (0 or 6 fractional digits)."""

    def __init__(self, rng: random.Random, micro: bool):
        self.rng, self.micro = rng, micro

    def at(self, day: date, h0: int = 8, h1: int = 19) -> str:
        t = datetime(day.year, day.month, day.day, self.rng.randint(h0, h1 - 1), self.rng.randint(0, 59), self.rng.randint(0, 59))
        if self.micro:
            return t.replace(microsecond=self.rng.randint(0, 999_999)).strftime("%Y-%m-%d %H:%M:%S.%f")
        return t.strftime("%Y-%m-%d %H:%M:%S")


def _branch(branch, number: int, scenario: Scenario, rng: random.Random) -> dict[str, list[tuple]]:
    """All rows of one branch, by table, in column order of BRANCH_TABLES."""
    clock = _Clock(rng, micro=number % 23 == 0)
    rows: dict[str, list[tuple]] = {t: [] for t in BRANCH_TABLES}
    day1, last = scenario.start, scenario.end
    stamp = lambda d: clock.at(max(d, day1)) if d <= last else None  # noqa: E731  (migration stamps day 1)
    sizes, left = [], scenario.clients_per_branch
    while left > 0:
        size = min(left, rng.randint(10, 40))
        if left - size < 10 and sizes:
            size = left
        sizes.append(size)
        left -= size
    cliente_id = tx_id = cal_id = 0
    for g, size in enumerate(sizes, start=1):
        new_group = g == len(sizes) and len(sizes) > 1 and rng.random() < 0.5  # formed during the demo days
        desembolso = (day1 + timedelta(days=rng.randint(1, scenario.days - 1))) if new_group else (
            day1 - timedelta(days=rng.randint(3, 180)))
        created = stamp(desembolso)
        rows["grupos"].append((g, f"{rng.choice(GRUPOS)} {g}", branch.id, created, created))
        profile = rng.choices(("puntual", "tarde", "parcial", "moroso"), (75, 12, 7, 6))[0]
        members = []
        for _ in range(size):
            cliente_id += 1
            nombre, ap1, ap2 = rng.choice(NOMBRES), rng.choice(APELLIDOS), rng.choice(APELLIDOS)
            born = date(rng.randint(1965, 2004), rng.randint(1, 12), rng.randint(1, 28))
            curp = make_curp(nombre, ap1, ap2, born, branch.estado, rng)
            rfc = curp[:10] + "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(3))
            tel = f"{rng.choice((55, 961, 962, 951, 999, 222, 229, 993))}{rng.randint(0, 10**10):010d}"[:10]
            rows["clientes"].append((cliente_id, f"{nombre} {ap1} {ap2}", curp, rfc, tel, born.isoformat(), created, created))
            rows["miembros"].append((g, cliente_id, created))
            members.append((cliente_id, Decimal(rng.randrange(3000, 12001, 500))))
        monto = sum(m for _, m in members)
        cuota = (monto * Decimal("1.25") / 16).quantize(CENT, ROUND_DOWN)
        paid_total, last_change, stopped_at = Decimal(0), created, rng.randint(4, 12)
        for k in range(1, 17):
            due = desembolso + timedelta(weeks=k)
            amount = cuota if k < 16 else monto * Decimal("1.25") - cuota * 15
            cal_id += 1
            status, changed = "PENDIENTE", desembolso
            if due <= last:
                late = {"puntual": 0, "tarde": rng.randint(1, 9), "parcial": rng.randint(0, 3), "moroso": 0}[profile]
                missed = profile == "moroso" and k >= stopped_at
                share = (amount / len(members)).quantize(CENT, ROUND_DOWN)
                paid = Decimal(0)
                for m, (cid, _) in enumerate(members):
                    part = share if m else amount - share * (len(members) - 1)
                    if missed or (profile == "parcial" and rng.random() < 0.3):
                        continue
                    when = due + timedelta(days=late if rng.random() < 0.8 else rng.randint(0, 2))
                    if when > last:
                        continue
                    canal = rng.choices([c for c, _ in CANALES], [w for _, w in CANALES])[0]
                    ts = clock.at(when)
                    # Correspondents (OXXO) deliver their file the next morning: updated_at != fecha.
                    upd = stamp(when + timedelta(days=1)) if canal == "CORRESPONSAL_OXXO" else stamp(when)
                    if upd is None:
                        continue
                    tx_id += 1
                    rows["transacciones"].append((tx_id, g, cid, ts, _money(part), canal, upd))
                    paid += part
                    if rng.random() < 0.01:  # a teller's mistake, reversed the same day
                        tx_id += 1
                        rows["transacciones"].append((tx_id, g, cid, ts, _money(-part), canal, upd))
                        paid -= part
                    changed = max(changed, when)
                if paid >= amount:
                    status = "PAGADO"
                elif paid > 0:
                    status = "PARCIAL"
                else:
                    status, changed = "ATRASADO", due + timedelta(days=1)
                paid_total += paid
            upd = stamp(changed) if changed <= last else stamp(desembolso)
            rows["calendario_pagos"].append((cal_id, g, k, _money(amount), due.isoformat(), status, upd))
            last_change = max(last_change, upd or created)
        saldo = monto * Decimal("1.25") - paid_total
        overdue_days = (last - (desembolso + timedelta(weeks=stopped_at))).days
        estatus = "CERRADA" if saldo <= 0 else "CASTIGADA" if profile == "moroso" and overdue_days > 150 else "ACTIVA"
        rows["cuentas"].append((g, g, _money(monto), _money(max(saldo, Decimal(0))), estatus, desembolso.isoformat(), last_change))
    return rows


def _plant_trouble(rows: dict, branch, scenario: Scenario, rng: random.Random, kind: str) -> list[dict]:
    """Malformed rows go into the database; the rest become mutations applied by the demo on a given day."""
    days, muts = scenario.dates, []
    txs = rows["transacciones"]
    if kind == "malformada":
        cal = rows["calendario_pagos"]
        i, j = rng.randrange(len(cal)), rng.randrange(len(cal))
        cal[i] = (*cal[i][:3], None, *cal[i][4:])  # NULL instalment amount
        cal[j] = (*cal[j][:3], "-" + cal[j][3].lstrip("-"), *cal[j][4:]) if j != i else cal[j]
        c = rows["cuentas"][0]
        rows["cuentas"][0] = (*c[:4], "SUSPENDIDA", *c[5:])  # unknown status
    elif kind == "empate" and txs:  # tied seconds at a day boundary
        d = days[2]
        base = txs[-1]
        for n, ts in enumerate((f"{d} 23:59:59", f"{d} 23:59:59", f"{d + timedelta(days=1)} 00:00:00")):
            txs.append((base[0] + 1 + n, base[1], base[2], ts, "150.00", "ASESOR_CAMPO", ts))
    elif kind == "tardia" and txs:  # committed two days late with its true (older) updated_at
        d = days[-4]
        ts = f"{d} 18:30:00"
        row = (txs[-1][0] + 10, txs[-1][1], txs[-1][2], ts, "275.50", "ASESOR_CAMPO", ts)
        muts.append({"dia": str(d + timedelta(days=2)), "sucursal": branch.id, "tipo": "tardia",
                     "sql": "INSERT OR REPLACE INTO transacciones VALUES (?,?,?,?,?,?,?)", "params": list(row),
                     "nota": f"transaccion {row[0]} con updated_at {ts}, confirmada dos dias despues"})
    elif kind == "duplicada" and txs:  # the correspondent re-sends a payment: same row, new updated_at
        row = next(t for t in txs if t[6] and t[6] < str(days[1]))
        ts = f"{days[3]} 07:15:00"
        muts.append({"dia": str(days[3]), "sucursal": branch.id, "tipo": "duplicada",
                     "sql": "UPDATE transacciones SET updated_at = ? WHERE id = ?", "params": [ts, row[0]],
                     "nota": f"transaccion {row[0]} entregada otra vez el {days[3]}"})
    elif kind == "baja" and txs:  # hard delete by the branch application, after the row was extracted
        row = txs[len(txs) // 2]
        muts.append({"dia": str(days[-1]), "sucursal": branch.id, "tipo": "baja",
                     "sql": "DELETE FROM transacciones WHERE id = ?", "params": [row[0]],
                     "nota": f"transaccion {row[0]} borrada en la sucursal"})
    return muts


def _write(path: Path, rows: dict[str, list[tuple]], ddl: str) -> None:
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        # Demo files are rebuilt from the seed if a crash interrupts: no journal, no fsync (30 s budget).
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("BEGIN")
        for statement in ddl.split(";"):  # executescript would commit (and fsync) after each statement
            if statement.strip():
                con.execute(statement)
        for tabla, cols in BRANCH_TABLES.items():
            con.executemany(f"INSERT INTO {tabla} VALUES ({','.join('?' * len(cols))})", rows[tabla])
        con.commit()
    finally:
        con.close()


def generate(scenario: Scenario, settings) -> dict:
    out = settings.home / "sucursales"
    # Pick from the company's registry, not from the demo registry a previous `generate` left in this home.
    home_registry = (out / "sucursales.csv").resolve()
    source = DEFAULT_BRANCH_REGISTRY if settings.branch_registry == home_registry else settings.branch_registry
    registry = load_registry(source)[: scenario.branches]
    out.mkdir(parents=True, exist_ok=True)
    ddl = (REPO_ROOT / "sql" / "branch" / "sqlite.sql").read_text()
    trouble: dict[str, str] = {}
    if scenario.trouble and scenario.days >= 4:
        pick = random.Random(scenario.seed).sample([b.id for b in registry if b.id != scenario.offline_branch],
                                                   min(10, len(registry) - 1))
        kinds = ("malformada", "malformada", "empate", "tardia", "tardia", "duplicada", "duplicada", "baja", "baja", "tardia")
        trouble = dict(zip(pick, kinds))
    counts, mutations = Counter(), []
    for number, branch in enumerate(registry, start=1):
        rng = random.Random(scenario.seed * 10_000 + number)
        rows = _branch(branch, number, scenario, rng)
        if branch.id in trouble:
            mutations += _plant_trouble(rows, branch, scenario, rng, trouble[branch.id])
        _write(out / f"{branch.id}.sqlite", rows, ddl)
        counts.update({t: len(r) for t, r in rows.items()})
    offline = {}
    if scenario.trouble and scenario.days >= 4:
        # The runs for these days (the morning after each) find the link down; the last nights find it back.
        middle = scenario.dates[2:5] if scenario.days >= 5 else scenario.dates[1:2]
        offline = {scenario.offline_branch: [str(d + timedelta(days=1)) for d in middle]}
    # The demo company is these branches: the registry the platform reads for this PODEMOS_HOME (config.py).
    with (out / "sucursales.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([getattr(b, c) for c in COLUMNS] for b in registry)
    (out / OFFLINE_MARKER).write_text(json.dumps({"sucursales": offline}, indent=2, sort_keys=True))
    (out / MUTATIONS).write_text(json.dumps(sorted(mutations, key=lambda m: (m["dia"], m["sucursal"])), indent=2,
                                            ensure_ascii=False))
    return {"branches": len(registry), **dict(counts), "mutaciones": len(mutations), "offline": offline}

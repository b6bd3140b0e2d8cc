"""Field ingestion benchmark: durable accepted events/s over HTTP per lever, against a bare fsync loop
and against the code before this change, all measured in the same run; then the reconnect storm
(500 devices x 200 queued events at once, the real SDK): drain time and p99 acknowledgement latency,
against the default server (uvicorn, one process) and granian with two processes, in the same run.

    .venv/bin/python benchmarks/field_ingest.py [--batches 40] [--repeat 2] [--devices 500] [--backlog 200]

Levers, each a configuration of `podemos ingest serve` in its own process (fresh store and lake):
  before      the commit before the typed contract (orjson, per-field Python checks, one file per batch)
  msgspec     compiled decoding/validation, one landing file + fsync per batch (--no-group-commit)
  +group      group commit: the batches that arrive together share one file and one fsync
  +granian    the compiled (Rust) HTTP server instead of uvicorn
  2 procs     two server processes (`--workers 2`) sharing the store and the landing zone (wrk only)
and two load generators: httpx (Python, signs in the benchmark's process, sharing the 2 cores) and
wrk (compiled, replays pre-signed requests; `apt-get install wrk`, skipped if absent or with --no-wrk).
The floor is the same payloads written by a bare loop through the lake's own durable write (temp
file fsync, rename, directory fsync), measured before and after; the faster is the one compared.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podemos_assets.demo.simulator import device_secret, make_event, make_fleet, run_fleet  # noqa: E402
from podemos_assets.ingesta import protocol as p  # noqa: E402
from podemos_assets.ingesta.auth import write_secrets_file  # noqa: E402
from podemos_assets.ingesta.server import serving_subprocess  # noqa: E402
from podemos_assets.resources.lake import LakeResource  # noqa: E402

BEFORE_REV = "c509839"  # the last commit before the typed contract and group commit


def descendants_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process's descendants (the server and granian's worker)."""
    tick, me = os.sysconf("SC_CLK_TCK"), os.getpid()
    parent, cpu = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parent[pid], cpu[pid] = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid in cpu:
        q = parent.get(pid)
        while q and q != me:
            q = parent.get(q)
        if q == me:
            total += cpu[pid]
    return total


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def floor_rate(folder: Path, payloads: list[list[dict]]) -> float:
    lake = LakeResource(url=folder.as_uri())
    t0 = time.perf_counter()
    for i, evs in enumerate(payloads):
        lake.write_bytes(f"{i}.ndjson", b"\n".join(p.canonical(e) for e in evs) + b"\n")
    return sum(map(len, payloads)) / (time.perf_counter() - t0)


def core_rate(folder: Path, payloads: list[list[dict]], device: str, secret: str) -> float:
    """The same batches through the service core in this process, one thread, no HTTP (`IngestCore.handle`
    on a fresh store and lake): the ceiling of one server process, whatever the HTTP layer costs."""
    from podemos_assets.ingesta.auth import DeviceSecrets
    from podemos_assets.ingesta.service import IngestCore
    from podemos_assets.resources.idempotency import IdempotencyStore

    core = IngestCore(LakeResource(url=(folder / "lake").as_uri()), IdempotencyStore(folder / "idem.sqlite"),
                      DeviceSecrets({device: secret}))
    bodies = encode(payloads, [device])[device]
    signed_bodies = [(headers(secret, device, body), body) for body in bodies]
    t0 = time.perf_counter()
    for h, body in signed_bodies:
        status = core.handle("POST", "/v1/batches", h, body).status
        assert status == 200, status
    return sum(map(len, payloads)) / (time.perf_counter() - t0)


def make_payloads(seed: int, batches: int) -> list[list[dict]]:
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    return [[make_event(rng, rng.choice(["pago", "geolocalizacion", "visita"]),
                        now - timedelta(seconds=10 * ((b + 1) * p.MAX_EVENTS - i) + seed))[0]
             for i in range(p.MAX_EVENTS)] for b in range(batches)]


def encode(payloads, devices) -> dict[str, list[bytes]]:
    """Bodies encoded before the clock starts: a device has its batch ready when it connects."""
    sent_at = datetime.now(UTC).isoformat()
    bodies: dict[str, list[bytes]] = {d: [] for d in devices}
    for i, evs in enumerate(payloads):
        d = devices[i % len(devices)]
        bodies[d].append(p.canonical({"batch_id": str(uuid.uuid4()), "device_id": d, "sent_at": sent_at,
                                      "events": evs}))
    return bodies


def headers(secret: str, device: str, body: bytes) -> dict[str, str]:
    ts = f"{time.time():.3f}"
    return {p.HEADER_DEVICE: device, p.HEADER_TIMESTAMP: ts, "content-type": "application/json",
            p.HEADER_SIGNATURE: p.sign(secret.encode(), device, ts, "POST", "/v1/batches", body)}


def run_httpx(url: str, bodies: dict[str, list[bytes]], secrets: dict[str, str]) -> float:
    async def main() -> float:
        tls = ssl.create_default_context()

        async def client(device: str) -> None:
            async with httpx.AsyncClient(base_url=url, timeout=60, verify=tls) as http:
                for body in bodies[device]:
                    while True:
                        r = await http.post("/v1/batches", content=body, headers=headers(secrets[device], device, body))
                        if r.status_code != 429:
                            break
                        await asyncio.sleep(float(r.headers["retry-after"]))
                    assert r.status_code == 200 and r.json()["counts"]["accepted"] == p.MAX_EVENTS, r.text[:300]

        t = time.perf_counter()
        await asyncio.gather(*(client(d) for d in bodies))
        return time.perf_counter() - t

    return asyncio.run(main())


WRK_SCRIPT = r"""
-- Replays pre-signed requests (one per line: device, timestamp, signature, body), each once; a thread
-- that has sent its share stops. The rate is taken from the server's own received_at of the answers.
local threads, counter = {}, 1
function setup(thread)
  thread:set("id", counter); counter = counter + 1; table.insert(threads, thread)
end
function init(args)
  reqs, n, ok, bad, first, last = {}, 0, 0, 0, nil, nil
  local i = 0
  for line in io.lines(args[1]) do
    if i % tonumber(args[2]) == id - 1 then
      local dev, ts, sig, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)$")
      table.insert(reqs, wrk.format("POST", "/v1/batches", {["x-device-id"] = dev, ["x-timestamp"] = ts,
        ["x-signature"] = sig, ["content-type"] = "application/json"}, body))
    end
    i = i + 1
  end
end
function request()
  -- wrk calls the first thread's request() once before the run, to check what it returns; that call
  -- must not use up a pre-signed batch (it was the "one of 20 never answered")
  if id == 1 and not verified then verified = true; return wrk.format("GET", "/v1/health") end
  n = n + 1
  if n > #reqs then return wrk.format("GET", "/v1/health") end
  return reqs[n]
end
function delay()  -- a connection whose thread has sent its share waits instead of polling /v1/health
  if n >= #reqs then return 1000 end
  return 0
end
function response(status, headers, body)
  local h, m, s = body:match('"received_at":"%d+%-%d+%-%d+T(%d+):(%d+):([%d%.]+)')
  if h then
    local t = tonumber(h) * 3600 + tonumber(m) * 60 + tonumber(s)
    if status == 200 then ok = ok + 1 else bad = bad + 1 end
    if first == nil or t < first then first = t end
    if last == nil or t > last then last = t end
  elseif status ~= 200 then bad = bad + 1 end
  if ok + bad >= #reqs then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local ok_, bad_, first_, last_ = 0, 0, nil, nil
  for _, t in ipairs(threads) do
    ok_ = ok_ + t:get("ok"); bad_ = bad_ + t:get("bad")
    local f, l = t:get("first"), t:get("last")
    if f and (first_ == nil or f < first_) then first_ = f end
    if l and (last_ == nil or l > last_) then last_ = l end
  end
  io.write(string.format("WRK ok=%d bad=%d span=%.6f\n", ok_, bad_, (last_ or 0) - (first_ or 0)))
end
"""


def run_wrk(url: str, bodies: dict[str, list[bytes]], secrets: dict[str, str], work: Path) -> float:
    """Seconds for the pre-signed batches as the server's receipt clock saw them (first to last receipt,
    scaled by n/(n-1) for the interval the last batch's own service adds)."""
    lines = []
    order = [(d, b) for i in range(max(map(len, bodies.values()))) for d, bs in bodies.items() if i < len(bs)
             for b in [bs[i]]]
    for d, body in order:
        h = headers(secrets[d], d, body)
        lines.append(f"{d}\t{h[p.HEADER_TIMESTAMP]}\t{h[p.HEADER_SIGNATURE]}\t{body.decode()}")
    (work / "wrk.lua").write_text(WRK_SCRIPT)
    (work / "reqs.tsv").write_text("\n".join(lines) + "\n")
    conns = len(bodies)
    proc = subprocess.run(["wrk", "-t2", f"-c{conns}", "-d30s", "--timeout", "30s", "-s", str(work / "wrk.lua"), url,
                          "--", str(work / "reqs.tsv"), "2"], capture_output=True, text=True, timeout=120)
    out = proc.stdout
    m = re.search(r"WRK ok=(\d+) bad=(\d+) span=([\d.]+)", out)
    ok, bad, span = int(m[1]), int(m[2]), float(m[3])
    assert bad == 0 and ok == len(order), f"{url}: {ok} of {len(order)} acknowledged\n" + out + proc.stderr[-2000:]
    return span * len(order) / (len(order) - 1)


def before_checkout(work: Path, rev: str) -> str | None:
    folder = work / "before"
    folder.mkdir()
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "podemos_assets"], capture_output=True,
                                 check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return str(folder)


def measure(work: Path, name: str, payload_sets, devices, secrets, args=(), pythonpath=None,
            generator="httpx") -> list[dict]:
    home = work / f"home-{name.replace(' ', '_').replace('+', 'p')}"
    env = {"PODEMOS_HOME": str(home), "PODEMOS_DEVICE_SECRETS_FILE": str(work / "s.json")}
    runs = []
    # the tree before the move to podemos_assets/ingesta served from podemos_assets.campo.cli
    module = ("podemos_assets.ingesta.cli" if pythonpath is None or Path(pythonpath, "podemos_assets/ingesta/cli.py").exists()
              else "podemos_assets.campo.cli")
    with serving_subprocess(env, args=list(args), pythonpath=pythonpath, module=module) as url:
        for payloads in payload_sets:  # the same server, fresh event ids per repetition
            bodies = encode(payloads, devices)
            server0, client0 = descendants_cpu_seconds(), own_cpu_seconds()
            seconds = (run_wrk(url, bodies, secrets, work) if generator == "wrk"
                       else run_httpx(url, bodies, secrets))
            n = len(payloads)
            runs.append({"rate": n * p.MAX_EVENTS / seconds, "ms": 1e3 * seconds / n,
                         "server_ms": 1e3 * (descendants_cpu_seconds() - server0) / n,
                         "client_ms": 1e3 * (own_cpu_seconds() - client0) / n})
    shutil.rmtree(home, ignore_errors=True)
    return runs


def spread(values, fmt="{:,.0f}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if len(values) == 1 or fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}-{fmt.format(hi)}"


def throughput(work: Path, batches: int, clients: int, repeat: int, before_rev: str, use_wrk: bool = False) -> None:
    devices = [f"bench-{i}" for i in range(clients)]
    secrets = {d: device_secret(0, d) for d in devices}
    write_secrets_file(work / "s.json", secrets)
    payload_sets = [make_payloads(seed, batches) for seed in range(repeat)]
    floors = [floor_rate(work / f"floor-a{i}", s) for i, s in enumerate(payload_sets)]

    before = before_checkout(work, before_rev)
    configs = [("before", [], before, "httpx"), ("msgspec", ["--no-group-commit"], None, "httpx"),
               ("msgspec+group", [], None, "httpx"), ("msgspec+group+granian", ["--server", "granian"], None, "httpx")]
    if use_wrk and shutil.which("wrk"):
        configs += [("before", [], before, "wrk"), ("msgspec+group", [], None, "wrk"),
                    ("msgspec+group+granian", ["--server", "granian"], None, "wrk"),
                    ("msgspec+group, 2 procs", ["--workers", "2"], None, "wrk"),
                    ("msgspec+group+granian, 2 procs", ["--server", "granian", "--workers", "2"], None, "wrk")]
    else:
        print("wrk not used (apt-get install wrk; --no-wrk skips it)")
    results = []
    for name, args, pythonpath, generator in configs:
        if name == "before" and pythonpath is None:
            print(f"before: {before_rev} not found in this checkout: skipped")
            continue
        results.append((name, generator, measure(work, name, payload_sets, devices, secrets, args, pythonpath,
                                                 generator)))
    floors += [floor_rate(work / f"floor-b{i}", s) for i, s in enumerate(payload_sets)]
    floor = max(floors)
    cores = [core_rate(work / f"core-{i}", s, devices[0], secrets[devices[0]]) for i, s in enumerate(payload_sets)]
    print(f"floor (bare loop, same payloads, same fsync policy): {spread(floors)} events/s "
          f"({1e3 * p.MAX_EVENTS / floor:.1f} ms per batch at best); ratios below are against the best, {floor:,.0f}")
    print(f"the service core alone (in process, one thread, no HTTP): {spread(cores)} events/s "
          f"({1e3 * p.MAX_EVENTS / max(cores):.1f} ms per batch at best), ratio {spread([c / floor for c in cores], '{:.2f}')}"
          ": one server process cannot beat it")
    print(f"{'configuration':<32} {'load':<6} {'events/s':>17} {'ms/batch':>11} {'server CPU':>12} "
          f"{'client CPU':>11} {'ratio':>10}")
    for name, generator, runs in results:
        rates = [r["rate"] for r in runs]
        print(f"{name:<32} {generator:<6} {spread(rates):>17} {spread([r['ms'] for r in runs], '{:.1f}'):>11} "
              f"{spread([r['server_ms'] for r in runs], '{:.1f}'):>9} ms "
              f"{spread([r['client_ms'] for r in runs], '{:.1f}'):>8} ms "
              f"{spread([x / floor for x in rates], '{:.2f}'):>10}")
    best = max(max(r["rate"] for r in runs) for _, _, runs in results)
    print(f"best ratio: {best / floor:.2f} (goal >= 0.5: {'met' if best / floor >= 0.5 else 'NOT met'})")


# The storm against each server configuration, in the same run (name, `podemos ingest serve` flags).
STORM_SERVERS = [("uvicorn, 1 proc", []), ("granian, 2 procs", ["--server", "granian", "--workers", "2"])]


def photo_floor(work: Path, n: int, backlog: int, threads: int = 8) -> None:
    """The storm's photos written by a bare loop through the lake's durable exclusive create, from as many
    threads as the two server processes run (4 each): the seconds the disk alone needs, whatever the
    server. Twice: one create per photo (temp file, fsync, link, directory fsync), as a PUT stores one, and
    each device's photos in one `create_many` (one directory fsync for them), as POST /v1/fotos stores them."""
    from concurrent.futures import ThreadPoolExecutor

    devices, _ = make_fleet(work / "fleet", n, backlog, seed=3)
    per_device = [[(p.photo_key(sha), bytes(data)) for sha, data in d.outbox.pending_photos()] for d in devices]
    photos = [item for items in per_device for item in items]
    for how, lake_dir, jobs, write in (
            ("one create per photo", "lake", photos, lambda lake, item: int(lake.create_bytes(*item))),
            ("each device's photos together", "lake_many", per_device, lambda lake, items: sum(lake.create_many(items)))):
        lake = LakeResource(url=(work / lake_dir).as_uri())
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            created = sum(pool.map(functools.partial(write, lake), jobs))
        seconds = time.perf_counter() - t0
        print(f"storm floor ({how}): the storm's {created:,} photos as durable creates by a bare loop ({threads} "
              f"threads) take {seconds:.1f} s ({created / seconds:,.0f}/s)", flush=True)


def storm(work: Path, n: int, backlog: int, use_wrk: bool) -> None:
    photo_floor(work / "floor", n, backlog)
    for name, flags in STORM_SERVERS:
        folder = work / name.replace(", ", "_").replace(" ", "_")
        storm_once(folder / "sdk", name, flags, n, backlog)
        if use_wrk and shutil.which("wrk"):
            # the baseline in the same run: each photo in its own request, as the SDK sent them before
            storm_wrk(folder / "wrk_put", name, flags, n, backlog, photos_together=False)
            storm_wrk(folder / "wrk", name, flags, n, backlog)


STORM_WRK_SCRIPT = r"""
-- The storm's requests, pre-signed (method, path, device, timestamp, signature, hex body per line), each sent
-- once over as many connections as devices. Each thread prints READY when its share is loaded and DONE when
-- its share is answered: the benchmark times the drain from those lines (wrk's own duration runs to -d).
local threads, counter = {}, 1
function setup(thread)
  thread:set("id", counter); counter = counter + 1; table.insert(threads, thread)
end
local function unhex(h) return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end)) end
function init(args)
  reqs, n, ok, bad = {}, 0, 0, 0
  local i = 0
  for line in io.lines(args[1]) do
    if i % tonumber(args[2]) == id - 1 then
      local method, path, dev, ts, sig, body = line:match("^(%S+)	(%S+)	(%S+)	(%S+)	(%S+)	(%x*)$")
      table.insert(reqs, wrk.format(method, path, {["x-device-id"] = dev, ["x-timestamp"] = ts,
        ["x-signature"] = sig, ["content-type"] = "application/json"}, unhex(body)))
    end
    i = i + 1
  end
  io.write("READY\n"); io.flush()
end
function request()
  if id == 1 and not verified then verified = true; return wrk.format("GET", "/v1/health") end
  n = n + 1
  if n > #reqs then return wrk.format("GET", "/v1/health") end
  return reqs[n]
end
function delay()  -- a connection whose thread has sent its share stays quiet (no /v1/health in the latencies)
  if n >= #reqs then return 60000 end
  return 0
end
function response(status, headers, body)
  if (status == 200 or status == 201) and (body:find('"received_at"', 1, true) or body:find('"object_key"', 1, true)) then
    ok = ok + 1
  elseif status ~= 200 then
    bad = bad + 1
    if bad <= 3 then io.write(string.format("REFUSED %d %s\n", status, body:sub(1, 300))); io.flush() end
  end
  if ok + bad >= #reqs and not finished then finished = true; io.write("DONE\n"); io.flush() end
end
function done(summary, latency, requests)
  local ok_, bad_ = 0, 0
  for _, t in ipairs(threads) do ok_ = ok_ + t:get("ok"); bad_ = bad_ + t:get("bad") end
  io.write(string.format("WRK ok=%d bad=%d p50=%.6f p99=%.6f\n", ok_, bad_,
    latency:percentile(50) / 1e6, latency:percentile(99) / 1e6))
end
"""


def storm_wrk(work: Path, name: str, flags: list[str], n: int, backlog: int, photos_together: bool = True) -> None:
    """The same storm with the phones' requests pre-signed (by the SDK's own signing and batch encoding)
    and replayed by wrk, so that the simulated phones' Python stops sharing the server's 2 cores.
    `photos_together=False`: each photo in its own PUT /v1/fotos/{sha256}, as the SDK sent them before
    POST /v1/fotos (both are production routes: a photo too large to go with others still goes alone)."""
    from podemos_assets.ingesta.sdk import DeviceClient

    devices, secrets = make_fleet(work / "fleet", n, backlog, seed=3)
    per_device = []
    for d in devices:
        client = DeviceClient(d.device_id, d.secret, d.outbox, None, asesor=d.asesor, sucursal=d.sucursal,
                              region=d.region, skew_s=d.skew_s)
        if photos_together:
            reqs = [(method, path, body) for method, path, body, _ in client.photo_requests()]
        else:
            reqs = [("PUT", f"/v1/fotos/{sha}", bytes(data)) for sha, data in d.outbox.pending_photos()]
        events = d.outbox.pending(backlog)
        reqs += [("POST", "/v1/batches", client._batch_body(events[i:i + client.batch_size]))
                 for i in range(0, len(events), client.batch_size)]
        per_device.append((client, reqs))
    lines = []
    for i in range(max(len(r) for _, r in per_device)):  # round-robin over devices, as they reconnect
        for client, reqs in per_device:
            if i < len(reqs):
                method, path, body = reqs[i]
                h = client._headers(method, path, body)
                lines.append(f"{method}\t{path}\t{client.device_id}\t{h[p.HEADER_TIMESTAMP]}\t"
                             f"{h[p.HEADER_SIGNATURE]}\t{body.hex()}")
    (work / "storm.lua").write_text(STORM_WRK_SCRIPT)
    (work / "reqs.tsv").write_text("\n".join(lines) + "\n")
    env = {"PODEMOS_HOME": str(work / "storm_home"),
           "PODEMOS_DEVICE_SECRETS_FILE": str(write_secrets_file(work / "s2.json", secrets))}
    with serving_subprocess(env, args=flags) as url:
        server0 = descendants_cpu_seconds()
        children0 = os.times().children_user + os.times().children_system
        # wrk runs to -d whatever its threads do; each thread prints DONE once its share is answered, and
        # SIGINT then makes wrk print its summary (latencies) and exit
        proc = subprocess.Popen(["wrk", "-t2", f"-c{n}", "-d120s", "--timeout", "30s", "-s", str(work / "storm.lua"),
                                 url, "--", str(work / "reqs.tsv"), "2"], stdout=subprocess.PIPE, text=True)
        marks: dict[str, list[float]] = {"READY": [], "DONE": []}
        out = []
        for line in proc.stdout:
            out.append(line)
            if line.strip() in marks:
                marks[line.strip()].append(time.perf_counter())
                if len(marks["DONE"]) == 2:
                    proc.send_signal(signal.SIGINT)
        proc.wait()
        server_cpu = descendants_cpu_seconds() - server0
        wrk_cpu = os.times().children_user + os.times().children_system - children0
    m = re.search(r"WRK ok=(\d+) bad=(\d+) p50=([\d.]+) p99=([\d.]+)", "".join(out))
    assert m and len(marks["DONE"]) == 2, "".join(out)
    ok, bad, p50, p99 = int(m[1]), int(m[2]), float(m[3]), float(m[4])
    seconds = max(marks["DONE"]) - max(marks["READY"])
    for line in out:
        if line.startswith("REFUSED"):
            print(f"  {line.strip()}")
    events = sum(len(d.outbox.events()) for d in devices)
    how = "photos together" if photos_together else "one photo per request"
    print(f"storm ({name}, wrk replay of the SDK's {len(lines):,} requests, {how}): {ok:,} acknowledged, {bad} refused, in "
          f"{seconds:.1f} s ({events / seconds:,.0f} events/s; goal <= 10 s: {'met' if seconds <= 10 else 'NOT met'}); "
          f"latency p50 {p50:.2f} s, p99 {p99:.2f} s (goal < 2 s: {'met' if p99 < 2 else 'NOT met'}); "
          f"CPU: server {server_cpu:.1f} s, wrk {wrk_cpu:.1f} s", flush=True)


def storm_once(work: Path, name: str, flags: list[str], n: int, backlog: int) -> None:
    t = time.perf_counter()
    devices, secrets = make_fleet(work / "fleet", n, backlog, seed=3)
    queued = sum(len(d.outbox.events()) for d in devices)
    print(f"storm ({name}): {n} devices x {backlog} queued events ({queued}) prepared in "
          f"{time.perf_counter() - t:.0f} s")
    env = {"PODEMOS_HOME": str(work / "storm_home"),
           "PODEMOS_DEVICE_SECRETS_FILE": str(write_secrets_file(work / "s2.json", secrets))}
    with serving_subprocess(env, args=flags) as url:
        server0, client0 = descendants_cpu_seconds(), own_cpu_seconds()
        report = asyncio.run(run_fleet(url, devices, seed=3, batch_size=50))
        server_cpu, client_cpu = descendants_cpu_seconds() - server0, own_cpu_seconds() - client0
    drained = sum(d.outbox.counts() == {"enviado": backlog} for d in devices)
    p99 = report.percentile(0.99)
    print(f"storm ({name}): drained {drained}/{n} devices in {report.seconds:.1f} s "
          f"({queued / report.seconds:,.0f} events/s; goal <= 10 s: {'met' if report.seconds <= 10 else 'NOT met'}); "
          f"ack latency p50 {report.percentile(0.5):.2f} s, p99 {p99:.2f} s (goal < 2 s: "
          f"{'met' if p99 < 2 else 'NOT met'}); 429s {sum(r.throttled for r in report.reports.values())}, "
          f"errors {len(report.errors)}; CPU: server {server_cpu:.1f} s, simulated phones {client_cpu:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--backlog", type=int, default=200)
    ap.add_argument("--batches", type=int, default=40, help="500-event batches per throughput run")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2, help="runs per configuration (figures are ranges)")
    ap.add_argument("--before-rev", default=BEFORE_REV)
    ap.add_argument("--skip-storm", action="store_true")
    ap.add_argument("--no-wrk", dest="wrk", action="store_false", help="only the httpx load generator")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="field_ingest_") as tmp:
        work = Path(tmp)
        if not args.skip_throughput:
            throughput(work, args.batches, args.clients, args.repeat, args.before_rev, args.wrk)
        if not args.skip_storm:
            storm(work, args.devices, args.backlog, args.wrk)


if __name__ == "__main__":
    main()

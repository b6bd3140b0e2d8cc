"""`podemos backfill` user errors: one clear line, exit code 2, decided before the definitions load."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from podemos_assets.config import REPO_ROOT, load_settings
from podemos_assets.sucursales import cli

PODEMOS = str(Path(sys.executable).parent / "podemos")
GO_LIVE = cli._go_live(load_settings())
EVE = (GO_LIVE - timedelta(days=1)).isoformat()


def _podemos(*argv: str) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    done = subprocess.run([PODEMOS, "backfill", *argv], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    return done, time.perf_counter() - t0


ERRORS = {
    "before go-live": (["--sucursal", "suc_007", "--desde", EVE, "--hasta", GO_LIVE.isoformat()],
                       f"--desde {EVE} is before go-live {GO_LIVE}"),
    "unknown branch": (["--sucursal", "suc_007", "suc_999", "--desde", "2026-11-01", "--hasta", "2026-11-02"],
                       "unknown branch id(s) suc_999"),
    "not a date": (["--sucursal", "suc_007", "--desde", "2026-11-31", "--hasta", "2026-12-01"],
                   "--desde '2026-11-31' is not a date"),
    "hasta before desde": (["--sucursal", "suc_007", "--desde", "2026-11-05", "--hasta", "2026-11-04"],
                           "--hasta 2026-11-04 is before --desde 2026-11-05"),
    "future": (["--sucursal", "suc_007", "--desde", "2026-11-05", "--hasta", "2099-01-01"],
               "--hasta 2099-01-01 has not ended in every branch zone yet"),
}


@pytest.fixture(scope="module")
def definitions_load_seconds() -> float:
    """The baseline from the same run: a process that loads the definitions and does nothing else."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import podemos_assets.definitions"], check=True, cwd=REPO_ROOT,
                   capture_output=True, timeout=300)
    return time.perf_counter() - t0


@pytest.mark.parametrize("case", ERRORS)
def test_user_error_is_one_line_and_exit_2_before_the_definitions(case, definitions_load_seconds):
    argv, expected = ERRORS[case]
    done, seconds = _podemos(*argv)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("podemos backfill: ") and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    # The figure against a same-run baseline, printed (speed is a benchmark's business, not a test's); what
    # makes it fast is asserted without a clock below: neither the definitions nor Dagster are imported on
    # this path.
    print(f"{case}: {seconds:.1f} s vs definitions load {definitions_load_seconds:.1f} s")


PROBE = """
import sys
from podemos_assets.cli import main
rc = main(["backfill", "--sucursal", "suc_999", "--desde", "2026-11-01", "--hasta", "2026-11-01"])
print(rc, "podemos_assets.definitions" in sys.modules, "dagster" in sys.modules)
"""


def _probe() -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    return done.stdout.split()


def test_validation_never_loads_the_definitions():
    assert _probe()[:2] == ["2", "False"]


def test_validation_never_imports_dagster():
    """`sucursales/__init__.py` builds the capability's Definitions only when `defs` is read."""
    assert _probe() == ["2", "False", "False"]


def test_partition_zone_is_the_partitions_one():
    from podemos_assets.sucursales.partitions import PARTITION_TZ

    assert cli.PARTITION_TZ == PARTITION_TZ


def _args(desde: str, hasta: str, *suc: str) -> argparse.Namespace:
    return argparse.Namespace(sucursal=list(suc or ["suc_007"]), desde=desde, hasta=hasta, verbose=False)


def test_latest_day_is_the_one_that_ended_in_cancun():
    cancun = ZoneInfo(cli.PARTITION_TZ)
    settings = load_settings()
    just_before = datetime(2026, 12, 2, 23, 59, 59, tzinfo=cancun)
    just_after = datetime(2026, 12, 3, 0, 0, 1, tzinfo=cancun)
    with pytest.raises(cli.UsageError, match="latest day that can be extracted is 2026-12-01"):
        cli.validate(_args("2026-12-02", "2026-12-02"), settings, now=just_before)
    assert cli.validate(_args("2026-12-02", "2026-12-02"), settings, now=just_after).days == 1
    # Mexico City is an hour behind Cancun: at 23:30 there the day has ended in Cancun already.
    mx = datetime(2026, 12, 2, 23, 30, tzinfo=ZoneInfo("America/Mexico_City"))
    assert cli.validate(_args("2026-12-02", "2026-12-02"), settings, now=mx).hasta.isoformat() == "2026-12-02"


def test_go_live_day_itself_is_accepted_and_branches_deduplicated():
    settings = load_settings()
    plan = cli.validate(_args(GO_LIVE.isoformat(), (GO_LIVE + timedelta(days=2)).isoformat(),
                              "suc_007", "suc_013", "suc_007"), settings,
                        now=datetime.combine(GO_LIVE + timedelta(days=30), datetime.min.time(),
                                             ZoneInfo(cli.PARTITION_TZ)))
    assert (plan.days, plan.sucursales) == (3, ("suc_007", "suc_013"))


def test_go_live_is_the_setting():
    env = {**os.environ, "PODEMOS_GO_LIVE": "2026-11-10"}
    done = subprocess.run([PODEMOS, "backfill", "--sucursal", "suc_007", "--desde", "2026-11-09", "--hasta",
                           "2026-11-12"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, env=env)
    assert done.returncode == 2 and "--desde 2026-11-09 is before go-live 2026-11-10 (PODEMOS_GO_LIVE)" in done.stderr

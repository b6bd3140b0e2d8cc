"""The tiny demo (3 branches, 10 clients each, 2 days) run once per test session, as a newcomer runs it:
`podemos instance-setup`, `podemos generate`, `podemos demo` as subprocesses on a private PODEMOS_HOME."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from podemos_assets.config import REPO_ROOT
from podemos_assets.demo.scenario import default_start

# Pinned start: the default ("DAYS days before today in Mexico City") could move between two runs.
TINY_START = default_start(2).isoformat()
TINY_GENERATE = ["--start", TINY_START, "--days", "2", "--branches", "3", "--clients-per-branch", "10"]
PODEMOS = Path(sys.executable).with_name("podemos")
# Files the demo run (not the generator) owns: Dagster's instance and the embedded warehouse.
NOT_DEMO_DATA = ("dagster_home",)
WAREHOUSE_SUFFIXES = (".duckdb", ".duckdb.wal")


@dataclass(frozen=True)
class TinyDemo:
    home: Path
    dagster_home: Path
    env: dict[str, str]
    generated: dict[str, str]  # relative path -> sha256 of every file `podemos generate` wrote
    demo_output: str
    demo_error: str | None  # why `podemos demo` failed, if it did

    def require_demo(self) -> None:
        """Fail the calling test (not only the first one) when the shared demo run failed."""
        if self.demo_error:
            raise AssertionError(self.demo_error)


def isolated_env(home: Path) -> dict[str, str]:
    """The caller's environment minus every PODEMOS_* setting (so nothing points at a real lake or
    warehouse), with PODEMOS_HOME and DAGSTER_HOME under `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODEMOS_", "DAGSTER_"))}
    env.update(PODEMOS_HOME=str(home), DAGSTER_HOME=str(home / "dagster_home"))
    env.setdefault("PYTHONWARNINGS", "ignore::UserWarning:dagster")
    return env


def podemos(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run the venv's `podemos` console script; fail with its output if it does not exit 0."""
    if not PODEMOS.exists():
        raise AssertionError(f"{PODEMOS} not found: install the package (make install) so the console script exists")
    proc = subprocess.run(
        [str(PODEMOS), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"`podemos {' '.join(args)}` exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-6000:]}"
    )
    return proc.stdout


def demo_data_hashes(home: Path) -> dict[str, str]:
    """sha256 of every demo-data file under `home` (branch databases, field batches, source files…),
    leaving out Dagster's instance and the warehouse, which runs rewrite by design."""
    hashes = {}
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home)
        if not path.is_file() or rel.parts[0] in NOT_DEMO_DATA or path.name.endswith(WAREHOUSE_SUFFIXES):
            continue
        hashes[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


_session: dict[str, TinyDemo | BaseException] = {}


def tiny_demo_once(tmp_path_factory) -> TinyDemo:
    """Run the tiny demo the first time it is asked for in this test session, in whichever pytest-xdist
    worker asks first; the other workers wait for it and share it (its home is only read, or copied by the
    test that changes it), as do later callers, failure included (a failed setup is not re-run per test).
    Each worker building its own cost ~150 s of the suite whenever the tests landed on both workers.
    (pytest-xdist's `loadgroup` would keep them on one worker, but 3.8 sets a node id attribute that
    pytest 9 no longer reads, so it groups nothing.)"""
    if "demo" not in _session:
        _session["demo"] = _shared_tiny_demo(tmp_path_factory)
    result = _session["demo"]
    if isinstance(result, BaseException):
        raise AssertionError(f"the tiny demo's setup failed earlier in this session: {result}")
    return result


def _shared_tiny_demo(tmp_path_factory) -> TinyDemo | BaseException:
    # The session's temporary root, shared by its xdist workers (each has its own basetemp under it).
    root = tmp_path_factory.getbasetemp()
    root = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    record = root / "tiny_demo.json"
    with open(root / "tiny_demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this worker dies
        if not record.exists():
            try:
                demo = _run_tiny_demo(root / "tiny_demo" / "podemos")
                record.write_text(json.dumps({**asdict(demo), "home": str(demo.home), "dagster_home": str(demo.dagster_home)}))
            except BaseException as exc:
                record.write_text(json.dumps({"setup_error": f"{type(exc).__name__}: {exc}"}))
                return exc
        saved = json.loads(record.read_text())
    if "setup_error" in saved:
        return AssertionError(saved["setup_error"])
    return TinyDemo(**{**saved, "home": Path(saved["home"]), "dagster_home": Path(saved["dagster_home"])})


def _run_tiny_demo(home: Path) -> TinyDemo:
    env = isolated_env(home)
    podemos(env, "instance-setup", timeout=120)
    podemos(env, "generate", *TINY_GENERATE, timeout=300)
    generated = demo_data_hashes(home)
    output, error = "", None
    try:
        output = podemos(env, "demo", timeout=600)
    except AssertionError as exc:
        error = str(exc)
    return TinyDemo(home, home / "dagster_home", env, generated, output, error)

"""Start-up costs (issue 15 point 1): definitions load, `podemos --help`, and a UI-launched run's start.

Each figure is measured three times in the same run and printed with its goal:
  - "before": a baseline commit (the one before the fast-load work, checked out with `git worktree` into a
    temporary directory and imported through PYTHONPATH with the same venv);
    run with no bytecode (PYTHONPYCACHEPREFIX points at an empty directory and PYTHONDONTWRITEBYTECODE=1,
    so each import compiles from source: what uv's install left on machines that set PYTHONDONTWRITEBYTECODE);
  - "dbt-in-process": the commit before dbt moved to its own venv (ad0864c), with bytecode;
  - "after": this checkout as `make install` leaves it (dbt-core only in .venv-dbt).
  The two older commits import dbt-core in process: they run with .venv-dbt's site-packages on PYTHONPATH
  and its bin on PATH, which is what the Dagster venv held before (same versions, constraints.txt).
  - definitions load: `import podemos_assets.definitions` in a fresh interpreter, median of 3 (goal <= 3 s);
    also once as `dagster dev` loads it (DAGSTER_IS_DEV_CLI=1), where the baseline ran `dbt parse`;
  - `podemos --help`, median of 3 (goal <= 1 s);
  - with --ui: a webserver and a daemon on loopback over an empty instance, one partition of a light
    asset launched through GraphQL as the UI does three times, median seconds from launch to STARTED
    (goal <= 10 s).
Run: .venv/bin/python benchmarks/startup.py [--baseline COMMIT] [--ui]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASELINE = "c067f44"  # the commit before the fast-load change (e8cab5e, issue 15 point 1)
DBT_IN_PROCESS = "ad0864c"  # the last commit whose Dagster venv held dbt-core
GOALS = {"load": 3.0, "help": 1.0, "ui_start": 10.0}
LOAD = "import podemos_assets, podemos_assets.definitions; print(podemos_assets.__file__)"


def timed(argv: list[str], env: dict[str, str], cwd: Path, expect: str | None = None) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed in {cwd}:\n{done.stderr[-3000:]}")
    if expect is not None and not done.stdout.strip().startswith(expect):
        raise SystemExit(f"imported {done.stdout.strip()!r}, expected a module under {expect}")
    return elapsed


def tree_env(tree: Path, home: Path, **given: str) -> dict[str, str]:
    extra = dict(given)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DAGSTER_HOME", "PODEMOS_HOME", "DAGSTER_IS_DEV_CLI", "PYTHONPYCACHEPREFIX")}
    # PYTHONPATH comes before the editable install's finder: `podemos_assets` resolves in `tree`.
    tail = extra.pop("PYTHONPATH_TAIL", None)
    env.update(PYTHONPATH=f"{tree}:{tail}" if tail else str(tree), PODEMOS_HOME=str(home),
               DAGSTER_HOME=str(home / "dagster_home"), PYTHONWARNINGS="ignore", **extra)
    return env


def no_bytecode(scratch: Path) -> dict[str, str]:
    """Every import compiles from source: .pyc are looked for (and never written) in an empty directory."""
    (scratch / "empty-pycache").mkdir(exist_ok=True)
    return {"PYTHONPYCACHEPREFIX": str(scratch / "empty-pycache"), "PYTHONDONTWRITEBYTECODE": "1"}


def dbt_in_process(extra: dict[str, str] | None = None) -> dict[str, str]:
    """What the Dagster venv held before dbt had its own: dbt-core importable and `dbt` on PATH."""
    dbt_venv = REPO / ".venv-dbt"
    site = next(dbt_venv.glob("lib/python*/site-packages"))
    return {"PYTHONPATH_TAIL": str(site), "PATH": f"{dbt_venv / 'bin'}:{os.environ['PATH']}", **(extra or {})}


def bytecode_share(site_packages: Path) -> float:
    """Share of the venv's installed modules that have their .pyc (1.0 after `make install`)."""
    sources = list(site_packages.glob("dagster/**/*.py"))
    compiled = {p.name.split(".")[0] for p in site_packages.glob("dagster/**/__pycache__/*.pyc")}
    return sum(p.stem in compiled for p in sources) / max(len(sources), 1)


def measure(configs: dict[str, tuple[Path, dict[str, str]]], scratch: Path, runs: int) -> dict[str, dict[str, float]]:
    """Samples alternate between the configurations, so a neighbour's load on the shared cores hits all alike."""
    envs = {label: tree_env(tree, scratch / f"home-{label}", **extra) for label, (tree, extra) in configs.items()}
    load = [sys.executable, "-c", LOAD]
    helps = [sys.executable, str(BIN / "podemos"), "--help"]
    for label, (tree, _) in configs.items():  # warm-up: our bytecode, and the baseline's first `dbt parse`
        timed(load, envs[label], tree, expect=str(tree / "podemos_assets"))
    samples: dict[str, dict[str, list[float]]] = {label: {"load": [], "help": []} for label in configs}
    for _ in range(runs):
        for label, (tree, _) in configs.items():
            samples[label]["load"].append(timed(load, envs[label], tree, expect=str(tree / "podemos_assets")))
            samples[label]["help"].append(timed(helps, envs[label], tree))
    figures = {label: {k: statistics.median(v) for k, v in s.items()} for label, s in samples.items()}
    for label, (tree, extra) in configs.items():  # as each process `dagster dev` starts loads it
        dev_env = tree_env(tree, scratch / f"home-{label}", DAGSTER_IS_DEV_CLI="1", **extra)
        figures[label]["dev_load"] = timed(load, dev_env, tree, expect=str(tree / "podemos_assets"))
    return figures


# --- the UI-launched run -------------------------------------------------------------------------------
LAUNCH = """mutation($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }"""
STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""
# One day of one regulatory source: what "Materialize" on one partition sends. Only the start is timed
# (the empty instance has no source file, so the run itself may fail afterwards).
UI_ASSET, UI_PARTITION = ["regulatorio", "catalogos_cnbv"], "2026-11-05"


def ui_start(tree: Path, home: Path, extra: dict[str, str], launches: int = 3, timeout: float = 300) -> float:
    """Seconds from a GraphQL launch (what the UI's Materialize button sends) to the run's STARTED, median
    of `launches` launched one after another (each waits for the previous run to end, untimed): the queue
    is polled on an interval, so a single launch lands anywhere in it."""
    import httpx

    sys.path.insert(0, str(REPO))
    from podemos_assets_tests.ui.webserver import dagster_webserver, stop_group

    env = tree_env(tree, home, PODEMOS_AUTOMATION="pausada", **extra)  # no sensor launches anything but our run
    subprocess.run([sys.executable, str(BIN / "podemos"), "instance-setup"], env=env, cwd=tree, check=True,
                   capture_output=True)
    daemon_log = (home / "daemon.log").open("w")
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=tree, env=env,
                              stdout=daemon_log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with dagster_webserver(env, home / "webserver.log", timeout=timeout, cwd=tree) as url:
            gql = lambda query, **variables: httpx.post(  # noqa: E731
                f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30).json()["data"]
            params = {"selector": {"repositoryLocationName": "podemos_assets.definitions",
                                   "repositoryName": "__repository__", "jobName": "__ASSET_JOB",
                                   "assetSelection": [{"path": UI_ASSET}]},
                      "mode": "default",
                      "executionMetadata": {"tags": [{"key": "dagster/partition", "value": UI_PARTITION}]}}
            samples = []
            for _ in range(launches):
                t0 = time.perf_counter()
                answer = gql(LAUNCH, params=params)["launchPipelineExecution"]
                if answer["__typename"] != "LaunchRunSuccess":
                    raise SystemExit(f"launch refused: {answer}")
                run_id, started = answer["run"]["runId"], None
                while time.perf_counter() - t0 < timeout:
                    status = gql(STATUS, id=run_id)["runOrError"]["status"]
                    if started is None and status not in ("QUEUED", "NOT_STARTED", "STARTING"):
                        if status not in ("STARTED", "SUCCESS", "FAILURE"):
                            raise SystemExit(f"run {run_id} went {status} before starting")
                        started = time.perf_counter() - t0
                    if status in ("SUCCESS", "FAILURE", "CANCELED"):
                        break
                    time.sleep(0.2)
                if started is None:
                    raise SystemExit(f"run {run_id} not started after {timeout:.0f} s")
                samples.append(started)
            print(f"  {tree.name}: UI-launched runs, launch to STARTED: "
                  + ", ".join(f"{x:.2f}" for x in samples) + " s", flush=True)
            return statistics.median(samples)
    finally:
        stop_group(daemon)
        daemon_log.close()


def verdict(name: str, before: float, after: float) -> str:
    goal = GOALS[name]
    met = "met" if after <= goal else "MISSED"
    return f"before {before:6.2f} s, after {after:6.2f} s, goal <= {goal:g} s: {met} (x{before / after:.1f} faster)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"commit to compare with (default {BASELINE})")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ui", action="store_true", help="also time a UI-launched run's start (~4 min more)")
    args = parser.parse_args()
    share = bytecode_share(Path(sysconfig.get_paths()["purelib"]))
    if share < 0.99:
        print(f"warning: only {share:.0%} of dagster's modules have bytecode in this venv; run `make install` "
              "(uv pip install --compile-bytecode) for the 'after' figures to mean what they say", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="podemos-startup-"))
    base, previous = scratch / "base", scratch / "previous"
    for tree, commit in ((base, args.baseline), (previous, DBT_IN_PROCESS)):
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree), commit], check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(previous / "podemos_assets")], check=True)
    try:
        print(f"baseline {args.baseline} in {base}; dbt in process {DBT_IN_PROCESS} in {previous}; "
              f"this checkout {REPO}; {os.cpu_count()} cores", flush=True)
        configs = {"before": (base, dbt_in_process(no_bytecode(scratch))), "dbt-in-process": (previous, dbt_in_process()),
                   "after": (REPO, {})}
        figures = measure(configs, scratch, args.runs)
        for label, (tree, extra) in configs.items():
            if args.ui:
                try:
                    figures[label]["ui_start"] = ui_start(tree, scratch / f"ui-{label}", extra)
                except (AssertionError, SystemExit) as exc:  # one configuration's failure keeps the others' figures
                    log = scratch / f"ui-{label}" / "webserver.log"
                    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else ""
                    print(f"  {label}: UI-launched run not measured: {str(exc)[:300]}\n{tail}", flush=True)
                    figures[label]["ui_start"] = float("nan")
            print(f"  {label}: " + ", ".join(f"{k} {v:.2f} s" for k, v in figures[label].items()), flush=True)
        b, n, a = figures["before"], figures["dbt-in-process"], figures["after"]
        for title, key in ((f"definitions load (fresh interpreter, median of {args.runs})", "load"),
                           (f"`podemos --help` (median of {args.runs})", "help"),
                           *((("UI-launched run, launch to STARTED (median)", "ui_start"),) if args.ui else ())):
            print(f"{title}:\n  baseline {args.baseline} -> this checkout: {verdict(key, b[key], a[key])}\n"
                  f"  dbt in process {DBT_IN_PROCESS} -> in its own venv: {verdict(key, n[key], a[key])}")
        print(f"definitions load as `dagster dev` loads it (1 run): before {b['dev_load']:.2f} s, "
              f"dbt in process {n['dev_load']:.2f} s, after {a['dev_load']:.2f} s")
        print(json.dumps(figures))
    finally:
        for tree in (base, previous):
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

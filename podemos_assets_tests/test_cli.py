"""`podemos`: help and user errors answer without loading Dagster or a capability, in one line, exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from podemos_assets import cli

# Runs the real entry point in a fresh interpreter and reports what it imported: the pytest process has
# Dagster loaded already, so "before Dagster is loaded" can only be observed from outside.
PROBE = """
import json, sys
from podemos_assets.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("dagster", "dagster_dbt", "dbt", "pandas", "pandera",
               "duckdb", "pyarrow") or m.split(".")[:2] in (["podemos_assets", n] for n in
               ("campo", "pagos", "regulatorio", "sucursales", "gobierno", "resources", "spark", "definitions")))
print(json.dumps({"code": code, "heavy": heavy}), file=sys.__stdout__)
"""


def podemos(*argv: str, env: dict[str, str] | None = None, home=None) -> tuple[int, list[str], list[str], str]:
    environ = {**os.environ, **(env or {})}
    if home is not None:
        environ["PODEMOS_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], env=environ, capture_output=True, text=True,
                          timeout=60)
    *out, last = done.stdout.splitlines()
    report = json.loads(last)
    return report["code"], report["heavy"], done.stderr.splitlines(), "\n".join(out)


@pytest.mark.parametrize("argv", [["--help"], ["generate", "--help"], ["demo", "--help"],
                                  ["instance-setup", "--help"], ["ingest", "serve", "--help"]])
def test_help_loads_no_capability(argv, tmp_path):
    code, heavy, err, out = podemos(*argv, home=tmp_path)
    assert code == 0 and err == []
    assert heavy == []
    assert "usage: podemos" in out
    if argv == ["--help"]:
        assert all(name in out for name in cli.COMMANDS)


@pytest.mark.parametrize(
    "argv,env,expected",
    [
        (["generate", "--days", "0"], {}, "podemos generate: argument --days: expected a whole number >= 1, got '0'"),
        (["generate", "--branches", "veinte"], {}, "argument --branches: expected a whole number >= 1, got 'veinte'"),
        (["generate", "--start", "2026-11-31"], {}, "argument --start: expected a date YYYY-MM-DD, got '2026-11-31'"),
        (["generate", "--start", "2026-09-30"], {},
         "podemos generate: --start 2026-09-30 is before go-live 2026-10-01 (PODEMOS_GO_LIVE)"),
        (["generate", "--start", "2026-11-14"], {"PODEMOS_GO_LIVE": "2026-11-15"},
         "--start 2026-11-14 is before go-live 2026-11-15"),
        (["generate"], {"PODEMOS_GO_LIVE": "15/11/2026"}, "podemos generate: PODEMOS_GO_LIVE='15/11/2026' is not a date"),
        (["demo"], {"PODEMOS_LAKE_URL": "ftp://lago"}, "podemos demo: PODEMOS_LAKE_URL='ftp://lago' is not a supported URL"),
        (["demo"], {}, "podemos demo: No demo data in"),
        (["ingest", "serve", "--port", "70000"], {}, "argument --port: expected a TCP port 1-65535, got '70000'"),
        (["ingest"], {}, "podemos ingest: the following arguments are required: ingest_command"),
        (["frobnicate"], {}, "podemos: argument {generate,demo,instance-setup,ingest,backfill}: invalid choice: 'frobnicate'"),
        ([], {}, "podemos: the following arguments are required"),
    ],
)
def test_user_errors_are_one_line_exit_2_before_dagster(argv, env, expected, tmp_path):
    code, heavy, err, out = podemos(*argv, env=env, home=tmp_path / "podemos")
    assert code == 2
    assert len(err) == 1 and err[0].startswith("podemos") and expected in err[0], err
    assert "Traceback" not in err[0] and out == ""
    assert heavy == []
    assert not (tmp_path / "podemos").exists()  # refused before anything was written


def test_backfill_still_dispatches_to_its_own_arguments_and_main(tmp_path, capsys, monkeypatch):
    """`podemos backfill` is declared by podemos_assets/sucursales/cli.py: its own one-line refusal comes back."""
    monkeypatch.setenv("PODEMOS_HOME", str(tmp_path))
    code = cli.main(["backfill", "--sucursal", "suc_999", "--desde", "2026-11-01", "--hasta", "2026-11-02"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1 and "suc_999" in err[0]
    with pytest.raises(SystemExit) as exc:  # its add_arguments was used: --sucursal is required
        cli.main(["backfill", "--desde", "2026-11-01", "--hasta", "2026-11-02"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "podemos backfill: the following arguments are required: --sucursal (see `podemos backfill --help`)"]


def test_ingest_serve_takes_every_option_of_the_service(monkeypatch, tmp_path):
    """`podemos ingest serve` and `python -m podemos_assets.ingesta.cli serve` are one declaration: the
    options the benchmark and the tests use (--server, --workers, --no-group-commit) reach the service."""
    import podemos_assets.ingesta.cli as ingest_cli

    monkeypatch.setenv("PODEMOS_HOME", str(tmp_path))
    seen = []
    monkeypatch.setattr(ingest_cli, "main", lambda args: seen.append(args) or 0)
    assert cli.main(["ingest", "serve", "--port", "8711"]) == 0
    assert cli.main(["ingest", "serve", "--max-in-flight", "3", "--host", "0.0.0.0", "--server", "granian",
                     "--workers", "2", "--no-group-commit"]) == 0
    assert [(a.host, a.port, a.max_in_flight, a.server, a.workers, a.no_group_commit) for a in seen] == [
        ("127.0.0.1", 8711, None, "uvicorn", 1, False), ("0.0.0.0", 8700, 3, "granian", 2, True)]


def test_ingest_serve_refuses_a_bad_option_in_one_line(capsys):
    code, _, err, _ = podemos("ingest", "serve", "--workers", "0")
    assert code == 2 and len(err) == 1 and "--workers" in err[0] and "whole number >= 1" in err[0]


def test_a_config_error_raised_while_running_is_one_line_exit_2(monkeypatch, tmp_path, capsys):
    """A setting only the command itself can check (here a branch whose URL variable is unset)."""
    import podemos_assets.demo.generate as generate
    from podemos_assets.config import ConfigError

    monkeypatch.setenv("PODEMOS_HOME", str(tmp_path))

    def refuse(args):
        raise ConfigError("SUC_1_URL is not set: export the branch's mysql:// URL")

    monkeypatch.setattr(generate, "main", refuse)
    with pytest.raises(SystemExit) as exc:
        cli.main(["generate", "--days", "1"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == ["podemos generate: SUC_1_URL is not set: export the branch's mysql:// URL"]

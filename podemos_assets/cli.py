"""`podemos`: the platform's command line. Every subcommand's arguments are declared and checked here,
without importing any capability (so `--help` and a user error answer at once, before Dagster loads);
the chosen subcommand's module is imported only to run it."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from datetime import date

# subcommand -> (module with main(args), one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("podemos_assets.demo.generate", "write the seeded demo data (branches, field events, sources)"),
    "demo": ("podemos_assets.demo.run", "materialize the whole platform on the demo data and print a summary"),
    "instance-setup": ("podemos_assets.instance", "create DAGSTER_HOME and set the concurrency pool limits"),
    "ingest": ("podemos_assets.ingesta.cli", "field-event ingestion service (`podemos ingest serve`)"),
    "backfill": ("podemos_assets.sucursales.cli", "extract branch-days: `podemos backfill --sucursal suc_007 --desde … --hasta …`"),
}
# Subcommands whose module declares its own arguments (`add_arguments(parser)`, a light import by contract);
# their module is imported only when the command line names them.
OWN_ARGUMENTS = {"backfill", "ingest"}


class Parser(argparse.ArgumentParser):
    """argparse, except that a user error is one line (no usage dump) and exit code 2."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def port_number(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port 1-65535, got {text!r}")
    return value


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _generate_arguments(parser: argparse.ArgumentParser) -> None:
    from podemos_assets.demo.scenario import DEMO_BRANCHES, DEMO_DAYS  # stdlib only

    parser.add_argument("--start", type=_iso_date, metavar="YYYY-MM-DD", help="first day (default: DAYS days before today)")
    parser.add_argument("--days", type=positive_int, default=DEMO_DAYS,
                        help=f"how many business days (default {DEMO_DAYS}, which hold all the planted trouble)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--branches", type=positive_int, default=DEMO_BRANCHES,
                        help=f"how many branches of the registry (default {DEMO_BRANCHES}; 200 is the whole company)")
    parser.add_argument("--clients-per-branch", type=positive_int, default=60)
    parser.add_argument("--no-trouble", dest="trouble", action="store_false", help="no planted trouble")


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nights", type=positive_int, default=None,
                        help="walk only the first N nights of the generated days (default: all of them)")


def _instance_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="rewrite dagster.yaml even if unchanged")


ARGUMENTS = {
    "generate": _generate_arguments,
    "demo": _demo_arguments,
    "instance-setup": _instance_arguments,
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = Parser(prog="podemos", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    chosen = next((a for a in argv if not a.startswith("-")), None)  # `podemos` has no option of its own
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if name in ARGUMENTS:
            ARGUMENTS[name](p)
        elif name in OWN_ARGUMENTS and name == chosen:
            try:
                importlib.import_module(module).add_arguments(p)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
                p.set_defaults(_missing=True)  # capability not built yet
    return parser


def _user_error(args: argparse.Namespace) -> str | None:
    """What can be checked before any capability loads: the configuration (a bad variable is a user
    error too) and the arguments that depend on it."""
    try:
        from podemos_assets.config import load_settings  # its GO_LIVE reads PODEMOS_GO_LIVE at import

        settings = load_settings()
    except ValueError as exc:
        if type(exc).__name__ != "ConfigError":  # raised at import, the class is not ours to import yet
            raise
        return str(exc)
    if args.command == "generate" and args.start is not None:
        from podemos_assets.config import _go_live

        go_live = _go_live(os.environ)  # not the home's: the new scenario replaces the old one
        if args.start.isoformat() < go_live:
            return (f"--start {args.start} is before go-live {go_live} (PODEMOS_GO_LIVE): the daily "
                    "partitions begin there")
    if args.command == "demo":
        from podemos_assets.demo.scenario import Scenario  # stdlib only

        try:
            Scenario.load(settings.home)
        except SystemExit as exc:  # its message says to run `podemos generate`
            return str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    # Dagster's beta/preview notices about APIs we chose on purpose are noise on a terminal.
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    prog = f"podemos {args.command}"
    if getattr(args, "_missing", False):
        parser.exit(2, f"{prog}: not available in this build\n")
    if (problem := _user_error(args)) is not None:
        parser.exit(2, f"{prog}: {problem}\n")
    try:
        module = importlib.import_module(args._module)
    except ModuleNotFoundError as exc:
        if exc.name != args._module:
            raise
        parser.exit(2, f"{prog}: not available in this build\n")
    from podemos_assets.config import ConfigError

    try:
        return module.main(args) or 0
    except ConfigError as exc:  # e.g. a registry row, a branch URL variable: still the user's to fix
        parser.exit(2, f"{prog}: {exc}\n")
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

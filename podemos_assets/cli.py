"""`podemos`: the platform's command line. Each subcommand lives beside its capability and is
imported only when called (so `podemos ingest serve` does not load the demo generator)."""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

# subcommand -> (module with add_arguments(parser) and main(args), one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("podemos_assets.demo.generate", "write the seeded demo data (branches, field events, sources)"),
    "demo": ("podemos_assets.demo.run", "materialize the whole platform on the demo data and print a summary"),
    "instance-setup": ("podemos_assets.instance", "create DAGSTER_HOME and set the concurrency pool limits"),
    "ingest": ("podemos_assets.campo.cli", "field-event ingestion service (`podemos ingest serve`)"),
    "backfill": ("podemos_assets.sucursales.cli", "extract branch-days: `podemos backfill --sucursal suc_007 --desde … --hasta …`"),
}


def main(argv: list[str] | None = None) -> int:
    # Dagster's beta/preview notices about APIs we chose on purpose are noise on a terminal.
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
    parser = argparse.ArgumentParser(prog="podemos", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            p.set_defaults(_missing=True)  # capability not built yet
    args = parser.parse_args(argv)
    if getattr(args, "_missing", False):
        parser.error(f"'{args.command}' is not available in this build")
    return importlib.import_module(args._module).main(args) or 0


if __name__ == "__main__":
    sys.exit(main())

"""`podemos ingest serve`: run the field-event ingestion service (uvicorn) on this machine.

Reads PODEMOS_HOME / PODEMOS_LAKE_URL like everything else, and the device secrets from
PODEMOS_DEVICE_SECRETS, PODEMOS_DEVICE_SECRETS_FILE or $PODEMOS_HOME/secrets/dispositivos.json.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The one declaration of `podemos ingest` (light: `podemos --help` and user errors load no service)."""
    from podemos_assets.cli import port_number, positive_int

    sub = parser.add_subparsers(dest="ingest_command", required=True)
    serve = sub.add_parser("serve", help="serve POST /v1/batches, POST /v1/fotos and PUT /v1/fotos/{sha256}")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    serve.add_argument("--port", type=port_number, default=8700)
    # None = the service's own limit (ingesta.app.DEFAULT_MAX_IN_FLIGHT, filled in by main).
    serve.add_argument("--max-in-flight", type=positive_int, default=None,
                       help="requests admitted at once (bodies read) before answering 429 with Retry-After "
                            "(default: the service's)")
    serve.add_argument("--no-group-commit", action="store_true",
                       help="one landing file and fsync per batch instead of per group of concurrent batches")
    serve.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn",
                       help="HTTP server: uvicorn (Python, default) or granian (compiled, Rust)")
    serve.add_argument("--workers", type=positive_int, default=1, metavar="N",
                       help="server processes (default 1); they share the store and the landing zone, and "
                            "the per-device limit is per process")


def main(args: argparse.Namespace) -> int:
    from podemos_assets.config import load_settings
    from podemos_assets.contracts import lake as paths
    from podemos_assets.ingesta.app import DEFAULT_MAX_IN_FLIGHT, SERVE_OPTIONS_ENV, build_core, create_app
    from podemos_assets.ingesta.server import UVICORN_OPTIONS, serve_forever

    settings = load_settings()
    if args.max_in_flight is None:
        args.max_in_flight = DEFAULT_MAX_IN_FLIGHT
    options = {"max_in_flight": args.max_in_flight, "group_commit": not args.no_group_commit}
    factory = "podemos_assets.ingesta.app:app_from_environment"  # each worker process builds its own core
    if args.server == "granian" or args.workers > 1:
        import json
        import os

        os.environ[SERVE_OPTIONS_ENV] = json.dumps(options)  # read by the factory in every worker
        print(f"==> field-event ingestion ({args.server}, {args.workers} process(es)) on "
              f"http://{args.host}:{args.port}", flush=True)
        if args.server == "granian":
            from granian import Granian

            Granian(factory, address=args.host, port=args.port, interface="asgi", factory=True,
                    workers=args.workers, backlog=4096, log_access=False).serve()
        else:
            import uvicorn

            uvicorn.run(factory, factory=True, host=args.host, port=args.port, workers=args.workers,
                        **UVICORN_OPTIONS)
        return 0
    core = build_core(settings, group_commit=options["group_commit"])
    print(f"==> field-event ingestion on http://{args.host}:{args.port} ({len(core.secrets)} devices, "
          f"landing in {settings.lake_url}/{paths.FIELD_LANDING})", flush=True)
    serve_forever(create_app(core, max_in_flight=args.max_in_flight), args.host, args.port)
    return 0


if __name__ == "__main__":  # `python -m podemos_assets.ingesta.cli serve`: without loading the other commands
    import sys

    _parser = argparse.ArgumentParser(prog="podemos ingest")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))

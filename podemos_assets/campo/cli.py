"""`podemos ingest serve`: run the field-event ingestion service (uvicorn) on this machine.

Reads PODEMOS_HOME / PODEMOS_LAKE_URL like everything else, and the device secrets from
PODEMOS_DEVICE_SECRETS, PODEMOS_DEVICE_SECRETS_FILE or $PODEMOS_HOME/secrets/dispositivos.json.
"""

from __future__ import annotations

import argparse

from podemos_assets.campo.app import DEFAULT_MAX_IN_FLIGHT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="ingest_command", required=True)
    serve = sub.add_parser("serve", help="serve POST /v1/batches and PUT /v1/fotos/{sha256}")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--max-in-flight", type=int, default=DEFAULT_MAX_IN_FLIGHT,
                       help="concurrent requests before answering 429 with Retry-After")


def main(args: argparse.Namespace) -> int:
    from podemos_assets.campo.app import build_core, create_app
    from podemos_assets.campo.server import serve_forever
    from podemos_assets.config import load_settings

    settings = load_settings()
    core = build_core(settings)
    print(f"==> field-event ingestion on http://{args.host}:{args.port} ({len(core.secrets)} devices, "
          f"landing in {settings.lake_url}/landing/campo)", flush=True)
    serve_forever(create_app(core, max_in_flight=args.max_in_flight), args.host, args.port)
    return 0


if __name__ == "__main__":  # `python -m podemos_assets.campo.cli serve`: without loading the other commands
    import sys

    _parser = argparse.ArgumentParser(prog="podemos ingest")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))

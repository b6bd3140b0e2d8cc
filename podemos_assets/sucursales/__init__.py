"""Capability `sucursales`: see README and shared DESIGN.md §3. Exposes `defs`, merged by definitions.py."""

import dagster as dg

defs = dg.Definitions()

"""Governance's checks: the PII scan's verdict, blocking (computed by the scan, `escaneo_pii`). The CI gate
(`gate.py`) checks the definitions themselves, before they deploy."""

import dagster as dg

SIN_PII_EXPUESTA = dg.AssetCheckSpec(
    "sin_pii_expuesta",
    asset="escaneo_pii",
    blocking=True,
    description="No CURP, RFC, CLABE, phone or voter key appears raw in an analyst-facing output.",
)

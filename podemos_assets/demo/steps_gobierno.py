"""Demo step for gobierno: export the catalog and scan analyst-facing outputs for PII, in one in-process run."""

from __future__ import annotations

import dagster as dg


def run(ctx) -> None:
    keys = [dg.AssetKey("catalogo_datos"), dg.AssetKey("escaneo_pii")]
    result = ctx.materialize(keys)
    by_node = {key.to_user_string(): result.asset_materializations_for_node(key.to_user_string()) for key in keys}
    catalog = by_node["catalogo_datos"][0].metadata if by_node["catalogo_datos"] else {}
    scan = by_node["escaneo_pii"][0].metadata if by_node["escaneo_pii"] else {}

    def value(meta, name):
        return meta[name].value if name in meta else "?"

    print(
        f"    catalog: {value(catalog, 'assets')} assets, {value(catalog, 'columns')} columns "
        f"({value(catalog, 'pii_columns')} PII), {value(catalog, 'governance_violations')} governance violations"
    )
    checks = result.get_asset_check_evaluations()
    verdict = "passed" if checks and all(c.passed for c in checks) else "FAILED"
    print(f"    PII scan: {value(scan, 'targets')} analyst-facing outputs, {value(scan, 'findings')} findings ({verdict})")

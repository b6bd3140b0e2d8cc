"""Pandera models of gobierno's own tables: the column catalog and the PII scan's findings."""

from __future__ import annotations

import pandera.pandas as pda

from podemos_assets.contracts.vocabulary import Classification as C
from podemos_assets.contracts.vocabulary import column


class CatalogoColumna(pda.DataFrameModel):
    activo: str = column("Dagster asset key of the table or file set", C.PUBLICO, glossary="activo de datos")
    columna: str = column("Column name as stored", C.PUBLICO)
    tipo: str = column("Column type (pandera/Arrow/dbt)", C.PUBLICO)
    descripcion: str = column("What the column means, from the table's pandera model", C.PUBLICO)
    clasificacion: str = column(
        "Classification: pii, sensible or publico (empty = ungoverned)", C.PUBLICO, glossary="clasificación"
    )
    glosario: str = column("Business glossary term of the column, if any", C.PUBLICO)
    duenos: str = column("Owning teams, comma-separated", C.PUBLICO)
    dominio: str = column("Data domain of the asset", C.PUBLICO)
    criticidad: str = column("Criticality of the asset: alta, media, baja", C.PUBLICO)
    audiencia: str = column("Who reads the output (analistas outputs are PII-scanned)", C.PUBLICO)


class HallazgoPii(pda.DataFrameModel):
    activo: str = column("Analyst-facing asset where PII was found", C.PUBLICO)
    ubicacion: str = column("Warehouse relation or file key scanned", C.PUBLICO)
    columna: str = column("Column with the match ('-' for unstructured text)", C.PUBLICO)
    tipo_pii: str = column("Pattern matched (curp, rfc, clabe, telefono, clave_elector) or pii_sin_enmascarar", C.PUBLICO)
    coincidencias: int = column("Values that matched (capped per column)", C.PUBLICO, ge=1)
    muestra: str = column("Masked sample: first two characters, then asterisks", C.SENSIBLE)

"""The column types of every table, once: pandera annotations over exact Arrow types.

Tables are Arrow-backed end to end (Parquet in the lake, DuckDB/Redshift in the warehouse), so each
type names its pyarrow type; pandas never guesses one. Money is Decimal, never float.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import pyarrow

Int = Annotated[pd.ArrowDtype, pyarrow.int64()]
Int32 = Annotated[pd.ArrowDtype, pyarrow.int32()]
Float = Annotated[pd.ArrowDtype, pyarrow.float64()]
Text = Annotated[pd.ArrowDtype, pyarrow.string()]
Date = Annotated[pd.ArrowDtype, pyarrow.date32()]
# An instant (UTC) and a wall-clock time in a branch's zone (naive: the zone is the branch's, see
# `sucursales.zona_horaria`); the two are never mixed in one column.
Instant = Annotated[pd.ArrowDtype, pyarrow.timestamp("us", "UTC")]
LocalTime = Annotated[pd.ArrowDtype, pyarrow.timestamp("us")]
# Money: MXN with centavos. `BranchMoney` is the branches' own MySQL DECIMAL(15,2), kept exact in their
# extracts; every table the platform builds uses `Money`, three digits wider so sums of a day or a
# year of payments never overflow (10^16 pesos).
BranchMoney = Annotated[pd.ArrowDtype, pyarrow.decimal128(15, 2)]
Money = Annotated[pd.ArrowDtype, pyarrow.decimal128(18, 2)]

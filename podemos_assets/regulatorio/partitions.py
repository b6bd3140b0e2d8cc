"""The report-day partitions of the regulatory assets: America/Mexico_City days from go-live (why not the
branch ETL's America/Cancun days: see assets.py)."""

import dagster as dg

from podemos_assets.config import GO_LIVE
from podemos_assets.regulatorio.registry import TZ_NAME

REPORT_DAY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=GO_LIVE, timezone=TZ_NAME)

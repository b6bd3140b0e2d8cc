"""The event-day partitions of the campo assets: days in America/Mexico_City from go-live, including
today (devices send today's events today)."""

import dagster as dg

from podemos_assets.config import GO_LIVE

EVENT_DAY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=GO_LIVE, timezone="America/Mexico_City", end_offset=1)

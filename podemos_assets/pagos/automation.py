"""When pagos runs, all through the platform's one automation sensor (`podemos_assets/automation.py`):

- the merge (`pagos_historicos` and its tables) after the extracts and tombstones of its day changed;
- the dbt reports after the merge of their day;
- `consolidacion_masiva` (the Spark bulk path) only when an engineer launches it for a range of days.
"""

from podemos_assets.automation import after_upstream

AFTER_ITS_DAY = after_upstream()  # the merge: the branch extracts and tombstones of its day changed
AFTER_THE_MERGE = after_upstream()  # the dbt report models

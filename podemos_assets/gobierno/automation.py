"""When governance runs: its assets' automation condition (evaluated by the one automation sensor)."""

from podemos_assets.automation import daily_at

# Governance after the data: once a day, after the regulatory deadline and the nightly loads.
AFTER_THE_NIGHT = daily_at("0 7 * * *")

"""The demo-data generator: its configuration, the model with known truth, and publishing files in the Home Office layout."""

# demo-data --editions: at most two years of quarterly editions
MAX_EDITIONS = 8

# When a recorded basis is counted (generator config `recorded_basis_as_at`; what the link panel
# assumes, analysis.stats.link_panel.counted_as): each year a fixed lag after its own end, or
# every year to one date, as a republication counts them
AS_AT = ("year", "edition")

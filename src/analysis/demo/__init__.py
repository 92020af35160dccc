"""The demo-data generator: its configuration, the model with known truth, and publishing files in the Home Office layout."""

# demo-data --editions: at most two years of quarterly editions
MAX_EDITIONS = 8

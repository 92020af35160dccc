"""The demo-data generator: its configuration, the model with known truth, and publishing files in the Home Office layout."""

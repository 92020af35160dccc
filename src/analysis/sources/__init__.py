"""Getting the data in: fetching the published files, reading spreadsheets and the Home Office layout, ingesting into the parquet store."""

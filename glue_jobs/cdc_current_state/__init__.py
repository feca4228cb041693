"""Glue job: DMS change rows in the raw zone (`cdc/`) become the current state of each table in the curated zone."""

-- The warehouse table the curated events load into (the notes' "load data from S3").
-- Its columns are the curated Parquet files' own, in their order (COPY ... FORMAT AS PARQUET maps by position);
-- the partition columns year/month/day/hour live in the folder names, not in the files, and are not loaded.
-- tests/tools/test_warehouse.py checks this list against the curation job's output schema.
CREATE TABLE IF NOT EXISTS public.sensor_events (
    device_id VARCHAR(64) NOT NULL,
    event_time VARCHAR(40) NOT NULL,
    temperature_c DOUBLE PRECISION,
    humidity_pct DOUBLE PRECISION,
    battery_v DOUBLE PRECISION,
    status VARCHAR(16) NOT NULL,
    event_ts TIMESTAMP,
    event_date DATE,
    temperature_f DOUBLE PRECISION,
    site VARCHAR(64),
    model VARCHAR(64),
    installed_on DATE,
    rack_row INTEGER,
    rack_col INTEGER
)
DISTSTYLE AUTO
SORTKEY (event_ts);

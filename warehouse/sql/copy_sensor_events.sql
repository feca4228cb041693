-- Reload the warehouse table from the curated zone: COPY reads every Parquet object under events/ with the
-- namespace's default role (the Spectrum role, which may read events/ and analytics/ only). COPY appends, so the
-- table is emptied first; both run in one transaction (make warehouse-query sends a file as one batch), so a failed
-- COPY leaves the previous rows in place.
DELETE FROM public.sensor_events;
COPY public.sensor_events
FROM 's3://{curated_zone}/events/'
IAM_ROLE default
FORMAT AS PARQUET;

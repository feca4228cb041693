-- Spectrum: query the curated events where they lie, through the external schema over the lake's Glue database.
-- Filtering on the partition columns (text, zero-padded) reads only those hours' folders.
SELECT site, status, COUNT(*) AS readings, ROUND(AVG(temperature_c), 2) AS mean_temperature_c
FROM {external_schema}.curated_events
WHERE year = '2026'
GROUP BY site, status
ORDER BY site, status;

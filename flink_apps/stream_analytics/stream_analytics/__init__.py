"""Pure modules of the stream analytics job: settings, parsing, reference data, forests, hotspots, SQL, records."""

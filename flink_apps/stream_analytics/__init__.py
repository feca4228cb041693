"""The analytics application: the notes' Kinesis Data Analytics (metrics, RANDOM_CUT_FOREST, HOTSPOTS) on Flink."""

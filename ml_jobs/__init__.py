"""Jobs that use the lake's curated data: exploratory analysis, features and models."""

"""Command-line tools that work against a deployed environment."""

"""Exploratory data analysis, features and a model of the curated zone (or of any table)."""

"""Tidy tables, one row per plotted point: built from the jobs' results, read by the figures (no torch here)."""

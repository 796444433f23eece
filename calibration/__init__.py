"""Calibration against published patterns: targets, summary statistics, fitting and validation (issue 5)."""

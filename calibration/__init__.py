"""Calibration against published patterns: targets, summary statistics, fitting, validation.

Built on the experiments layer (protocols run through it; posterior samples are
``experiments.posterior``) and below the dashboards and the command line (``tasim``).
"""

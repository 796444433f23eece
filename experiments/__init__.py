"""Running many models: designs, executors, the results store, posterior draws, analyses, plots.

The layer above the model (``sim``) and below calibration, the dashboards and the command line
(``tasim``): it imports none of them.
"""

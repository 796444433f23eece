"""The ``tasim`` command line: the top layer, which registers every command group.

Layers only point down: ``sim`` (the model) <- ``experiments`` <- ``calibration`` <-
``dashboards`` <- ``tasim``. Nothing below imports this package or Typer, and library errors
name their Python arguments; ``tasim.errors`` words them as this command line's flags.
"""

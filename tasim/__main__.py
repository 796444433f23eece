"""``python -m tasim``: the same command as the installed ``tasim``."""

from tasim.cli import app

app(prog_name="tasim")

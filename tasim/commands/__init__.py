"""The command groups of ``tasim``, one module each; every module's ``register(app)`` adds it."""

"""Running many models: designs, executors, results store, analyses, plots and the CLI."""

"""The Solara dashboard: live model, what-if, dose-response teaching, sensitivity explorer."""

"""What a nightly check produces besides report.json: the HTML page, notifications, and
the MLflow run."""

"""Creator metrics that read across every other app."""

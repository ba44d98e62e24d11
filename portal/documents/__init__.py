"""Documents on challenges, proposals and trials: upload, download, remove."""

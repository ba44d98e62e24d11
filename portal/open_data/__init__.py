"""Open data: the public page of downloadable datasets and the files themselves."""

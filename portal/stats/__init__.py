"""The coordinators' dashboard, the public statistics page and the showcase of outcomes."""

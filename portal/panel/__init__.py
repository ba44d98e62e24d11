"""Panel scoring: a challenge's evaluation criteria, scoring a proposal, the side-by-side table."""

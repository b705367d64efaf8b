"""utils: helpers the course provides (fast layers, gradient checks, data loading)."""

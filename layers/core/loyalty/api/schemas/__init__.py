"""Request bodies, one module per function so each cold start builds only its own models."""

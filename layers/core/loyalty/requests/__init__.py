"""Request bodies, validated at the edge and taken as they are by the services; one module per function so each
cold start builds only its own models."""

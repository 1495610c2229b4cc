"""The REST API under /_/: routing, the request context and input validation."""

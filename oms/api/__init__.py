"""The HTTP API: one blueprint per resource, described by OpenAPI (flask-smorest)."""

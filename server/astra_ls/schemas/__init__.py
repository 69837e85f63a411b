"""Event schemas: built-in families, user JSON Schemas and user pydantic models, one interface."""

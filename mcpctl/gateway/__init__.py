"""The gateway engine: routes client requests to backends and their answers back."""

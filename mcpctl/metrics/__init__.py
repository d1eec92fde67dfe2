"""Prometheus metrics for the gateway."""

"""Rate limits (token buckets) and per-backend circuit breakers."""

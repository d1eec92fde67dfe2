"""The gateway's pump: feeds the router what clients and backends send, and performs what it decides."""

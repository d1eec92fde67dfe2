"""Several hosts as one fleet: what is declarative lives in Redis, what is live is routed to its holder."""

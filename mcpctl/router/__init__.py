"""The gateway's decisions without I/O: fed messages and clock ticks, it answers with actions."""

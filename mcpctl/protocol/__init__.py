"""Sans-I/O protocol core: framing, eras, naming and routing. No sockets, no clock, no anyio."""

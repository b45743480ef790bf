"""Organisation: the unit tree, outlets and their windows (counters)."""

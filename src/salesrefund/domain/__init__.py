"""The refund domain: pure rules, standard library only (no I/O, no frameworks)."""

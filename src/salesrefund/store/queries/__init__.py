"""Read-side queries the doors need beyond a refund's result (issue 10)."""

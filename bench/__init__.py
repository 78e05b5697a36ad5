"""salesrefund's benchmark suite: ``uv run python -m bench --help``. See bench/README.md."""

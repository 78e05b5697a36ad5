"""salesrefund: records refunds against sales exactly right."""

__version__ = "0.1.0"

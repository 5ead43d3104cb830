"""MCP server for the customer side of commercetools, with an embedded emulator."""

__version__ = "0.1.0"

"""Benchmarks of commercetools-customers-mcp side by side with its peers; see docs/benchmarks/README.md."""

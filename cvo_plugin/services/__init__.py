"""Orchestration: the use cases that web routes, the CLI and jobs call (no Flask imports)."""

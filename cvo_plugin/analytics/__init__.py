"""Pure, vectorised analytics (numpy/scipy only; no Flask, SQLAlchemy or I/O)."""

"""Jinja templates of the app; installed as the package `cvo_templates` (see setup.py)."""

"""The bundled demo store (`cvo demo`)."""

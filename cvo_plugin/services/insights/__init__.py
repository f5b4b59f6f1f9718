"""Customer value: settings, the computation's load/compute/store steps, and the read API."""

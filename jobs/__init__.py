"""Background jobs (RQ): each module holds job functions named by dotted path in `cvo_plugin.tasks`."""

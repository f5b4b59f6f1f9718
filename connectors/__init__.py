"""Platform connectors: read a store's data through its API and yield `cvo_plugin.records`."""

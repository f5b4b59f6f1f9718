"""Shopify connector: Admin GraphQL client, OAuth grants, bulk exports, incremental streams and
the mapping of Shopify's shapes (GraphQL nodes, REST-shaped webhook payloads) to `cvo_plugin.records`.

Nothing here touches the database; `cvo_plugin.services.shopify_*` and `jobs.shopify` do.
"""

"""WooCommerce connector: REST API v3 client, JSON -> records mapping, backfill/incremental streams."""

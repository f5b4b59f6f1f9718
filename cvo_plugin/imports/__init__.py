"""File formats the app imports (CONTRACT.md): order lines, Shopify order and product exports."""

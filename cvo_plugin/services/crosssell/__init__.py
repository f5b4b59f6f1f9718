"""Cross-sells without Flask: what the widget API, the admin, `cvo recommend` and the job use.

- reading: `recommend` (one product's list, or a cart's add-ons), `current_set`,
  `bought_products` (the products of the current set, most ordered first);
- the merchant's controls: `pin`/`unpin`, `hide`/`unhide`, `save_bundle`/`delete_bundle`,
  `list_controls`;
- settings: `crosssell_settings`, `update_crosssell_settings`, `validate_settings`;
- computing (the job's parts): `load_baskets`, `replace_current_set`.

Every function takes the caller's session and filters by the shop; none commits.
"""

from cvo_plugin.services.crosssell.controls import (
    ControlError,
    ControlsView,
    delete_bundle,
    hide,
    list_controls,
    pin,
    save_bundle,
    unhide,
    unpin,
)
from cvo_plugin.services.crosssell.inputs import ShopBaskets, load_baskets
from cvo_plugin.services.crosssell.products import ProductCard, is_available, product_cards
from cvo_plugin.services.crosssell.read import (
    LISTS,
    Recommendation,
    RecommendationList,
    UnknownProductError,
    recommend,
)
from cvo_plugin.services.crosssell.settings import (
    SETTINGS_HELP,
    CrosssellSettings,
    SettingsError,
    crosssell_settings,
    update_crosssell_settings,
    validate_settings,
)
from cvo_plugin.services.crosssell.store import (
    ProductOrders,
    bought_products,
    current_set,
    replace_current_set,
)

__all__ = [
    "LISTS",
    "SETTINGS_HELP",
    "ControlError",
    "ControlsView",
    "CrosssellSettings",
    "ProductCard",
    "ProductOrders",
    "Recommendation",
    "RecommendationList",
    "SettingsError",
    "ShopBaskets",
    "UnknownProductError",
    "bought_products",
    "crosssell_settings",
    "current_set",
    "delete_bundle",
    "hide",
    "is_available",
    "list_controls",
    "load_baskets",
    "pin",
    "product_cards",
    "recommend",
    "replace_current_set",
    "save_bundle",
    "unhide",
    "unpin",
    "update_crosssell_settings",
    "validate_settings",
]

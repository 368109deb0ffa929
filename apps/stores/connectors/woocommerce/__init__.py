"""WooCommerce (wc/v3) and WordPress (wp/v2) connector: see connector.py."""

from apps.stores.connectors.woocommerce.connector import WooCommerceConnector
from apps.stores.connectors.woocommerce.products import (
    VARIATIONS_KEY,
    product_from_canonical,
    product_to_canonical,
)

__all__ = [
    "VARIATIONS_KEY",
    "WooCommerceConnector",
    "product_from_canonical",
    "product_to_canonical",
]

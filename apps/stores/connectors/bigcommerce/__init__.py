"""BigCommerce connector package: `from apps.stores.connectors.bigcommerce import
BigCommerceConnector`. One module per entity (categories, brands, products, customers,
orders, posts), the shared request helpers in api.py, limits and conversions in common.py."""

from apps.stores.connectors.bigcommerce.common import BATCH, IDS_PER_QUERY, MAX_PAGE
from apps.stores.connectors.bigcommerce.connector import BigCommerceConnector

__all__ = ["BATCH", "IDS_PER_QUERY", "MAX_PAGE", "BigCommerceConnector"]

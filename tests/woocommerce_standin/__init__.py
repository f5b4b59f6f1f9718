"""A local stand-in for a WooCommerce store's REST API v3 (HTTPS on loopback) for the tests."""

from tests.woocommerce_standin.server import ApiKey, Delivery, Fault, StandIn, sign
from tests.woocommerce_standin.store import Store, generate_store
from tests.woocommerce_standin.tls import CertificateFiles, make_certificates

__all__ = [
    "ApiKey",
    "CertificateFiles",
    "Delivery",
    "Fault",
    "StandIn",
    "Store",
    "generate_store",
    "make_certificates",
    "sign",
]

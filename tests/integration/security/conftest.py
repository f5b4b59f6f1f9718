"""Fixtures of the security tests: the app with two tenants of each platform."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask

from cvo_plugin.db import Database
from tests.integration.security.tenants import Tenants, make_tenants


@dataclass
class Secured:
    app: Flask
    database: Database
    tenants: Tenants


@pytest.fixture
def secured(app: Flask) -> Secured:
    database = app.extensions["cvo"]["db"]
    return Secured(app, database, make_tenants(database))

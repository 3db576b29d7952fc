"""Registry test fixtures: the fake Hub (`fake_hub`, see tests/hubfake/fixtures.py)."""

from tests.hubfake.fixtures import fake_hub  # noqa: F401

"""Fixtures of the Anthropic backend tests: a fake key in the environment (and no other
Anthropic settings leaking in from it), the loopback Messages API and a response cache."""

import pytest

from synth_assets.llm.cache import ResponseCache
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer

FAKE_KEY = "sk-test-not-a-real-key-7f3a9c"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    for name in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return FAKE_KEY


@pytest.fixture
def server():
    with FakeAnthropicServer() as fake:
        yield fake


@pytest.fixture
def cache_path(tmp_path):
    return tmp_path / "llm_cache.sqlite"


@pytest.fixture
def cache(cache_path):
    db = ResponseCache(cache_path)
    yield db
    db.close()

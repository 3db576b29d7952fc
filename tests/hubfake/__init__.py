"""A local fake Hugging Face Hub for tests and benchmarks (a real HTTP server on 127.0.0.1).

    from tests.hubfake import FakeHub, fixture_models
    with FakeHub(fixture_models()) as hub:
        ...  # point settings.HF_ENDPOINT at hub.url

Standalone: `python -m tests.hubfake --port 8765 --models 10000`.
"""

from tests.hubfake.records import fake_sha, fixture_models, model_record, synthetic_models
from tests.hubfake.server import FakeHub, Fault

__all__ = ["FakeHub", "Fault", "fake_sha", "fixture_models", "model_record", "synthetic_models"]

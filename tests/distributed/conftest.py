"""One real Ray instance for the distributed tests (PostgreSQL databases and the in-process
CLI come from ``tests/conftest.py``).

Ray: one local instance for the whole session (start-up takes seconds), shut down at the
end; tunelab reuses a Ray session it finds running and leaves it running.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[Any]:
    """A local Ray instance on two CPUs, started once per test session."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()

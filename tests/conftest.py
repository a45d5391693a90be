"""Shared test setup: moto's fake credentials and quiet Powertools, before any handler module is imported."""

from __future__ import annotations

import os

from takedown.local.environment import LOCAL_PROCESS_ENV

for _key, _value in LOCAL_PROCESS_ENV.items():
    os.environ.setdefault(_key, _value)
# Nothing in the tests may reach a real AWS endpoint or a developer's profile.
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

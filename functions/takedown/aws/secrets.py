"""The review-link signing key, read from Secrets Manager and kept for the life of a warm container."""

from __future__ import annotations

import functools

from takedown.aws.clients import client


@functools.lru_cache(maxsize=4)
def link_key(secret_id: str) -> bytes:
    """The HMAC key for review links. Never logged."""
    if not secret_id:
        raise RuntimeError("no link key secret configured")
    value = client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    key = str(value).encode("utf-8")
    if len(key) < 32:
        raise RuntimeError("the link key secret is shorter than 32 bytes")
    return key

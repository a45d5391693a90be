"""Sources' credentials from Secrets Manager, kept for a few minutes per warm container.

A source names its secret in ``secret_ref``; the crawl worker's and the re-check function's roles may read exactly
those secrets (the stack grants ``secretsmanager:GetSecretValue`` on each one). The parsed credentials are cached so a crawl does not
call Secrets Manager per page, and re-read after ``ttl_seconds`` so a rotated secret takes effect.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from takedown.aws.clients import client
from takedown.crawl.source_credentials import SourceCredentials, SourceSecretError, parse_source_secret
from takedown.recipients.ttl_cache import TtlCache

if TYPE_CHECKING:
    from collections.abc import Callable


class SourceSecrets:
    """Reads and caches sources' secrets.

    Parameters
    ----------
    ttl_seconds
        How long a secret read is reused.
    clock
        Seconds, for the cache; injectable for tests.
    """

    def __init__(self, *, ttl_seconds: float = 600, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_seconds = ttl_seconds
        self._clock = clock
        self._cache: TtlCache[str, SourceCredentials] = TtlCache(ttl_seconds=ttl_seconds, clock=clock)

    def credentials(self, secret_ref: str) -> SourceCredentials:
        """The headers and cookies held by the secret ``secret_ref`` (a name or an ARN).

        Raises
        ------
        SourceSecretError
            ``secret:not-found`` when there is no such secret (or it has no string value), and the
            errors of :func:`~takedown.crawl.source_credentials.parse_source_secret`.
        botocore.exceptions.ClientError
            For any other Secrets Manager error (access denied, throttling): the message is retried.
        """
        cached = self._cache.get(secret_ref)
        if cached is not None:
            return cached
        try:
            answer = client("secretsmanager").get_secret_value(SecretId=secret_ref)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise SourceSecretError("secret:not-found", f"no secret named {secret_ref[:200]!r}") from None
            raise
        text = answer.get("SecretString")
        if not isinstance(text, str):
            raise SourceSecretError("secret:not-found", f"secret {secret_ref[:200]!r} has no string value")
        credentials = parse_source_secret(text)
        self._cache.put(secret_ref, credentials)
        return credentials

    def clear(self) -> None:
        """Forget every cached secret (a new deployment: a cold start)."""
        self._cache = TtlCache(ttl_seconds=self._ttl_seconds, clock=self._clock)

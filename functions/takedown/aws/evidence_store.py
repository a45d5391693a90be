"""The evidence bucket: crawled media under ``media/``, sighting records under ``sightings/``, reports under
``evidence/``. The only module that reads or writes S3 objects."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from takedown.aws.clients import client


def _retain_until(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


class EvidenceStore:
    """Objects in the evidence bucket."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put_bytes(
        self,
        key: str,
        body: bytes,
        content_type: str,
        metadata: dict[str, str] | None = None,
        *,
        retain_days: int = 0,
    ) -> str:
        """Store ``body`` and return its SHA-256 (also stored as the object's checksum).

        With ``retain_days``, the object is written under Object Lock (GOVERNANCE) until then: evidence.
        """
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "Metadata": metadata or {},
            "ChecksumAlgorithm": "SHA256",
        }
        if retain_days > 0:
            request["ObjectLockMode"] = "GOVERNANCE"
            request["ObjectLockRetainUntilDate"] = _retain_until(retain_days)
        client("s3").put_object(**request)
        return hashlib.sha256(body).hexdigest()

    def put_json(self, key: str, document: Any, *, retain_days: int = 0) -> str:
        body = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
        return self.put_bytes(key, body, "application/json", retain_days=retain_days)

    def retain(self, key: str, days: int) -> None:
        """Lock an existing object as evidence (Object Lock, GOVERNANCE) for ``days``; no-op for 0."""
        if days <= 0:
            return
        client("s3").put_object_retention(
            Bucket=self.bucket,
            Key=key,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _retain_until(days)},
        )

    def get_bytes(self, key: str, *, max_bytes: int | None = None) -> bytes:
        """Read an object; refuse one larger than ``max_bytes`` before downloading it."""
        s3 = client("s3")
        if max_bytes is not None:
            size = int(s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
            if size > max_bytes:
                raise ValueError(f"object {key} is {size} bytes, over the {max_bytes}-byte limit")
        body: bytes = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored (its current version is not deleted)."""
        try:
            client("s3").head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def delete(self, key: str) -> None:
        client("s3").delete_object(Bucket=self.bucket, Key=key)

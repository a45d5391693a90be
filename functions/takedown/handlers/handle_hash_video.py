"""S3 ObjectCreated on ``video/``: the same hashing and matching as ``handle_hash_media``, in the function that
carries the video layer (PyAV)."""

from __future__ import annotations

from takedown.handlers.handle_hash_media import handler

__all__ = ["handler"]

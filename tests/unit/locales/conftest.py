from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from takedown.config import templates_dir
from takedown.model import Recipient
from takedown.notices.drafting import NoticeFacts

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

# Every notice language we ship; the tests fail when a folder is missing or an unexpected one appears.
LOCALES = ["ko", "en", "zh-Hans", "zh-Hant", "ja", "ru", "vi", "th", "id", "es"]
JURISDICTIONS = ["KR", "US", "EU", "OTHER"]
ROLES = ["site", "youth-protection", "host", "registrar", "cdn", "platform", "source-contact", "unknown"]
CAPACITIES = ["designated_institution", "authorised_representative"]
# Strings a hostile page could carry in its URL: markup, template syntax, header injection, RTL override.
HOSTILE = "<script>alert(1)</script>{{ 7*7 }}{% raw %}\r\nBcc: attacker@evil.test\u202egnp.exe"
EVIDENCE_SHA256 = "3b1f0c7a9e2d4f6a8b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708"
MEDIA_SHA256 = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.fixture
def templates() -> Path:
    return templates_dir()


def build_facts(**overrides: Any) -> NoticeFacts:
    """Facts of a case on a synthetic site; keyword arguments override any field."""
    values: dict[str, Any] = {
        "case_id": "5d41402abc4b2a76b9719d911017c592",
        "centre_name": "Seoul Digital Sex Crime Victim Support Centre",
        "centre_email": "takedown-desk@support-centre.example",
        "sender_capacity_key": "designated_institution",
        "page_url": "https://board.site.example/gallery/view?id=8812",
        "media_urls": [
            "https://cdn.site.example/u/2026/11/a81f.jpg",
            "https://cdn.site.example/u/2026/11/a81f-thumb.jpg",
        ],
        "observed_at": "2026-11-28T07:25:13.482000Z",
        "evidence_key": "evidence/5d41402abc4b2a76b9719d911017c592/report.html",
        "evidence_sha256": EVIDENCE_SHA256,
        "media_sha256": MEDIA_SHA256,
        "recipient": Recipient(
            address="abuse@site.example",
            role="site",
            found_at="mailto link on https://board.site.example/contact",
            confidence=0.9,
        ),
        "jurisdiction": "KR",
        "deadline_hours": 24,
    }
    values.update(overrides)
    return NoticeFacts(**values)


@pytest.fixture
def make_facts() -> Callable[..., NoticeFacts]:
    return build_facts

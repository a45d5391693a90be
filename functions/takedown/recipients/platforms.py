"""The platform registry: known platforms' own abuse channels, looked up by the host a page is on.

A page on a large platform (a video site, a forum host, a blog host) is best reported through the
platform's own abuse desk, which often takes reports by web form only. The registry is a JSON file
(``config/platforms.json``)::

    {
      "schema": "takedown-platforms/1",
      "platforms": [
        {
          "name": "Example Video",                      # required, shown to reviewers
          "domains": ["video.example", "vid.example"],  # required; subdomains match too
          "abuse_email": "abuse@video.example",         # abuse_email and/or form_url required
          "form_url": "https://video.example/report",   # https only
          "language": "en",                             # optional BCP 47 tag: the language to write in
          "country": "US",                              # optional ISO 3166-1 alpha-2
          "notes": "Quote the video id."                # optional, shown to reviewers
        }
      ]
    }

A host matches the entry with the longest domain that equals it or that it is a subdomain of
(``m.video.example`` -> ``video.example``). Every field is validated on load; an unknown field is an
error, so a misspelt ``abuse_emial`` cannot silently drop a channel.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from takedown.crawl.urls import UrlError, canonicalize_url
from takedown.model import Recipient
from takedown.recipients.contact_form import ContactForm
from takedown.recipients.domains import (
    HostNameError,
    is_ip_address,
    is_public_suffix,
    normalise_host,
    parent_domains,
)
from takedown.recipients.resolve import InvalidAddress, validate_address

if TYPE_CHECKING:
    from collections.abc import Iterable

SCHEMA: Final = "takedown-platforms/1"
PLATFORM_CONFIDENCE: Final = 0.95  # the platform's own published abuse channel
# The registry shipped with the code, for the CLI and tests; a deployment names its own file.
CHECKOUT_REGISTRY_FILE: Final = Path(__file__).resolve().parents[3] / "config" / "platforms.json"

_ENTRY_FIELDS: Final = frozenset(
    {"name", "domains", "abuse_email", "form_url", "language", "country", "notes"}
)
_LANGUAGE: Final = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_COUNTRY: Final = re.compile(r"^[A-Z]{2}$")
_MAX_NAME: Final = 100
_MAX_NOTES: Final = 1000


class PlatformRegistryError(ValueError):
    """The registry file is unreadable or an entry is invalid; the message says where and why."""


@dataclass(frozen=True)
class PlatformEntry:
    """One platform and its abuse channels."""

    name: str
    domains: tuple[str, ...]
    abuse_email: str = ""
    form_url: str = ""
    language: str = ""
    country: str = ""
    notes: str = ""


@dataclass(frozen=True)
class PlatformMatch:
    """A registry entry matched for a host, and which of its domains matched."""

    entry: PlatformEntry
    host: str
    domain: str

    def channels(self) -> tuple[list[Recipient], list[ContactForm]]:
        """The entry's e-mail address as a ``platform`` recipient and its form as a contact form."""
        where = f"platform registry entry {self.entry.name!r} (domain {self.domain}, page host {self.host})"
        recipients = []
        if self.entry.abuse_email:
            recipients.append(
                Recipient(
                    address=self.entry.abuse_email,
                    role="platform",
                    found_at=where,
                    confidence=PLATFORM_CONFIDENCE,
                    country=self.entry.country,
                    language=self.entry.language,
                )
            )
        forms = [ContactForm(self.entry.form_url, "platform", where)] if self.entry.form_url else []
        return recipients, forms


class PlatformRegistry:
    """Registry entries indexed by domain.

    Examples
    --------
    >>> registry = PlatformRegistry.from_document({"schema": SCHEMA, "platforms": [
    ...     {"name": "Example Video", "domains": ["video.example"], "abuse_email": "abuse@video.example"}]})
    >>> registry.match("m.video.example").entry.name, registry.match("othervideo.example")
    ('Example Video', None)
    """

    def __init__(self, entries: Iterable[PlatformEntry]) -> None:
        self.entries = tuple(entries)
        self._by_domain: dict[str, PlatformEntry] = {}
        for entry in self.entries:
            for domain in entry.domains:
                other = self._by_domain.setdefault(domain, entry)
                if other is not entry:
                    raise PlatformRegistryError(
                        f"domain {domain!r} is listed for both {other.name!r} and {entry.name!r}"
                    )

    @classmethod
    def from_document(cls, document: object, *, source: str = "platform registry") -> PlatformRegistry:
        """Validate a parsed registry document; raises :class:`PlatformRegistryError`."""
        if not isinstance(document, dict):
            raise PlatformRegistryError(f"{source}: the document is not a JSON object")
        unknown = set(document) - {"schema", "description", "platforms"}
        if unknown:
            raise PlatformRegistryError(f"{source}: unknown top-level fields {sorted(unknown)}")
        if document.get("schema") != SCHEMA:
            raise PlatformRegistryError(f"{source}: 'schema' must be {SCHEMA!r}")
        platforms = document.get("platforms")
        if not isinstance(platforms, list):
            raise PlatformRegistryError(f"{source}: 'platforms' must be a list")
        entries = [_entry(item, f"{source}: platforms[{index}]") for index, item in enumerate(platforms)]
        try:
            return cls(entries)
        except PlatformRegistryError as error:
            raise PlatformRegistryError(f"{source}: {error}") from error

    def match(self, host: str) -> PlatformMatch | None:
        """The entry for ``host`` or the nearest domain above it, or None (also for invalid hosts)."""
        try:
            candidates = parent_domains(host)
        except HostNameError:
            return None
        for domain in candidates:
            entry = self._by_domain.get(domain)
            if entry is not None:
                return PlatformMatch(entry=entry, host=candidates[0], domain=domain)
        return None

    def __len__(self) -> int:
        return len(self.entries)


def load_platform_registry(path: Path = CHECKOUT_REGISTRY_FILE) -> PlatformRegistry:
    """Read and validate a registry file.

    Raises
    ------
    PlatformRegistryError
        When the file cannot be read, is not JSON, or any entry is invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlatformRegistryError(f"{path}: cannot read the registry ({error})") from error
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PlatformRegistryError(f"{path}: not valid JSON ({error})") from error
    return PlatformRegistry.from_document(document, source=str(path))


def _entry(item: object, where: str) -> PlatformEntry:
    if not isinstance(item, dict):
        raise PlatformRegistryError(f"{where}: an entry must be a JSON object")
    unknown = set(item) - _ENTRY_FIELDS
    if unknown:
        raise PlatformRegistryError(f"{where}: unknown fields {sorted(unknown)}")
    name = _string(item, "name", where).strip()
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise PlatformRegistryError(
            f"{where}.name: required, one printable line of at most {_MAX_NAME} characters"
        )
    entry = PlatformEntry(
        name=name,
        domains=_domains(item.get("domains"), f"{where}.domains"),
        abuse_email=_abuse_email(item, where),
        form_url=_form_url(item, where),
        language=_matching(item, "language", _LANGUAGE, where, "a BCP 47 tag such as 'ko' or 'zh-Hant'"),
        country=_matching(item, "country", _COUNTRY, where, "an ISO 3166-1 alpha-2 code such as 'KR'"),
        notes=_string(item, "notes", where),
    )
    if not (entry.abuse_email or entry.form_url):
        raise PlatformRegistryError(f"{where}: needs 'abuse_email' or 'form_url'")
    if len(entry.notes) > _MAX_NOTES:
        raise PlatformRegistryError(f"{where}.notes: longer than {_MAX_NOTES} characters")
    return entry


def _string(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        raise PlatformRegistryError(f"{where}.{key}: must be a string")
    return value


def _domains(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise PlatformRegistryError(f"{where}: must be a non-empty list of domain names")
    domains: list[str] = []
    for index, raw in enumerate(value):
        if not isinstance(raw, str):
            raise PlatformRegistryError(f"{where}[{index}]: must be a string")
        try:
            domain = normalise_host(raw)
        except HostNameError as error:
            raise PlatformRegistryError(f"{where}[{index}]: {error}") from error
        if is_ip_address(domain) or "." not in domain or is_public_suffix(domain):
            # A bare TLD or a public suffix would claim every site under it.
            raise PlatformRegistryError(f"{where}[{index}]: {domain!r} is not a registrable domain name")
        if domain in domains:
            raise PlatformRegistryError(f"{where}[{index}]: {domain!r} is listed twice")
        domains.append(domain)
    return tuple(domains)


def _abuse_email(item: dict[str, Any], where: str) -> str:
    raw = _string(item, "abuse_email", where)
    if not raw:
        return ""
    try:
        return validate_address(raw)
    except InvalidAddress as error:
        raise PlatformRegistryError(f"{where}.abuse_email: {error}") from error


def _form_url(item: dict[str, Any], where: str) -> str:
    raw = _string(item, "form_url", where)
    if not raw:
        return ""
    try:
        url = canonicalize_url(raw)
    except UrlError as error:
        raise PlatformRegistryError(f"{where}.form_url: {error}") from error
    if not url.startswith("https://"):
        raise PlatformRegistryError(f"{where}.form_url: must be an https URL")
    return url


def _matching(item: dict[str, Any], key: str, pattern: re.Pattern[str], where: str, expected: str) -> str:
    value = _string(item, key, where)
    if value and not pattern.match(value):
        raise PlatformRegistryError(f"{where}.{key}: {value[:40]!r} is not {expected}")
    return value

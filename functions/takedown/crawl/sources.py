"""Crawl sources are data, not code: a versioned JSON file checked strictly on load.

A file looks like::

    {"version": 1, "sources": [
        {"id": "example-board", "kind": "community",
         "seeds": ["https://board.example/new"], "allowed_hosts": ["board.example"],
         "depth": 1, "page_budget": 100, "country": "KR", "language": "ko"}
    ]}

Every rule failure raises :class:`SourceError` naming the source (index and id) and the field, so an
operator can fix the file without reading code. Secrets never live here: a source names a Secrets
Manager secret in ``secret_ref``, and keys such as ``headers``, ``cookies`` or ``password`` are refused.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from takedown.crawl.email_addresses import is_plausible_email
from takedown.crawl.urls import UrlError, canonicalize_url, host_of

SOURCES_FILE_VERSION = 1
SOURCE_KINDS = ("sns", "community", "illicit", "darkweb")

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
# Well-formed BCP 47: language, optional script, optional region, optional variants.
_BCP47 = re.compile(
    r"[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
)
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@:-]{1,2048}")
# ISO 3166-1 alpha-2, officially assigned codes.
_ISO_COUNTRY_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
    BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
    FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
    IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
    PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE
    YT ZA ZM ZW
"""
_ISO_COUNTRIES = frozenset(_ISO_COUNTRY_CODES.split())
# Keys that would put a credential into the file; named so the error can say where it belongs instead.
_INLINE_SECRET_KEYS = frozenset(
    {
        "headers",
        "header",
        "cookies",
        "cookie",
        "password",
        "passwd",
        "token",
        "api_key",
        "apikey",
        "authorization",
        "auth",
        "secret",
        "secrets",
        "credentials",
        "bearer",
    }
)


class SourceError(ValueError):
    """A sources file, or one source in it, breaks a rule.

    Attributes
    ----------
    index
        The position of the source in the file's list, or None for file-level errors.
    source_id
        The source's id when known, else "".
    field
        The offending field, or "" for errors about the whole file or entry.
    """

    def __init__(
        self, message: str, *, index: int | None = None, source_id: str = "", field: str = ""
    ) -> None:
        self.index = index
        self.source_id = source_id
        self.field = field
        where = []
        if index is not None:
            where.append(f"sources[{index}]")
        if source_id:
            where.append(f"(id {source_id!r})")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{' '.join(where)}: {message}" if where else message)


@dataclass(frozen=True)
class Source:
    """One place to crawl, with its limits and who to contact there.

    ``allow_private_addresses`` lets the crawler reach loopback/private addresses; only tests and the
    local demo set it. ``proxy`` is "" or ``socks5h://host:port`` (required for ``.onion`` hosts: the
    proxy resolves names, so they never touch local DNS).
    """

    id: str
    kind: str
    seeds: list[str]
    allowed_hosts: list[str]
    depth: int = 1
    page_budget: int = 100
    interval_minutes: int = 60
    country: str = ""
    language: str = ""
    requests_per_second: float = 1.0
    proxy: str = ""
    contact: str = ""
    secret_ref: str = ""
    allow_private_addresses: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The source as it would be written in a sources file."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> Source:
        """Validate one source entry; raises :class:`SourceError` naming the field."""
        return _parse_source(data, index=None)


_FIELD_NAMES = tuple(f.name for f in fields(Source))
_REQUIRED = ("id", "kind", "seeds", "allowed_hosts")


class _Checker:
    """Helpers that raise a :class:`SourceError` located at one source entry."""

    def __init__(self, index: int | None, source_id: str) -> None:
        self.index = index
        self.source_id = source_id

    def fail(self, name: str, message: str) -> SourceError:
        return SourceError(message, index=self.index, source_id=self.source_id, field=name)

    def string(self, name: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.fail(name, f"must be a string, got {type(value).__name__}")
        return value

    def integer(self, name: str, value: object, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"must be an integer, got {type(value).__name__}")
        if value < minimum:
            raise self.fail(name, f"must be >= {minimum}, got {value}")
        return value

    def string_list(self, name: str, value: object) -> list[str]:
        if not isinstance(value, list) or not value:
            raise self.fail(name, "must be a non-empty list of strings")
        return [self.string(f"{name}[{position}]", item) for position, item in enumerate(value)]


def _check_hosts(check: _Checker, value: object) -> list[str]:
    hosts: list[str] = []
    for position, raw in enumerate(check.string_list("allowed_hosts", value)):
        name = f"allowed_hosts[{position}]"
        is_ipv6_literal = raw.startswith("[")
        if not raw or (not is_ipv6_literal and any(char in raw for char in "/:@?#")):
            raise check.fail(name, f"must be a bare host name like 'board.example', got {raw!r}")
        try:
            host = host_of(f"http://{raw}/")
        except UrlError as error:
            raise check.fail(name, f"is not a valid host ({error})") from error
        if host not in hosts:
            hosts.append(host)
    return hosts


def _check_seeds(check: _Checker, value: object, allowed_hosts: list[str]) -> list[str]:
    seeds: list[str] = []
    for position, raw in enumerate(check.string_list("seeds", value)):
        name = f"seeds[{position}]"
        try:
            seed = canonicalize_url(raw)
        except UrlError as error:
            raise check.fail(name, f"must be an absolute http(s) URL ({error})") from error
        if host_of(seed) not in allowed_hosts:
            raise check.fail(name, f"host {host_of(seed)!r} is not in allowed_hosts {allowed_hosts}")
        if seed not in seeds:
            seeds.append(seed)
    return seeds


def _check_proxy(check: _Checker, value: object) -> str:
    proxy = check.string("proxy", value)
    if not proxy:
        return ""
    parts = urlsplit(proxy)
    if parts.username or parts.password:
        raise check.fail("proxy", "must not carry credentials; a proxy password belongs in Secrets Manager")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "socks5h" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise check.fail(
            "proxy",
            f"must be '' or 'socks5h://host:port' (socks5h: the proxy resolves names), got {proxy!r}",
        )
    return proxy


def _check_rate(check: _Checker, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise check.fail("requests_per_second", f"must be a number, got {type(value).__name__}")
    rate = float(value)
    if not math.isfinite(rate) or rate <= 0:
        raise check.fail("requests_per_second", f"must be a finite number > 0, got {value}")
    return rate


def _check_optional_strings(check: _Checker, entry: dict[str, Any]) -> dict[str, str]:
    country = check.string("country", entry.get("country", "")).upper()
    if country and country not in _ISO_COUNTRIES:
        raise check.fail("country", f"must be an ISO 3166-1 alpha-2 code like 'KR' or '', got {country!r}")
    language = check.string("language", entry.get("language", ""))
    if language and not _BCP47.fullmatch(language):
        raise check.fail("language", f"must be a BCP 47 tag like 'ko' or 'pt-BR' or '', got {language!r}")
    contact = check.string("contact", entry.get("contact", "")).strip().lower()
    if contact and not is_plausible_email(contact):
        raise check.fail("contact", f"must be an e-mail address or '', got {contact!r}")
    secret_ref = check.string("secret_ref", entry.get("secret_ref", ""))
    if secret_ref and not _SECRET_NAME.fullmatch(secret_ref):
        raise check.fail("secret_ref", "must be a Secrets Manager secret name or ARN")
    return {"country": country, "language": language, "contact": contact, "secret_ref": secret_ref}


def _check_keys(check: _Checker, entry: dict[str, Any]) -> None:
    for key in entry:
        if not isinstance(key, str):
            raise check.fail(str(key), "keys must be strings")
        if key.lower() in _INLINE_SECRET_KEYS:
            raise check.fail(
                key,
                "inline secrets are not allowed; store them in Secrets Manager and name it in 'secret_ref'",
            )
    unknown = sorted(set(entry) - set(_FIELD_NAMES))
    if unknown:
        raise check.fail(unknown[0], f"unknown field (known fields: {', '.join(_FIELD_NAMES)})")
    missing = [name for name in _REQUIRED if name not in entry]
    if missing:
        raise check.fail(missing[0], "is required")


def _parse_source(data: object, index: int | None) -> Source:
    if not isinstance(data, dict):
        raise SourceError(f"a source must be a JSON object, got {type(data).__name__}", index=index)
    raw_id = data.get("id")
    check = _Checker(index, raw_id if isinstance(raw_id, str) else "")
    _check_keys(check, data)
    source_id = check.string("id", data["id"])
    if not _SLUG.fullmatch(source_id):
        raise check.fail("id", "must be a slug: lowercase letters, digits and '-', 1-64 characters")
    kind = check.string("kind", data["kind"])
    if kind not in SOURCE_KINDS:
        raise check.fail("kind", f"must be one of {', '.join(SOURCE_KINDS)}, got {kind!r}")
    allowed_hosts = _check_hosts(check, data["allowed_hosts"])
    seeds = _check_seeds(check, data["seeds"], allowed_hosts)
    proxy = _check_proxy(check, data.get("proxy", ""))
    onion_hosts = [host for host in allowed_hosts if host.endswith(".onion")]
    if onion_hosts and not proxy:
        raise check.fail("proxy", f".onion hosts {onion_hosts} need a 'socks5h://host:port' proxy")
    allow_private = data.get("allow_private_addresses", False)
    if not isinstance(allow_private, bool):
        raise check.fail("allow_private_addresses", "must be true or false")
    return Source(
        id=source_id,
        kind=kind,
        seeds=seeds,
        allowed_hosts=allowed_hosts,
        depth=check.integer("depth", data.get("depth", 1), 0),
        page_budget=check.integer("page_budget", data.get("page_budget", 100), 1),
        interval_minutes=check.integer("interval_minutes", data.get("interval_minutes", 60), 1),
        requests_per_second=_check_rate(check, data.get("requests_per_second", 1.0)),
        proxy=proxy,
        allow_private_addresses=allow_private,
        **_check_optional_strings(check, data),
    )


def parse_sources(data: object) -> list[Source]:
    """Validate a decoded sources document.

    Parameters
    ----------
    data
        The decoded JSON: ``{"version": 1, "sources": [...]}``.

    Returns
    -------
    list[Source]
        The sources in file order.

    Raises
    ------
    SourceError
        For a wrong version, unknown keys, a duplicate id or any field rule; the message names the
        source's index and id and the field.

    Examples
    --------
    >>> [s.id for s in parse_sources({"version": 1, "sources": [
    ...     {"id": "demo", "kind": "community", "seeds": ["https://board.example/"],
    ...      "allowed_hosts": ["board.example"]}]})]
    ['demo']
    """
    if not isinstance(data, dict):
        raise SourceError(f"a sources file must be a JSON object, got {type(data).__name__}")
    unknown = sorted(str(key) for key in set(data) - {"version", "sources"})
    if unknown:
        raise SourceError(f"unknown top-level field {unknown[0]!r} (expected 'version' and 'sources')")
    if data.get("version") != SOURCES_FILE_VERSION:
        raise SourceError(f"'version' must be {SOURCES_FILE_VERSION}, got {data.get('version')!r}")
    entries = data.get("sources")
    if not isinstance(entries, list):
        raise SourceError("'sources' must be a list")
    sources: list[Source] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        source = _parse_source(entry, index)
        if source.id in first_index:
            raise SourceError(
                f"duplicate id; sources[{first_index[source.id]}] already uses it",
                index=index,
                source_id=source.id,
                field="id",
            )
        first_index[source.id] = index
        sources.append(source)
    return sources


def load_sources(path: str | Path) -> list[Source]:
    """Read and validate a sources JSON file (see :func:`parse_sources`)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError(f"{file}: cannot read the sources file ({error})") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceError(
            f"{file}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    return parse_sources(data)

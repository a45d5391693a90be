"""Read RDAP answers (RFC 9083 JSON) into the few facts recipient discovery needs.

An IP network answer names the network (handle, name, country, range) and carries entities; the one with
the role ``abuse`` - often nested inside the registrant organisation, as ARIN does - is who handles abuse
for the addresses. A domain answer from a gTLD registry carries the sponsoring registrar as an entity with
the role ``registrar``, and, as the ICANN RDAP profile requires, that registrar's abuse contact as an entity
with the role ``abuse`` nested inside it.

Answers come from servers we do not control and may be malformed or hostile. Structure we cannot read
raises :class:`RdapError`; a single unreadable entity, vCard or e-mail is skipped and described in
``problems``; the walk over nested entities and vCard properties is bounded; every string kept is
stripped of control characters and shortened.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from takedown.recipients.resolve import InvalidAddress, validate_address

MAX_ENTITIES: Final = 100  # entities read from one answer, nested ones included
MAX_DEPTH: Final = 6  # entity nesting read (real answers nest two or three deep)
MAX_VCARD_PROPERTIES: Final = 200  # properties read from one vCard
MAX_PROBLEMS: Final = 20
_MAX_TEXT: Final = 120
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_COUNTRY: Final = re.compile(r"^[A-Za-z]{2}$")


class RdapError(Exception):
    """An RDAP lookup gave no usable answer.

    Attributes
    ----------
    query
        The IP address or domain asked about.
    reason
        A short code: ``rdap:bad-query``, ``rdap:no-server``, ``rdap:not-found``, ``rdap:status:<n>``,
        ``rdap:not-json``, ``rdap:malformed``, ``rdap:mismatch``, ``rdap:fetch:<fetch reason>``.
    message
        A sentence for people (server-provided text appears only quoted and shortened).
    """

    def __init__(self, query: str, reason: str, message: str) -> None:
        self.query = query
        self.reason = reason
        self.message = message
        super().__init__(f"RDAP lookup of {query[:_MAX_TEXT]!r} failed: {message} [{reason}]")


class RdapNotFound(RdapError):
    """No RDAP server asked knows the IP address or domain (every one answered 404)."""


@dataclass(frozen=True)
class RdapContact:
    """An e-mail address found in an entity's vCard, and which entity it came from.

    ``role_path`` lists the roles from the outermost entity down to this one, e.g.
    ``("registrar", "abuse")``.
    """

    email: str
    entity_handle: str
    entity_name: str
    role_path: tuple[str, ...]


@dataclass(frozen=True)
class IpNetwork:
    """The network registered for an IP address, with its abuse contacts."""

    address: str
    handle: str
    name: str
    country: str
    start_address: str
    end_address: str
    abuse_contacts: tuple[RdapContact, ...]
    organisations: tuple[str, ...]  # handles and names of every entity, for recognising a CDN
    source_url: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainRegistration:
    """A registered domain's sponsoring registrar and that registrar's abuse contacts."""

    domain: str
    registrar_name: str
    registrar_iana_id: str
    abuse_contacts: tuple[RdapContact, ...]
    source_url: str
    problems: tuple[str, ...] = ()


def clean_text(value: object, limit: int = _MAX_TEXT) -> str:
    """A server-provided string made safe for notes and provenance: one line, no control characters,
    at most ``limit`` characters; anything that is not a string becomes "".

    >>> clean_text("EXAMPLE-NET\\r\\nBcc: x")
    'EXAMPLE-NET Bcc: x'
    """
    if not isinstance(value, str):
        return ""
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


def load_rdap_object(body: bytes, *, query: str, expected_class: str) -> dict[str, Any]:
    """Decode an RDAP answer and check it is an object of ``expected_class`` ("ip network", "domain").

    Raises :class:`RdapError` (``rdap:not-json`` or ``rdap:malformed``).
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        # RecursionError: a few thousand nested brackets are enough to exhaust the decoder's stack.
        raise RdapError(query, "rdap:not-json", f"the answer is not JSON ({type(error).__name__})") from error
    if not isinstance(document, dict):
        raise RdapError(query, "rdap:malformed", "the answer is not a JSON object")
    found_class = document.get("objectClassName")
    if not isinstance(found_class, str) or found_class.strip().lower() != expected_class:
        raise RdapError(
            query,
            "rdap:malformed",
            f"objectClassName is {clean_text(found_class, 40)!r}, expected {expected_class!r}",
        )
    return document


class _EntityWalk:
    """Visits an answer's entities, nested ones included, within the bounds; collects what it finds."""

    def __init__(self) -> None:
        self.contacts: list[RdapContact] = []
        self.organisations: list[str] = []
        self.problems: list[str] = []
        self.top_level: list[tuple[dict[str, Any], tuple[str, ...]]] = []

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def walk(self, owner: dict[str, Any]) -> None:
        pending: list[tuple[Any, tuple[str, ...], int]] = [
            (entity, (), 1) for entity in reversed(_entity_list(owner, self))
        ]
        visited = 0
        while pending:
            entity, parent_roles, depth = pending.pop()
            if visited >= MAX_ENTITIES:
                self.problem(f"stopped reading after {MAX_ENTITIES} entities")
                return
            visited += 1
            if not isinstance(entity, dict):
                self.problem("an entity is not a JSON object")
                continue
            roles = _roles(entity, self)
            path = (*parent_roles, *roles[:1]) if roles else parent_roles
            if depth == 1:
                self.top_level.append((entity, tuple(roles)))
            self._read_entity(entity, roles, path)
            if depth < MAX_DEPTH:
                pending.extend((child, path, depth + 1) for child in reversed(_entity_list(entity, self)))
            elif entity.get("entities"):
                self.problem(f"entities nested deeper than {MAX_DEPTH} levels were not read")

    def _read_entity(self, entity: dict[str, Any], roles: list[str], path: tuple[str, ...]) -> None:
        handle = clean_text(entity.get("handle"))
        properties = _vcard_properties(entity, handle, self)
        name = _first_text(properties, "fn")
        self.organisations.extend(text for text in (handle, name) if text)
        if "abuse" not in roles:
            return
        abuse_path = path if path and path[-1] == "abuse" else (*path, "abuse")
        emails = _emails(properties, handle, self)
        if not emails:
            self.problem(f"abuse entity {handle or name or '(no handle)'!r} has no usable e-mail address")
        self.contacts.extend(RdapContact(email, handle, name, abuse_path) for email in emails)


def _entity_list(owner: dict[str, Any], walk: _EntityWalk) -> list[Any]:
    entities = owner.get("entities", [])
    if isinstance(entities, list):
        return entities
    walk.problem("'entities' is not a list")
    return []


def _roles(entity: dict[str, Any], walk: _EntityWalk) -> list[str]:
    roles = entity.get("roles", [])
    if not isinstance(roles, list):
        walk.problem("an entity's 'roles' is not a list")
        return []
    return [role.strip().lower() for role in roles if isinstance(role, str)]


def _vcard_properties(entity: dict[str, Any], handle: str, walk: _EntityWalk) -> list[list[Any]]:
    """The properties of ``vcardArray`` (jCard, RFC 7095): ``["vcard", [[name, params, type, value], ...]]``."""
    card = entity.get("vcardArray")
    if card is None:
        return []
    if not (isinstance(card, list) and len(card) == 2 and card[0] == "vcard" and isinstance(card[1], list)):
        walk.problem(f"entity {handle!r} has a malformed vcardArray")
        return []
    raw = card[1]
    if len(raw) > MAX_VCARD_PROPERTIES:
        walk.problem(
            f"entity {handle!r}: only the first {MAX_VCARD_PROPERTIES} of {len(raw)} vCard properties read"
        )
        raw = raw[:MAX_VCARD_PROPERTIES]
    properties = [
        item for item in raw if isinstance(item, list) and len(item) >= 4 and isinstance(item[0], str)
    ]
    if len(properties) != len(raw):
        walk.problem(f"entity {handle!r}: {len(raw) - len(properties)} malformed vCard properties skipped")
    return properties


def _first_text(properties: list[list[Any]], name: str) -> str:
    return next(
        (clean_text(item[3]) for item in properties if item[0].lower() == name and clean_text(item[3])), ""
    )


def _emails(properties: list[list[Any]], handle: str, walk: _EntityWalk) -> list[str]:
    emails: list[str] = []
    for item in properties:
        if item[0].lower() != "email":
            continue
        value = item[3]
        if not isinstance(value, str):
            walk.problem(f"entity {handle!r}: an e-mail value is not a string")
            continue
        text = value.strip()
        if text.lower().startswith("mailto:"):
            text = text[len("mailto:") :]
        try:
            address = validate_address(text)
        except InvalidAddress as error:
            walk.problem(f"entity {handle!r}: e-mail refused ({error})")
            continue
        if address not in emails:
            emails.append(address)
    return emails


def parse_ip_network(body: bytes, *, address: str, source_url: str) -> IpNetwork:
    """Read an ``ip network`` answer for ``address``.

    Raises
    ------
    RdapError
        ``rdap:not-json``, ``rdap:malformed``, or ``rdap:mismatch`` when the network's range does not
        contain ``address``.

    Examples
    --------
    >>> answer = b'''{"objectClassName": "ip network", "handle": "NET-1", "country": "kr",
    ...   "entities": [{"roles": ["abuse"], "handle": "AB-1",
    ...                 "vcardArray": ["vcard", [["email", {}, "text", "abuse@net.example"]]]}]}'''
    >>> network = parse_ip_network(answer, address="192.0.2.1", source_url="https://rdap.example/ip/192.0.2.1")
    >>> network.country, [c.email for c in network.abuse_contacts]
    ('KR', ['abuse@net.example'])
    """
    document = load_rdap_object(body, query=address, expected_class="ip network")
    start, end = clean_text(document.get("startAddress"), 45), clean_text(document.get("endAddress"), 45)
    _check_range(address, start, end)
    walk = _EntityWalk()
    walk.walk(document)
    country = clean_text(document.get("country"), 2)
    network_names = [clean_text(document.get(key)) for key in ("handle", "name", "parentHandle")]
    return IpNetwork(
        address=address,
        handle=clean_text(document.get("handle")),
        name=clean_text(document.get("name")),
        country=country.upper() if _COUNTRY.match(country) else "",
        start_address=start,
        end_address=end,
        abuse_contacts=tuple(walk.contacts),
        organisations=tuple(dict.fromkeys(name for name in [*network_names, *walk.organisations] if name)),
        source_url=source_url,
        problems=tuple(walk.problems),
    )


def _check_range(address: str, start: str, end: str) -> None:
    if not (start and end):
        return
    try:
        asked, first, last = (ipaddress.ip_address(text) for text in (address, start, end))
        inside = first.version == asked.version == last.version and first <= asked <= last  # type: ignore[operator]
    except ValueError as error:
        raise RdapError(address, "rdap:malformed", "startAddress/endAddress are not IP addresses") from error
    if not inside:
        raise RdapError(address, "rdap:mismatch", f"the answer is for the range {start} - {end}")


def parse_domain(body: bytes, *, domain: str, source_url: str) -> DomainRegistration:
    """Read a ``domain`` answer for ``domain``: its registrar and the registrar's abuse contacts.

    Abuse contacts nested in the registrar entity come first; an abuse entity at the top level (some
    country-code registries put one there) is kept too.

    Raises
    ------
    RdapError
        ``rdap:not-json``, ``rdap:malformed``, or ``rdap:mismatch`` when ``ldhName`` is another domain.
    """
    document = load_rdap_object(body, query=domain, expected_class="domain")
    answered = clean_text(document.get("ldhName"), 253).lower().rstrip(".")
    if answered and answered != domain.lower():
        raise RdapError(domain, "rdap:mismatch", f"the answer is for the domain {answered!r}")
    walk = _EntityWalk()
    walk.walk(document)
    registrar_name, registrar_id = "", ""
    for entity, roles in walk.top_level:
        if "registrar" in roles:
            registrar_name = _first_text(_vcard_properties(entity, "", _EntityWalk()), "fn")
            registrar_id = _iana_registrar_id(entity)
            break
    else:
        walk.problem("the answer names no registrar entity")
    contacts = sorted(
        (c for c in walk.contacts if "registrar" in c.role_path or c.role_path == ("abuse",)),
        key=lambda contact: "registrar" not in contact.role_path,
    )
    return DomainRegistration(
        domain=domain,
        registrar_name=registrar_name,
        registrar_iana_id=registrar_id,
        abuse_contacts=tuple(contacts),
        source_url=source_url,
        problems=tuple(walk.problems),
    )


def _iana_registrar_id(entity: dict[str, Any]) -> str:
    public_ids = entity.get("publicIds", [])
    if not isinstance(public_ids, list):
        return ""
    for item in public_ids:
        if isinstance(item, dict) and clean_text(item.get("type")).lower() == "iana registrar id":
            return clean_text(item.get("identifier"), 20)
    return ""

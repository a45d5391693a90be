"""The deployment settings a cloud team edits: ``config/deployment.json``.

Nothing account-specific lives in the CDK code; every value that differs between deployments comes from
this file, and :meth:`DeploymentConfig.load` refuses a file with an unknown key, a missing key, a value of
the wrong type, a malformed email address or a schedule expression EventBridge would reject, naming the key
and the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Literal, cast

RemovalPolicyName = Literal["retain", "destroy"]
FollowUpPolicyName = Literal["review", "auto-same-recipient"]
FOLLOW_UP_POLICIES: tuple[str, ...] = ("review", "auto-same-recipient")
# Re-check and follow-up intervals: at most 30 days.
MAX_FOLLOW_UP_HOURS = 30 * 24
REMOVAL_POLICIES: tuple[str, ...] = ("retain", "destroy")

# The state machine's own timeout; the approval wait must end well inside it so the expiry branch can run.
STATE_MACHINE_TIMEOUT_HOURS = 30 * 24
MAX_APPROVAL_TIMEOUT_HOURS = STATE_MACHINE_TIMEOUT_HOURS - 24
# S3 Object Lock accepts a default retention of at most 100 years.
MAX_RETENTION_DAYS = 36_500
DEFAULT_REVIEW_REMINDER_HOURS = 12
# pHash is 64 bits, so no Hamming distance is larger.
MAX_PHASH_DISTANCE = 64

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^()]+)\)$")
_CRON_FIELD_COUNT = 6


class DeploymentConfigError(ValueError):
    """The deployment file is unusable; the message names the file, the key and the reason."""


def _fail(path: Path, key: str, reason: str) -> DeploymentConfigError:
    return DeploymentConfigError(f"{path}: {key}: {reason}")


def is_email_address(value: str) -> bool:
    """Tell whether ``value`` is a plain ``local@domain.tld`` address (no display name, no spaces).

    >>> is_email_address("desk@example.org"), is_email_address("Desk <desk@example.org>")
    (True, False)
    """
    return len(value) <= 254 and _EMAIL.fullmatch(value) is not None


def schedule_expression_problem(expression: str) -> str | None:
    """Return why EventBridge would reject ``expression``, or None when it is a valid recurring schedule.

    Accepts ``rate(<n> <unit>)`` (singular unit for 1, plural otherwise, as EventBridge requires) and
    ``cron(<6 fields>)``.

    >>> schedule_expression_problem("rate(1 hour)") is None
    True
    >>> schedule_expression_problem("rate(1 hours)")
    "rate(1 ...) takes a singular unit: 'hour', not 'hours'"
    """
    rate = _RATE.fullmatch(expression)
    if rate:
        return _rate_problem(int(rate["value"]), rate["unit"])
    cron = _CRON.fullmatch(expression)
    if cron:
        count = len(cron["fields"].split())
        if count != _CRON_FIELD_COUNT:
            return (
                f"cron(...) needs 6 fields (minutes hours day-of-month month day-of-week year), got {count}"
            )
        return None
    return "expected 'rate(<n> <unit>)' or 'cron(<6 fields>)'"


def _rate_problem(value: int, unit: str) -> str | None:
    singular = unit.rstrip("s")
    if value < 1:
        return "a rate must be at least 1"
    if value == 1 and unit != singular:
        return f"rate(1 ...) takes a singular unit: {singular!r}, not {unit!r}"
    if value > 1 and unit == singular:
        return f"rate({value} ...) takes a plural unit: {singular + 's'!r}, not {unit!r}"
    return None


@dataclass(frozen=True)
class DeploymentConfig:
    """Validated deployment settings.

    Example
    -------
    >>> config = DeploymentConfig.load("config/deployment.json")  # doctest: +SKIP
    >>> config.crawl_schedule  # doctest: +SKIP
    'rate(1 hour)'
    """

    stack_name: str
    centre_name: str
    sender: str
    reply_to: str
    reviewers: tuple[str, ...]
    review_link_ttl_hours: int
    approval_timeout_hours: int
    crawl_schedule: str
    sources_file: str
    evidence_retention_days: int
    phash_max_distance: int
    removal_policy: RemovalPolicyName
    max_media_bytes: int
    # Optional keys (defaults below): recipient discovery.
    platforms_file: str = "config/platforms.json"
    rdap_ip_base_urls: tuple[str, ...] = ()
    rdap_domain_base_urls: tuple[tuple[str, str], ...] = ()  # (top-level domain or "*", base URL)
    # Optional: who the CloudWatch alarms email (an SNS subscription; "" for none).
    alarm_email: str = ""
    # Optional: translate free text in notices (page titles, reviewers' notes) with Amazon Translate.
    translate_free_text: bool = False
    # Optional: reviewers sign in (Cognito user pool, MFA) to list their pending reviews at GET /reviews.
    reviewer_sign_in: bool = True
    # Optional: a pending review's reviewer is reminded once, this many hours before the approval times out.
    review_reminder_hours: int = DEFAULT_REVIEW_REMINDER_HOURS
    # Optional: after a notice, the case is re-checked every recheck_interval_hours; while the content is up, the
    # same recipients get a follow-up every follow_up_interval_hours and the next rung of the ladder is notified
    # after escalate_after_intervals of those. follow_up_policy "auto-same-recipient" lets a follow-up to
    # recipients a reviewer approved go without a new review ("review": every notice is reviewed). The officer in
    # charge (default: the first reviewer) is told when a case exhausts the ladder.
    recheck_interval_hours: int = 24
    follow_up_interval_hours: int = 24
    escalate_after_intervals: int = 3
    follow_up_policy: FollowUpPolicyName = "review"
    officer_in_charge: str = ""
    # Optional: how long a page capture (WARC) that no case cites is kept. Hashing settles within minutes, so at
    # large scale a day or two is enough; a capture a case cites is locked and outlives this.
    capture_expiry_days: int = 30

    @classmethod
    def load(cls, path: str | Path) -> DeploymentConfig:
        """Read and validate a deployment file.

        Parameters
        ----------
        path
            The JSON file, e.g. ``config/deployment.json``.

        Returns
        -------
        DeploymentConfig
            The settings, every key checked.

        Raises
        ------
        DeploymentConfigError
            When the file is missing or not JSON, has unknown or missing keys, or any value is invalid.
        """
        file = Path(path)
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise DeploymentConfigError(f"{file}: deployment file not found") from error
        except json.JSONDecodeError as error:
            raise DeploymentConfigError(f"{file}: not valid JSON: {error}") from error
        return cls.from_mapping(document, source=file)

    @classmethod
    def from_mapping(cls, document: object, *, source: Path = Path("<deployment>")) -> DeploymentConfig:
        """Validate an already-parsed deployment document (see :meth:`load`)."""
        if not isinstance(document, dict):
            raise DeploymentConfigError(f"{source}: the top level must be a JSON object")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(document) - set(known))
        if unknown:
            raise _fail(source, ", ".join(unknown), f"unknown key(s); the known keys are {', '.join(known)}")
        optional = {f.name for f in fields(cls) if f.default is not MISSING}
        missing = [name for name in known if name not in document and name not in optional]
        if missing:
            raise _fail(source, ", ".join(missing), "missing")
        return cls(
            stack_name=_stack_name(source, document),
            centre_name=_text(source, document, "centre_name"),
            sender=_email(source, document, "sender"),
            reply_to=_email(source, document, "reply_to"),
            reviewers=_reviewers(source, document),
            review_link_ttl_hours=_integer(source, document, "review_link_ttl_hours", 1, 24 * 365),
            approval_timeout_hours=_integer(
                source, document, "approval_timeout_hours", 1, MAX_APPROVAL_TIMEOUT_HOURS
            ),
            crawl_schedule=_schedule(source, document),
            sources_file=_text(source, document, "sources_file"),
            evidence_retention_days=_integer(
                source, document, "evidence_retention_days", 1, MAX_RETENTION_DAYS
            ),
            phash_max_distance=_integer(source, document, "phash_max_distance", 0, MAX_PHASH_DISTANCE),
            removal_policy=_removal_policy(source, document),
            max_media_bytes=_integer(source, document, "max_media_bytes", 1, 2**40),
            platforms_file=_text(source, document, "platforms_file")
            if "platforms_file" in document
            else "config/platforms.json",
            rdap_ip_base_urls=_https_urls(source, document.get("rdap_ip_base_urls", []), "rdap_ip_base_urls"),
            rdap_domain_base_urls=_rdap_domains(source, document.get("rdap_domain_base_urls", {})),
            alarm_email=_email(source, document, "alarm_email") if "alarm_email" in document else "",
            translate_free_text=_boolean(source, document, "translate_free_text", default=False),
            reviewer_sign_in=_boolean(source, document, "reviewer_sign_in", default=True),
            review_reminder_hours=_reminder_hours(source, document),
            capture_expiry_days=_integer(source, document, "capture_expiry_days", 1, MAX_RETENTION_DAYS)
            if "capture_expiry_days" in document
            else 30,
            **_follow_up_settings(source, document),
        )


def _https_urls(source: Path, value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(source, key, "must be a list of URLs")
    for url in value:
        if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
            raise _fail(source, key, f"{url!r} is not an http(s) URL")
    return tuple(value)


def _rdap_domains(source: Path, value: object) -> tuple[tuple[str, str], ...]:
    key = "rdap_domain_base_urls"
    if not isinstance(value, dict):
        raise _fail(source, key, 'must be an object of top-level domain (or "*") -> RDAP base URL')
    urls = _https_urls(source, list(value.values()), key)
    return tuple(zip((str(k).lower() for k in value), urls, strict=True))


def _reminder_hours(source: Path, document: dict[str, Any]) -> int:
    timeout = document.get("approval_timeout_hours")
    if "review_reminder_hours" not in document:
        # 12 hours before the deadline, or at the first round for a shorter approval window.
        return (
            min(DEFAULT_REVIEW_REMINDER_HOURS, timeout)
            if isinstance(timeout, int)
            else DEFAULT_REVIEW_REMINDER_HOURS
        )
    hours = _integer(source, document, "review_reminder_hours", 1, MAX_APPROVAL_TIMEOUT_HOURS)
    if isinstance(timeout, int) and hours > timeout:
        raise _fail(
            source,
            "review_reminder_hours",
            f"must not exceed approval_timeout_hours ({timeout}), got {hours}",
        )
    return hours


def _follow_up_settings(source: Path, document: dict[str, Any]) -> dict[str, Any]:
    defaults = {"recheck_interval_hours": 24, "follow_up_interval_hours": 24, "escalate_after_intervals": 3}
    settings: dict[str, Any] = {
        key: _integer(source, document, key, 1, MAX_FOLLOW_UP_HOURS) if key in document else default
        for key, default in defaults.items()
    }
    if "escalate_after_intervals" in document:
        settings["escalate_after_intervals"] = _integer(source, document, "escalate_after_intervals", 1, 30)
    policy = _text(source, document, "follow_up_policy") if "follow_up_policy" in document else "review"
    if policy not in FOLLOW_UP_POLICIES:
        raise _fail(
            source, "follow_up_policy", f"must be one of {', '.join(FOLLOW_UP_POLICIES)}, got {policy!r}"
        )
    settings["follow_up_policy"] = policy
    settings["officer_in_charge"] = (
        _email(source, document, "officer_in_charge") if "officer_in_charge" in document else ""
    )
    return settings


def _boolean(source: Path, document: dict[str, Any], key: str, *, default: bool) -> bool:
    value = document.get(key, default)
    if not isinstance(value, bool):
        raise _fail(source, key, f"must be true or false, got {type(value).__name__}")
    return value


def _text(source: Path, document: dict[str, Any], key: str) -> str:
    value = document[key]
    if not isinstance(value, str):
        raise _fail(source, key, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise _fail(source, key, "must not be empty")
    return value


def _integer(source: Path, document: dict[str, Any], key: str, low: int, high: int) -> int:
    value = document[key]
    # bool is a subclass of int in Python; `true` is never a meaningful number of hours.
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(source, key, f"must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise _fail(source, key, f"must be between {low} and {high}, got {value}")
    return value


def _email(source: Path, document: dict[str, Any], key: str) -> str:
    value = _text(source, document, key)
    if not is_email_address(value):
        raise _fail(source, key, f"{value!r} is not a plain email address like desk@example.org")
    return value


def _reviewers(source: Path, document: dict[str, Any]) -> tuple[str, ...]:
    value = document["reviewers"]
    if not isinstance(value, list):
        raise _fail(source, "reviewers", f"must be a list of email addresses, got {type(value).__name__}")
    if not value:
        raise _fail(source, "reviewers", "needs at least one reviewer: nothing is sent without an approval")
    reviewers: list[str] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, str) or not is_email_address(entry):
            raise _fail(source, f"reviewers[{index}]", f"{entry!r} is not a plain email address")
        if entry.lower() in (r.lower() for r in reviewers):
            raise _fail(source, f"reviewers[{index}]", f"{entry!r} is listed twice")
        reviewers.append(entry)
    return tuple(reviewers)


def _stack_name(source: Path, document: dict[str, Any]) -> str:
    value = _text(source, document, "stack_name")
    if not _STACK_NAME.fullmatch(value):
        raise _fail(
            source,
            "stack_name",
            f"{value!r} is not a CloudFormation stack name (a letter, then letters, digits or '-', max 128)",
        )
    return value


def _schedule(source: Path, document: dict[str, Any]) -> str:
    value = _text(source, document, "crawl_schedule")
    problem = schedule_expression_problem(value)
    if problem:
        raise _fail(source, "crawl_schedule", f"{value!r} is not a schedule expression: {problem}")
    return value


def _removal_policy(source: Path, document: dict[str, Any]) -> RemovalPolicyName:
    value = _text(source, document, "removal_policy")
    if value not in REMOVAL_POLICIES:
        raise _fail(source, "removal_policy", f"must be one of {', '.join(REMOVAL_POLICIES)}, got {value!r}")
    return cast("RemovalPolicyName", value)

"""Runtime settings of the Lambda functions, read from their environment.

The CDK stack sets these variables (``infra/takedown_infra/stack.py``); the local stack sets the same
variables from the synthesized template. The names live here once so both sides agree.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

ENV_EVIDENCE_BUCKET = "TAKEDOWN_EVIDENCE_BUCKET"
ENV_CASES_TABLE = "TAKEDOWN_CASES_TABLE"
ENV_BANK_TABLE = "TAKEDOWN_BANK_TABLE"
ENV_CRAWL_TABLE = "TAKEDOWN_CRAWL_TABLE"
ENV_CRAWL_QUEUE_URL = "TAKEDOWN_CRAWL_QUEUE_URL"
ENV_STATE_MACHINE_ARN = "TAKEDOWN_STATE_MACHINE_ARN"
ENV_SENDER = "TAKEDOWN_SENDER"
ENV_REPLY_TO = "TAKEDOWN_REPLY_TO"
ENV_CENTRE_NAME = "TAKEDOWN_CENTRE_NAME"
ENV_REVIEWERS = "TAKEDOWN_REVIEWERS"
ENV_REVIEW_BASE_URL = "TAKEDOWN_REVIEW_BASE_URL"
ENV_LINK_KEY_SECRET = "TAKEDOWN_LINK_KEY_SECRET"  # noqa: S105 - a variable name, not a secret
ENV_LINK_TTL_HOURS = "TAKEDOWN_LINK_TTL_HOURS"
ENV_SOURCES_FILE = "TAKEDOWN_SOURCES_FILE"
ENV_TEMPLATES_DIR = "TAKEDOWN_TEMPLATES_DIR"
ENV_PHASH_MAX_DISTANCE = "TAKEDOWN_PHASH_MAX_DISTANCE"
ENV_MAX_MEDIA_BYTES = "TAKEDOWN_MAX_MEDIA_BYTES"
ENV_CONFIGURATION_SET = "TAKEDOWN_SES_CONFIGURATION_SET"
ENV_EVIDENCE_RETENTION_DAYS = "TAKEDOWN_EVIDENCE_RETENTION_DAYS"
ENV_PLATFORMS_FILE = "TAKEDOWN_PLATFORMS_FILE"
ENV_RDAP_IP_URLS = "TAKEDOWN_RDAP_IP_URLS"  # comma-separated base URLs
ENV_RDAP_DOMAIN_URLS = "TAKEDOWN_RDAP_DOMAIN_URLS"  # JSON object: top-level domain or "*" -> base URL
ENV_APPROVAL_TIMEOUT_HOURS = "TAKEDOWN_APPROVAL_TIMEOUT_HOURS"  # the approval task's timeout
ENV_REVIEW_REMINDER_HOURS = "TAKEDOWN_REVIEW_REMINDER_HOURS"  # remind this long before the timeout
# "true": free text in notices (page titles, reviewers' notes) goes to Amazon Translate
ENV_TRANSLATE_FREE_TEXT = "TAKEDOWN_TRANSLATE_FREE_TEXT"

# The sparse index of the cases table that holds pending reviews only (reminders, the reviewer's list).
PENDING_REVIEWS_INDEX = "PendingReviews"
PENDING_PARTITION_ATTRIBUTE = "pending_pk"
PENDING_DUE_ATTRIBUTE = "pending_due"  # Unix seconds when the approval times out

# After a notice: hours between re-checks, hours between notices to the same recipient, intervals per rung.
ENV_RECHECK_INTERVAL_HOURS = "TAKEDOWN_RECHECK_INTERVAL_HOURS"
ENV_FOLLOW_UP_INTERVAL_HOURS = "TAKEDOWN_FOLLOW_UP_INTERVAL_HOURS"
ENV_ESCALATE_AFTER_INTERVALS = "TAKEDOWN_ESCALATE_AFTER_INTERVALS"
ENV_FOLLOW_UP_POLICY = "TAKEDOWN_FOLLOW_UP_POLICY"  # "review" | "auto-same-recipient"
ENV_OFFICER_IN_CHARGE = "TAKEDOWN_OFFICER_IN_CHARGE"  # told when a case exhausts the escalation ladder

# The sparse index of the cases table that holds the cases due for a re-check (see takedown.aws.recheck_queue).
RECHECK_DUE_INDEX = "RecheckDue"
RECHECK_PARTITION_ATTRIBUTE = "due_pk"
RECHECK_DUE_ATTRIBUTE = "due_at"  # ISO 8601 UTC: sorts as time

# The sparse index of the crawl table that holds media outcomes by the hour they were recorded (see
# takedown.aws.crawl_state): "what did hashing decide since this crawl started" without a scan.
OUTCOMES_BY_HOUR_INDEX = "OutcomesByHour"
OUTCOME_HOUR_ATTRIBUTE = "outcome_hour"  # "OUTCOME#20261128T07"
OUTCOME_RECORDED_ATTRIBUTE = "recorded_at"  # ISO 8601 UTC: sorts as time

# CloudFormation output keys of the stack: the CLI finds a deployment's resources by them.
OUTPUT_EVIDENCE_BUCKET = "EvidenceBucketName"
OUTPUT_CASES_TABLE = "CasesTableName"
OUTPUT_BANK_TABLE = "BankTableName"
OUTPUT_CRAWL_TABLE = "CrawlTableName"
OUTPUT_CRAWL_QUEUE_URL = "CrawlQueueUrl"
OUTPUT_STATE_MACHINE_ARN = "StateMachineArn"
OUTPUT_REVIEW_API_URL = "ReviewApiUrl"
OUTPUT_REVIEWER_POOL_ID = "ReviewerPoolId"
OUTPUT_REVIEWER_POOL_CLIENT_ID = "ReviewerPoolClientId"

# Where the templates live in a checkout: <repo>/templates, beside functions/.
_CHECKOUT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


# Locally several functions run in one process, each with its own environment: the seam that runs them
# (takedown.local.seam) sets this per invocation and thread. In Lambda it is never set and os.environ rules.
_FUNCTION_ENVIRONMENT: ContextVar[Mapping[str, str] | None] = ContextVar(
    "takedown_function_environment", default=None
)


def getenv(name: str, default: str = "") -> str:
    """A variable of the running function's environment."""
    override = _FUNCTION_ENVIRONMENT.get()
    if override is not None and name in override:
        return override[name]
    return os.environ.get(name, default)


@contextmanager
def function_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Run the enclosed code with ``values`` as the function environment (in this thread only)."""
    token = _FUNCTION_ENVIRONMENT.set(dict(values))
    try:
        yield
    finally:
        _FUNCTION_ENVIRONMENT.reset(token)


def _require(name: str) -> str:
    value = getenv(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set; the stack sets it for every function")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a handler needs to know about the deployment it runs in."""

    evidence_bucket: str
    cases_table: str
    bank_table: str
    crawl_table: str
    crawl_queue_url: str
    state_machine_arn: str
    sender: str
    reply_to: str
    centre_name: str
    reviewers: tuple[str, ...]
    review_base_url: str
    link_key_secret: str
    link_ttl_hours: int
    sources_file: str
    templates_dir: Path
    phash_max_distance: int
    max_media_bytes: int
    configuration_set: str
    evidence_retention_days: int
    platforms_file: str
    rdap_ip_urls: tuple[str, ...]
    rdap_domain_urls: dict[str, str]
    approval_timeout_hours: int
    review_reminder_hours: int
    translate_free_text: bool
    recheck_interval_hours: int
    follow_up_interval_hours: int
    escalate_after_intervals: int
    follow_up_policy: str
    officer_in_charge: str

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings; missing optional values get safe defaults, missing required ones raise."""
        env = getenv
        return cls(
            evidence_bucket=_require(ENV_EVIDENCE_BUCKET),
            cases_table=_require(ENV_CASES_TABLE),
            bank_table=_require(ENV_BANK_TABLE),
            crawl_table=env(ENV_CRAWL_TABLE, ""),
            crawl_queue_url=env(ENV_CRAWL_QUEUE_URL, ""),
            state_machine_arn=env(ENV_STATE_MACHINE_ARN, ""),
            sender=env(ENV_SENDER, ""),
            reply_to=env(ENV_REPLY_TO, ""),
            centre_name=env(ENV_CENTRE_NAME, "Digital Sex Crime Victim Support Centre"),
            reviewers=tuple(a.strip() for a in env(ENV_REVIEWERS, "").split(",") if a.strip()),
            review_base_url=env(ENV_REVIEW_BASE_URL, "").rstrip("/"),
            link_key_secret=env(ENV_LINK_KEY_SECRET, ""),
            link_ttl_hours=int(env(ENV_LINK_TTL_HOURS, "72")),
            sources_file=env(ENV_SOURCES_FILE, ""),
            templates_dir=Path(env(ENV_TEMPLATES_DIR, "") or _CHECKOUT_TEMPLATES),
            phash_max_distance=int(env(ENV_PHASH_MAX_DISTANCE, "10")),
            max_media_bytes=int(env(ENV_MAX_MEDIA_BYTES, str(50 * 1024 * 1024))),
            configuration_set=env(ENV_CONFIGURATION_SET, ""),
            evidence_retention_days=int(env(ENV_EVIDENCE_RETENTION_DAYS, "0")),
            platforms_file=env(ENV_PLATFORMS_FILE, ""),
            rdap_ip_urls=tuple(u.strip() for u in env(ENV_RDAP_IP_URLS, "").split(",") if u.strip()),
            rdap_domain_urls=dict(json.loads(env(ENV_RDAP_DOMAIN_URLS, "") or "{}")),
            approval_timeout_hours=int(env(ENV_APPROVAL_TIMEOUT_HOURS, "72")),
            review_reminder_hours=int(env(ENV_REVIEW_REMINDER_HOURS, "12")),
            translate_free_text=env(ENV_TRANSLATE_FREE_TEXT, "").strip().lower() == "true",
            recheck_interval_hours=int(env(ENV_RECHECK_INTERVAL_HOURS, "24")),
            follow_up_interval_hours=int(env(ENV_FOLLOW_UP_INTERVAL_HOURS, "24")),
            escalate_after_intervals=int(env(ENV_ESCALATE_AFTER_INTERVALS, "3")),
            follow_up_policy=env(ENV_FOLLOW_UP_POLICY, "review"),
            officer_in_charge=env(ENV_OFFICER_IN_CHARGE, ""),
        )


def templates_dir() -> Path:
    """The jinja2 templates folder: the Lambda layer in AWS, the checkout's ``templates/`` locally."""
    return Path(getenv(ENV_TEMPLATES_DIR) or _CHECKOUT_TEMPLATES)

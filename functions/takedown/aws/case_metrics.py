"""CloudWatch metrics of case transitions: the one place a saved transition becomes counts and intervals.

``CaseStore.save`` calls :func:`publish_case_transition` after every successful save, so every handler that moves
a case (today's workflow steps, the review API, the re-check and the feedback functions) is measured without
code of its own. When a case first reaches a status, this publishes, in namespace ``Takedown``:

=========================  =======  ======================================================================
metric                     unit     when the case first reaches
=========================  =======  ======================================================================
``CasesMatched``           Count    MATCHED (Score confirmed the match)
``CasesDrafted``           Count    DRAFTED
``CasesApproved``          Count    APPROVED
``CasesNotified``          Count    SENT: the case's first notice went out
``CasesRemoved``           Count    REMOVED: two re-checks in a row found the content gone
``TimeSightingToDrafted``  Seconds  DRAFTED: from the crawl's first fetch of the media to the drafted notice
``TimeDraftedToApproved``  Seconds  APPROVED
``TimeApprovedToSent``     Seconds  SENT
``TimeSentToRemoved``      Seconds  REMOVED: the recipient's response time
=========================  =======  ======================================================================

These count cases, once each. Messages are counted where they happen: ``NoticesSent`` by the send step (every
notice and follow-up), ``NoticeBounced`` and ``NoticeComplained`` by the mail feedback function.

Each value is published under three dimension sets: ``service`` alone (the totals the alarms and the dashboard
use), ``service`` + ``RecipientDomain`` and ``service`` + ``Country`` (see ``takedown.cases.breakdown`` for how
their values are bounded).

Why not the shared ``observability.metrics`` object: its dimensions apply to every metric it flushes, and one
invocation can move several cases with different recipients and countries (a batch of S3 records, a re-check
round). Each transition is therefore one EMF document of its own, written at once through Powertools'
``EphemeralMetrics``; it honours ``POWERTOOLS_METRICS_DISABLED`` like the shared object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.exceptions import MetricValueError, SchemaValidationError
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.exceptions import MetricNameError, MetricUnitError

from takedown.cases.breakdown import case_country, metric_recipient_domain, notice_recipient
from takedown.cases.intervals import IntervalError, interval_seconds, intervals_ending_at
from takedown.config import getenv
from takedown.metric_names import (
    CASE_COUNTS_BY_STATUS,
    COUNTRY_DIMENSION,
    RECIPIENT_DIMENSION,
    SERVICE_DIMENSION,
)
from takedown.observability import logger

if TYPE_CHECKING:
    from takedown.cases.record import CaseRecord

NAMESPACE_VARIABLE = "POWERTOOLS_METRICS_NAMESPACE"
SERVICE_VARIABLE = "POWERTOOLS_SERVICE_NAME"


@dataclass(frozen=True)
class CaseMetric:
    """One value to publish: a metric name, its CloudWatch unit and the value."""

    name: str
    unit: MetricUnit
    value: float


@dataclass(frozen=True)
class TransitionMetrics:
    """What one saved transition publishes, and under which dimension values."""

    case_id: str
    status: str
    recipient_domain: str
    country: str
    metrics: tuple[CaseMetric, ...]


def newly_reached_status(record: CaseRecord) -> str | None:
    """The status this save reached for the first time, or None for a repeated save in the same status.

    ``CaseRecord.advance`` keeps the first time of each status and stamps ``updated_at`` with this save's time:
    the two are equal exactly when this save is the first to reach the status.
    """
    status = record.status.value
    return status if record.milestones.get(status) == record.updated_at else None


def transition_metrics(record: CaseRecord) -> TransitionMetrics | None:
    """The metrics of the transition ``record`` was just saved with; None when it reached nothing new.

    Raises
    ------
    IntervalError
        When the case's times cannot be measured (see ``takedown.cases.intervals``).
    """
    status = newly_reached_status(record)
    if status is None:
        return None
    values: list[CaseMetric] = []
    if status in CASE_COUNTS_BY_STATUS:
        values.append(CaseMetric(CASE_COUNTS_BY_STATUS[status], MetricUnit.Count, 1))
    for interval in intervals_ending_at(status):
        seconds = interval_seconds(record, interval)
        if seconds is not None:
            values.append(CaseMetric(interval.metric_name, MetricUnit.Seconds, seconds))
    if not values:
        return None
    return TransitionMetrics(
        case_id=record.case_id,
        status=status,
        recipient_domain=metric_recipient_domain(notice_recipient(record)),
        country=case_country(record),
        metrics=tuple(values),
    )


def publish_case_transition(record: CaseRecord) -> None:
    """Publish the metrics of a saved transition as one CloudWatch EMF document on stdout.

    Never raises: the transition is already stored, and a metric must not fail (and so replay) a workflow step.
    A case that cannot be measured is logged with its id and the reason.
    """
    if is_metrics_disabled():
        return
    namespace, service = getenv(NAMESPACE_VARIABLE), getenv(SERVICE_VARIABLE)
    if not namespace or not service:
        logger.warning(
            "case metrics not published: the metrics namespace or service name is not set",
            extra={"case_id": record.case_id},
        )
        return
    try:
        measured = transition_metrics(record)
        if measured is None:
            return
        emitter = EphemeralMetrics(namespace=namespace, service=service)
        for metric in measured.metrics:
            emitter.add_metric(name=metric.name, unit=metric.unit, value=metric.value)
        emitter.add_dimensions(**{SERVICE_DIMENSION: service, RECIPIENT_DIMENSION: measured.recipient_domain})
        emitter.add_dimensions(**{SERVICE_DIMENSION: service, COUNTRY_DIMENSION: measured.country})
        # Metadata stays in the log line (searchable), not in the metric: an outlier can be traced to its case.
        emitter.add_metadata(key="case_id", value=measured.case_id)
        emitter.add_metadata(key="status", value=measured.status)
        emitter.flush_metrics()
    except (
        IntervalError,
        MetricNameError,
        MetricUnitError,
        MetricValueError,
        SchemaValidationError,
    ) as error:
        logger.warning(
            "case metrics not published",
            extra={"case_id": record.case_id, "error": type(error).__name__, "reason": str(error)[:300]},
        )

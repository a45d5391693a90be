"""The CloudWatch metric names and dimensions the functions publish and the stack's dashboard and alarms read.

All are in the namespace the stack gives every function (``POWERTOOLS_METRICS_NAMESPACE``, ``Takedown``) and
carry Powertools' ``service`` dimension. The interval metrics are named in ``takedown.cases.intervals``.
"""

from __future__ import annotations

SERVICE_DIMENSION = "service"
RECIPIENT_DIMENSION = "RecipientDomain"
COUNTRY_DIMENSION = "Country"

# Cases, counted once each when they first reach a status (``takedown.aws.case_metrics``), per recipient domain
# and per country as well as in total.
CASES_MATCHED = "CasesMatched"
CASES_DRAFTED = "CasesDrafted"
CASES_APPROVED = "CasesApproved"
CASES_NOTIFIED = "CasesNotified"
CASES_REMOVED = "CasesRemoved"
CASE_COUNTS_BY_STATUS: dict[str, str] = {
    "MATCHED": CASES_MATCHED,
    "DRAFTED": CASES_DRAFTED,
    "APPROVED": CASES_APPROVED,
    "SENT": CASES_NOTIFIED,
    "REMOVED": CASES_REMOVED,
}

# Messages and reviews, counted where they happen (totals only).
NOTICES_SENT = "NoticesSent"  # handle_send_notice: every notice and follow-up sent through SES
NOTICE_BOUNCED = "NoticeBounced"  # handle_mail_feedback: hard bounces
NOTICE_COMPLAINED = "NoticeComplained"  # handle_mail_feedback: complaints
REVIEWS_REQUESTED = "ReviewsRequested"  # handle_request_approval
# handle_remind_reviewers, each hourly round: pending reviews inside the reminder window before their timeout.
REVIEWS_NEAR_TIMEOUT = "ReviewsNearTimeout"

"""Construct ids and output keys, shared by the stack and its tests.

A construct id fixes a resource's logical id, and so its identity in CloudFormation: renaming one replaces
the resource. Keeping them here makes such a change visible and lets tests find one exact resource.
"""

from __future__ import annotations

from takedown import config as runtime

# Context key naming the deployment file (cdk.json sets it; `-c takedown:config=...` overrides it).
CONFIG_CONTEXT_KEY = "takedown:config"

# Constructs directly under the stack.
STORAGE = "Storage"
LAYERS = "Layers"
NOTIFICATIONS = "Notifications"
APPROVAL = "Approval"
WORKFLOW = "Workflow"
HASHING = "Hashing"
CRAWL = "Crawl"
FOLLOW_UP = "FollowUp"

# Storage.
DATA_KEY = "DataKey"
ACCESS_LOG_BUCKET = "AccessLogBucket"
EVIDENCE_BUCKET = "EvidenceBucket"
CASES_TABLE = "CasesTable"
BANK_TABLE = "BankTable"
CRAWL_TABLE = "CrawlTable"

# Layers.
BASE_LAYER = "BaseLayer"
IMAGING_LAYER = "ImagingLayer"
VIDEO_LAYER = "VideoLayer"
CONFIG_LAYER = "ConfigLayer"

# Notifications.
SENDER_IDENTITY = "SenderIdentity"
CONFIGURATION_SET = "ConfigurationSet"
MAIL_EVENTS_KEY = "MailEventsKey"
MAIL_EVENTS_TOPIC = "MailEventsTopic"
MAIL_EVENTS_DESTINATION = "MailEventsDestination"
MAIL_FEEDBACK_DEAD_LETTER_QUEUE = "MailFeedbackDeadLetterQueue"

# Approval.
REVIEW_LINK_KEY = "ReviewLinkKey"
REVIEW_API = "ReviewApi"
REVIEW_API_ACCESS_LOGS = "ReviewApiAccessLogs"
REVIEW_API_VALIDATOR = "ReviewApiValidator"
REVIEW_API_FIREWALL = "ReviewApiFirewall"
REVIEW_API_FIREWALL_ASSOCIATION = "ReviewApiFirewallAssociation"
REVIEW_REMINDER_SCHEDULE = "ReviewReminderSchedule"
REVIEWER_POOL = "ReviewerPool"
REVIEWER_POOL_CLIENT = "ReviewerPoolClient"
REVIEWER_AUTHORIZER = "ReviewerAuthorizer"
REVIEWER_USER_PREFIX = "Reviewer"  # + position in the deployment file: Reviewer0, Reviewer1, ...

# Workflow.
STATE_MACHINE = "StateMachine"
STATE_MACHINE_LOGS = "StateMachineLogs"

# Crawl.
CRAWL_QUEUE = "CrawlQueue"
CRAWL_DEAD_LETTER_QUEUE = "CrawlDeadLetterQueue"
CRAWL_SCHEDULE = "CrawlSchedule"

# Follow-up: notified cases are re-checked on this schedule.
RECHECK_SCHEDULE = "RecheckSchedule"

# Hashing: S3 events a hashing function failed on, kept with their error after Lambda's retries.
HASHING_DEAD_LETTER_QUEUE = "HashingDeadLetterQueue"

# Monitoring: the dashboard, the alarms and their topic. A dead-letter queue's alarm is "<queue id>Alarm".
MONITORING = "Monitoring"
DASHBOARD = "Dashboard"
ALARMS_KEY = "AlarmsKey"
ALARMS_TOPIC = "AlarmsTopic"
DEAD_LETTER_ALARM_SUFFIX = "Alarm"
FAILED_EXECUTIONS_ALARM = "FailedExecutionsAlarm"
TIMED_OUT_EXECUTIONS_ALARM = "TimedOutExecutionsAlarm"
BOUNCE_RATE_ALARM = "BounceRateAlarm"
SES_BOUNCE_RATE_ALARM = "SesBounceRateAlarm"
SES_COMPLAINT_RATE_ALARM = "SesComplaintRateAlarm"
REVIEWS_NEAR_TIMEOUT_ALARM = "ReviewsNearTimeoutAlarm"

# Lambda functions (construct ids; each lives under the construct that owns its trigger).
DISPATCH_CRAWL_FUNCTION = "DispatchCrawlFunction"
CRAWL_PAGE_FUNCTION = "CrawlPageFunction"
HASH_MEDIA_FUNCTION = "HashMediaFunction"
HASH_VIDEO_FUNCTION = "HashVideoFunction"
SCORE_MATCH_FUNCTION = "ScoreMatchFunction"
RESOLVE_RECIPIENTS_FUNCTION = "ResolveRecipientsFunction"
BUILD_REPORT_FUNCTION = "BuildReportFunction"
DRAFT_NOTICE_FUNCTION = "DraftNoticeFunction"
RENDER_NOTICE_LOCALE_FUNCTION = "RenderNoticeLocaleFunction"
REQUEST_APPROVAL_FUNCTION = "RequestApprovalFunction"
REVIEW_API_FUNCTION = "ReviewApiFunction"
SEND_NOTICE_FUNCTION = "SendNoticeFunction"
CLOSE_CASE_FUNCTION = "CloseCaseFunction"
RECHECK_CASES_FUNCTION = "RecheckCasesFunction"
REMIND_REVIEWERS_FUNCTION = "RemindReviewersFunction"
MAIL_FEEDBACK_FUNCTION = "MailFeedbackFunction"
ALL_FUNCTIONS: tuple[str, ...] = (
    DISPATCH_CRAWL_FUNCTION,
    CRAWL_PAGE_FUNCTION,
    HASH_MEDIA_FUNCTION,
    HASH_VIDEO_FUNCTION,
    SCORE_MATCH_FUNCTION,
    RESOLVE_RECIPIENTS_FUNCTION,
    BUILD_REPORT_FUNCTION,
    DRAFT_NOTICE_FUNCTION,
    RENDER_NOTICE_LOCALE_FUNCTION,
    REQUEST_APPROVAL_FUNCTION,
    REVIEW_API_FUNCTION,
    SEND_NOTICE_FUNCTION,
    CLOSE_CASE_FUNCTION,
    RECHECK_CASES_FUNCTION,
    REMIND_REVIEWERS_FUNCTION,
    MAIL_FEEDBACK_FUNCTION,
)

# State names of the case workflow (the local stack and the tests read them from the definition).
STATE_IS_FOLLOW_UP = "IsFollowUp"  # the start: a follow-up notice skips scoring, discovery and the report
STATE_SCORE = "Score"
STATE_IS_CANDIDATE = "IsCandidate"
STATE_CLOSE_NO_MATCH = "CloseNoMatch"
STATE_NO_MATCH = "NoMatch"
STATE_RESOLVE_RECIPIENTS = "ResolveRecipients"
STATE_BUILD_REPORT = "BuildReport"
STATE_DRAFT_NOTICE = "DraftNotice"
STATE_RENDER_LOCALES = "RenderLocales"
STATE_RENDER_NOTICE_LOCALE = "RenderNoticeLocale"
STATE_REVIEW_NEEDED = "ReviewNeeded"  # only a follow-up under the deployment's policy skips review
STATE_APPROVED_BY_POLICY = "ApprovedByPolicy"
STATE_REQUEST_APPROVAL = "RequestApproval"
STATE_CLOSE_EXPIRED = "CloseExpired"
STATE_EXPIRED = "Expired"
STATE_REVIEW_DECISION = "ReviewDecision"
STATE_CLOSE_REJECTED = "CloseRejected"
STATE_REJECTED = "Rejected"
STATE_SEND_NOTICE = "SendNotice"
STATE_SENT = "Sent"
STATE_CLOSE_FAILED = "CloseFailed"
STATE_FAILED = "Failed"

# CloudFormation output keys: defined with the runtime settings, because the CLI reads them too.
OUTPUT_EVIDENCE_BUCKET = runtime.OUTPUT_EVIDENCE_BUCKET
OUTPUT_CASES_TABLE = runtime.OUTPUT_CASES_TABLE
OUTPUT_BANK_TABLE = runtime.OUTPUT_BANK_TABLE
OUTPUT_CRAWL_TABLE = runtime.OUTPUT_CRAWL_TABLE
OUTPUT_CRAWL_QUEUE_URL = runtime.OUTPUT_CRAWL_QUEUE_URL
OUTPUT_STATE_MACHINE_ARN = runtime.OUTPUT_STATE_MACHINE_ARN
OUTPUT_REVIEW_API_URL = runtime.OUTPUT_REVIEW_API_URL
OUTPUT_REVIEWER_POOL_ID = runtime.OUTPUT_REVIEWER_POOL_ID
OUTPUT_REVIEWER_POOL_CLIENT_ID = runtime.OUTPUT_REVIEWER_POOL_CLIENT_ID

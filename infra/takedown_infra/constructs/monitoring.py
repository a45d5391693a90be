"""Monitoring: one CloudWatch dashboard and the alarms that need a person, all to one encrypted SNS topic.

Alarms (each notifies ``alarm_topic``, and again when it recovers):

- **dead letters**: any message in any dead-letter queue of the stack (a crawl page, an S3 event, a mail event
  that failed after its retries): someone must look at it before its 14 days run out;
- **failed and timed-out executions** of the case workflow;
- **bounce rate**: our own ratio ``NoticeBounced / NoticesSent`` over a day above 5%, and SES's account-level
  ``Reputation.BounceRate`` above 5% (and ``Reputation.ComplaintRate`` above 0.1%), the levels at which SES
  puts an account under review;
- **reviews close to timeout**: the hourly reminder round found a pending review inside its reminder window
  (``ReviewsNearTimeout``), so a case is about to expire without a decision.

The dashboard shows the case intervals (p50/p95), the counts of cases, notices and bounces (also per recipient
domain and per country), the crawl queue and every dead-letter queue, the workflow's executions, each function's
errors and throttles, and SES's bounces and complaints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from takedown import metric_names as names
from takedown.cases.intervals import INTERVALS
from takedown_infra import ids

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_stepfunctions as sfn
    from constructs import IConstruct

# Our own bounce rate (percent of notices sent in a day) and SES's reputation figures (fractions) that alarm.
BOUNCE_RATE_PERCENT = 5.0
SES_BOUNCE_RATE = 0.05
SES_COMPLAINT_RATE = 0.001
ALARM_PERIOD = Duration.minutes(5)
RATE_PERIOD = Duration.days(1)
GRAPH_PERIOD = Duration.hours(1)
DEAD_LETTER_MARK = "DeadLetter"
SES_NAMESPACE = "AWS/SES"
SES_BOUNCE_RATE_METRIC = "Reputation.BounceRate"
SES_COMPLAINT_RATE_METRIC = "Reputation.ComplaintRate"


@dataclass(frozen=True)
class MonitoredResources:
    """What the dashboard and alarms watch.

    Attributes
    ----------
    functions
        Construct id -> function: errors and throttles of each.
    state_machine
        The case workflow: executions started, failed, timed out.
    work_queues
        Name -> queue with work waiting (the crawl queue): depth and age of the oldest message.
    dead_letter_queues
        Name -> dead-letter queue: an alarm each on any message in it.
    """

    functions: Mapping[str, lambda_.IFunction]
    state_machine: sfn.IStateMachine
    work_queues: Mapping[str, sqs.IQueue]
    dead_letter_queues: Mapping[str, sqs.IQueue]


def find_dead_letter_queues(scope: IConstruct) -> dict[str, sqs.IQueue]:
    """Every dead-letter queue under ``scope``, by construct id.

    A queue counts when another queue redrives to it, a function sends failed asynchronous events to it, or its
    construct id names it a dead-letter queue (SNS subscriptions and EventBridge targets keep theirs only in L1
    properties). The infra tests check the result against every dead-letter reference in the template.
    """
    found: dict[str, sqs.IQueue] = {}
    for construct in scope.node.find_all():
        if isinstance(construct, sqs.Queue):
            if DEAD_LETTER_MARK in construct.node.id:
                found[construct.node.id] = construct
            if construct.dead_letter_queue is not None:
                queue = construct.dead_letter_queue.queue
                found[queue.node.id] = queue
        elif isinstance(construct, lambda_.Function) and construct.dead_letter_queue is not None:
            found[construct.dead_letter_queue.node.id] = construct.dead_letter_queue
    return dict(sorted(found.items()))


class MonitoringConstruct(Construct):
    """The dashboard, the alarms and their topic.

    Attributes
    ----------
    alarm_topic
        SNS topic (its own KMS key, SSL only) every alarm notifies; subscribed by ``alarm_email`` when given.
    alarms
        Construct id -> alarm, for the tests and for further actions.
    dashboard
        The operations dashboard.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources: MonitoredResources,
        namespace: str,
        service: str,
        alarm_email: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._namespace = namespace
        self._service = service
        self._resources = resources
        self.alarm_topic = self._alarm_topic(alarm_email, removal_policy)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._add_alarms()
        self.dashboard = cloudwatch.Dashboard(
            self,
            ids.DASHBOARD,
            dashboard_name=f"{Stack.of(self).stack_name}-operations",
            default_interval=Duration.days(7),
        )
        self._add_widgets()

    # -- the topic ----------------------------------------------------------------------------------------------
    def _alarm_topic(self, alarm_email: str, removal_policy: RemovalPolicy) -> sns.Topic:
        # A key of its own: CloudWatch must be able to use it to publish, and has no business with the data key.
        key = kms.Key(
            self,
            ids.ALARMS_KEY,
            description="Takedown alarm notifications topic",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchToPublishEncryptedAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        topic = sns.Topic(
            self, ids.ALARMS_TOPIC, display_name="Takedown alarms", master_key=key, enforce_ssl=True
        )
        if alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return topic

    # -- metrics ------------------------------------------------------------------------------------------------
    def own_metric(
        self,
        name: str,
        *,
        statistic: str = "Sum",
        period: Duration = GRAPH_PERIOD,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        """A metric the functions publish (namespace and ``service`` dimension as Powertools writes them)."""
        return cloudwatch.Metric(
            namespace=self._namespace,
            metric_name=name,
            dimensions_map={names.SERVICE_DIMENSION: self._service},
            statistic=statistic,
            period=period,
            label=label,
        )

    def _per_dimension(
        self, name: str, dimension: str, statistic: str, label: str
    ) -> cloudwatch.MathExpression:
        # A SEARCH finds every value of the dimension: recipient domains and countries are not known in advance.
        search = (
            f"SEARCH('{{{self._namespace},{names.SERVICE_DIMENSION},{dimension}}} "
            f"MetricName=\"{name}\"', '{statistic}', {int(RATE_PERIOD.to_seconds())})"
        )
        return cloudwatch.MathExpression(expression=search, using_metrics={}, label=label, period=RATE_PERIOD)

    # -- alarms -------------------------------------------------------------------------------------------------
    def _alarm(
        self,
        construct_id: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
    ) -> cloudwatch.Alarm:
        """An alarm on one period of ``metric``; no data (nothing happened) is not a breach."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = actions.SnsAction(self.alarm_topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[construct_id] = alarm
        return alarm

    def _add_alarms(self) -> None:
        for name, queue in self._resources.dead_letter_queues.items():
            self._alarm(
                f"{name}{ids.DEAD_LETTER_ALARM_SUFFIX}",
                f"{name} holds messages that failed after their retries; inspect and redrive or discard them.",
                queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=ALARM_PERIOD),
                0,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )
        machine = self._resources.state_machine
        for construct_id, metric, what in (
            (ids.FAILED_EXECUTIONS_ALARM, machine.metric_failed(period=ALARM_PERIOD), "failed"),
            (ids.TIMED_OUT_EXECUTIONS_ALARM, machine.metric_timed_out(period=ALARM_PERIOD), "timed out"),
        ):
            self._alarm(
                construct_id,
                f"A case workflow execution {what}; its case is closed as FAILED or stuck: read its timeline.",
                metric,
                1,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            )
        self._add_mail_alarms()
        self._alarm(
            ids.REVIEWS_NEAR_TIMEOUT_ALARM,
            "A review is close to its approval timeout; without a decision its case expires unsent.",
            self.own_metric(names.REVIEWS_NEAR_TIMEOUT, period=GRAPH_PERIOD),
            1,
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )

    def _add_mail_alarms(self) -> None:
        bounce_rate = cloudwatch.MathExpression(
            expression="IF(sent > 0, 100 * bounced / sent, 0)",
            using_metrics={
                "bounced": self.own_metric(names.NOTICE_BOUNCED, period=RATE_PERIOD),
                "sent": self.own_metric(names.NOTICES_SENT, period=RATE_PERIOD),
            },
            label="notices bounced (% of sent, per day)",
            period=RATE_PERIOD,
        )
        self._alarm(
            ids.BOUNCE_RATE_ALARM,
            f"More than {BOUNCE_RATE_PERCENT:g}% of the day's notices bounced: check the recipients' addresses.",
            bounce_rate,
            BOUNCE_RATE_PERCENT,
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        for construct_id, metric_name, threshold in (
            (ids.SES_BOUNCE_RATE_ALARM, SES_BOUNCE_RATE_METRIC, SES_BOUNCE_RATE),
            (ids.SES_COMPLAINT_RATE_ALARM, SES_COMPLAINT_RATE_METRIC, SES_COMPLAINT_RATE),
        ):
            self._alarm(
                construct_id,
                f"SES {metric_name} is above {threshold:g}, where SES reviews the account and may pause sending.",
                cloudwatch.Metric(
                    namespace=SES_NAMESPACE, metric_name=metric_name, statistic="Maximum", period=GRAPH_PERIOD
                ),
                threshold,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )

    # -- the dashboard ------------------------------------------------------------------------------------------
    def _add_widgets(self) -> None:
        interval_widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=f"{interval.label} (p50, p95)",
                left=[
                    self.own_metric(interval.metric_name, statistic=p, period=RATE_PERIOD, label=p)
                    for p in ("p50", "p95")
                ],
                left_y_axis=cloudwatch.YAxisProps(label="seconds", show_units=False),
                width=6,
            )
            for interval in INTERVALS
        ]
        case_counts = [self.own_metric(name, label=name) for name in names.CASE_COUNTS_BY_STATUS.values()]
        message_counts = [
            self.own_metric(name, label=name)
            for name in (
                names.NOTICES_SENT,
                names.NOTICE_BOUNCED,
                names.NOTICE_COMPLAINED,
                names.REVIEWS_REQUESTED,
                names.REVIEWS_NEAR_TIMEOUT,
            )
        ]
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown="## Cases\nFirst sighting -> drafted -> approved -> sent -> removed.",
                width=24,
                height=2,
            )
        )
        self.dashboard.add_widgets(*interval_widgets)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Cases reaching each status", left=case_counts, width=12),
            cloudwatch.GraphWidget(title="Notices, bounces and reviews", left=message_counts, width=12),
        )
        self.dashboard.add_widgets(
            self._breakdown_widget(
                "Cases notified per recipient domain", names.CASES_NOTIFIED, names.RECIPIENT_DIMENSION
            ),
            self._breakdown_widget(
                "Cases notified per country", names.CASES_NOTIFIED, names.COUNTRY_DIMENSION
            ),
            self._breakdown_widget(
                "Cases removed per recipient domain", names.CASES_REMOVED, names.RECIPIENT_DIMENSION
            ),
            cloudwatch.GraphWidget(
                title="Response time (sent -> removed, p50) per recipient domain",
                left=[
                    self._per_dimension(
                        INTERVALS[-1].metric_name, names.RECIPIENT_DIMENSION, "p50", "response time p50"
                    )
                ],
                width=6,
            ),
        )
        self._add_pipeline_widgets()
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24)
        )

    def _breakdown_widget(self, title: str, metric_name: str, dimension: str) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title=title, left=[self._per_dimension(metric_name, dimension, "Sum", metric_name)], width=6
        )

    def _add_pipeline_widgets(self) -> None:
        resources = self._resources
        queue_depths: list[cloudwatch.IMetric] = [
            queue.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=ALARM_PERIOD, label=name
            )
            for name, queue in {**resources.work_queues, **resources.dead_letter_queues}.items()
        ]
        oldest: list[cloudwatch.IMetric] = [
            queue.metric_approximate_age_of_oldest_message(
                statistic="Maximum", period=ALARM_PERIOD, label=name
            )
            for name, queue in resources.work_queues.items()
        ]
        machine = resources.state_machine
        executions: list[cloudwatch.IMetric] = [
            machine.metric_started(period=GRAPH_PERIOD, label="started"),
            machine.metric_failed(period=GRAPH_PERIOD, label="failed"),
            machine.metric_timed_out(period=GRAPH_PERIOD, label="timed out"),
        ]
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queue depth (crawl queue and dead letters)", left=queue_depths, width=8
            ),
            cloudwatch.GraphWidget(title="Age of the oldest crawl message", left=oldest, width=8),
            cloudwatch.GraphWidget(title="Case workflow executions", left=executions, width=8),
        )
        errors: list[cloudwatch.IMetric] = [
            function.metric_errors(period=GRAPH_PERIOD, label=name)
            for name, function in resources.functions.items()
        ]
        throttles: list[cloudwatch.IMetric] = [
            function.metric_throttles(period=GRAPH_PERIOD, label=name)
            for name, function in resources.functions.items()
        ]
        ses_rates: list[cloudwatch.IMetric] = [
            cloudwatch.Metric(
                namespace=SES_NAMESPACE,
                metric_name=metric,
                statistic="Maximum",
                period=GRAPH_PERIOD,
                label=metric,
            )
            for metric in (SES_BOUNCE_RATE_METRIC, SES_COMPLAINT_RATE_METRIC)
        ]
        ses_counts: list[cloudwatch.IMetric] = [
            cloudwatch.Metric(
                namespace=SES_NAMESPACE, metric_name=metric, statistic="Sum", period=GRAPH_PERIOD
            )
            for metric in ("Send", "Bounce", "Complaint")
        ]
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Lambda errors per function", left=errors, width=12),
            cloudwatch.GraphWidget(title="Lambda throttles per function", left=throttles, width=12),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="SES reputation (bounce and complaint rates)", left=ses_rates, width=12
            ),
            cloudwatch.GraphWidget(title="SES sends, bounces and complaints", left=ses_counts, width=12),
        )

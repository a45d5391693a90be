"""SES: the sending identity, the configuration set, and a topic that hears about bounces and complaints.

The topic feeds ``MailFeedbackFunction``, which records each event on its case (found by the message tags every
notice carries). What SNS cannot deliver to the function, and what the function still fails on after Lambda's
retries, lands in one dead-letter queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from takedown_infra import ids
from takedown_infra.constructs.python_function import FunctionDefaults, create_python_function

if TYPE_CHECKING:
    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_lambda as lambda_

    from takedown_infra.constructs.storage import StorageConstruct
    from takedown_infra.deployment import DeploymentConfig

SEND_ACTIONS: tuple[str, ...] = ("ses:SendEmail", "ses:SendRawEmail")
# What a sender needs to hear about: the notice did not arrive, or arrived and was reported as spam, and --
# for the case record -- that it did arrive.
MAIL_EVENTS: tuple[ses.EmailSendingEvent, ...] = (
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
    ses.EmailSendingEvent.DELIVERY,
)
# Lambda's own retries of a failed asynchronous invocation (SNS invokes asynchronously) before the DLQ.
FEEDBACK_RETRY_ATTEMPTS = 2


class NotificationsConstruct(Construct):
    """The SES pieces the approval request and the notice use.

    Attributes
    ----------
    identity
        The sender address from the deployment file (SES verifies it by email at deploy time).
    configuration_set
        Every message is sent through it (its name is ``TAKEDOWN_SES_CONFIGURATION_SET``); bounces and
        complaints go on the suppression list and to ``events_topic``.
    events_topic
        SNS topic (its own KMS key, SSL only) receiving bounce, complaint, reject, delay and delivery events.
    feedback_function
        ``MailFeedbackFunction``, subscribed to ``events_topic``: records each event on its case.
    feedback_dead_letter_queue
        Events SNS could not deliver to the function, or the function failed on after its retries (KMS, SSL
        only, kept 14 days).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        removal_policy: RemovalPolicy,
        defaults: FunctionDefaults,
        layers: list[lambda_.ILayerVersion],
        storage: StorageConstruct,
    ) -> None:
        super().__init__(scope, construct_id)
        self.identity = ses.EmailIdentity(
            self, ids.SENDER_IDENTITY, identity=ses.Identity.email(config.sender)
        )
        self.configuration_set = ses.ConfigurationSet(
            self,
            ids.CONFIGURATION_SET,
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
        )
        # A key of its own: SES must be able to use it, and SES has no business with the evidence key.
        self.events_key = kms.Key(
            self,
            ids.MAIL_EVENTS_KEY,
            description="Takedown SES bounce and complaint events topic",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        stack = Stack.of(self)
        self.events_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSesToPublishEncryptedEvents",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.events_topic = sns.Topic(
            self,
            ids.MAIL_EVENTS_TOPIC,
            display_name="Takedown mail events",
            master_key=self.events_key,
            enforce_ssl=True,
        )
        self.configuration_set.add_event_destination(
            ids.MAIL_EVENTS_DESTINATION,
            destination=ses.EventDestination.sns_topic(self.events_topic),
            events=list(MAIL_EVENTS),
        )
        self._add_feedback_function(defaults, layers, storage)

    def _add_feedback_function(
        self, defaults: FunctionDefaults, layers: list[lambda_.ILayerVersion], storage: StorageConstruct
    ) -> None:
        # SNS writes undeliverable events to the queue encrypted with the topic's key: it must be able to use it.
        self.events_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSnsToDeadLetterMailEvents",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        self.feedback_dead_letter_queue = sqs.Queue(
            self,
            ids.MAIL_FEEDBACK_DEAD_LETTER_QUEUE,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.events_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.feedback_function = create_python_function(
            self,
            ids.MAIL_FEEDBACK_FUNCTION,
            handler_module="handle_mail_feedback",
            defaults=defaults,
            layers=layers,
            description="Records SES bounces, complaints and deliveries on their case",
        )
        self.feedback_function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.feedback_dead_letter_queue),
            retry_attempts=FEEDBACK_RETRY_ATTEMPTS,
        )
        self.events_topic.add_subscription(
            subscriptions.LambdaSubscription(
                self.feedback_function, dead_letter_queue=self.feedback_dead_letter_queue
            )
        )

    @property
    def configuration_set_arn(self) -> str:
        """The configuration set's ARN (SES checks it on every send that names the set)."""
        return Stack.of(self).format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
        )

    def grant_send_email(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` send from the sender identity through the configuration set, and nothing else."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(SEND_ACTIONS),
            resource_arns=[self.identity.email_identity_arn, self.configuration_set_arn],
        )

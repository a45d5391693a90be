"""SES: the sending identity, the configuration set, and a topic that hears about bounces and complaints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from takedown_infra import ids

if TYPE_CHECKING:
    from aws_cdk import RemovalPolicy

    from takedown_infra.deployment import DeploymentConfig

SEND_ACTIONS: tuple[str, ...] = ("ses:SendEmail", "ses:SendRawEmail")
# What a sender needs to hear about: the notice did not arrive, or arrived and was reported as spam.
MAIL_EVENTS: tuple[ses.EmailSendingEvent, ...] = (
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
)


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
        SNS topic (its own KMS key, SSL only) receiving bounce, complaint, reject and delay events.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, removal_policy: RemovalPolicy
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

"""Rollout outcome notifications: ``axon.rollout`` events on the default bus, fanned out to an SNS topic."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from axon.rollout.events import notification_event_pattern
from cdk_app.constructs.event_patterns import event_pattern

# Services that publish to the topic and so must encrypt with its key.
PUBLISHERS = ("events.amazonaws.com", "cloudwatch.amazonaws.com")


class Notifications(Construct):
    """An encrypted topic fed by rollout outcome events and by alarms; subscribe to it to be told."""

    def __init__(self, scope: Construct, construct_id: str, *, dead_letters: sqs.IQueue) -> None:
        super().__init__(scope, construct_id)
        # A key of its own: the services allowed to use it for publishing never get the bundles' key.
        self.key = kms.Key(
            self,
            "TopicKey",
            description="axon: encrypts rollout and alarm notifications",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(service) for service in PUBLISHERS],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(self, "Topic", display_name="axon notifications", master_key=self.key, enforce_ssl=True)
        self.rule = events.Rule(
            self,
            "Outcomes",
            description="axon: rollout succeeded, failed or rolled back",
            event_pattern=event_pattern(notification_event_pattern()),
            targets=[targets.SnsTopic(self.topic, dead_letter_queue=dead_letters)],
        )

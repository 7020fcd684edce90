"""Where axon keeps state: the models bucket (bundles and published versions) and the registry table."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from axon.names import REGISTRY_TABLE
from axon.registry import keys
from cdk_app.nag import acknowledge, skip_scan

# Old versions of an uploaded bundle are kept this long after a newer upload (rollback uses versions/).
NONCURRENT_VERSION_DAYS = 30
ACCESS_LOG_DAYS = 365


class ModelsStore(Construct):
    """The models bucket, its access-log bucket and the KMS key that encrypts the bundles."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "DataKey",
            description="axon: encrypts model bundles and build artifacts",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # S3 server access logs can only be delivered to SSE-S3 buckets.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(ACCESS_LOG_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This bucket is the access-log destination of the models bucket; logging it to itself would loop.",
        )
        skip_scan(
            self.access_logs,
            "CKV_AWS_18",
            "This bucket is the access-log destination of the models bucket; logging it to itself would loop.",
        )
        skip_scan(
            self.access_logs,
            "CKV_AWS_21",
            "Access logs are written once by the S3 log delivery service and expire after a fixed period; "
            "versions would only keep deleted logs longer.",
        )
        self.bucket = s3.Bucket(
            self,
            "Models",
            versioned=True,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="models/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # EventBridge notifications set on the bucket itself: ``event_bridge_enabled=True`` would add a
        # custom-resource Lambda (and its role) only to call PutBucketNotificationConfiguration.
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )


class Registry(Construct):
    """The single registry table (key schema in ``axon.registry.keys``)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.TableV2(
            self,
            "Table",
            table_name=REGISTRY_TABLE,
            partition_key=dynamodb.Attribute(name=keys.PARTITION_KEY, type=string),
            sort_key=dynamodb.Attribute(name=keys.SORT_KEY, type=string),
            time_to_live_attribute=keys.TTL_ATTRIBUTE,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=keys.ENTITY_INDEX,
                    partition_key=dynamodb.Attribute(name=keys.ENTITY_ATTRIBUTE, type=string),
                    sort_key=dynamodb.Attribute(name=keys.PARTITION_KEY, type=string),
                )
            ],
            billing=dynamodb.Billing.on_demand(),
            # The AWS-managed key: encrypted and auditable in CloudTrail, with no key grants for callers.
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

"""Every resource name axon uses, as pure functions: CDK, Lambdas, CLI and local mode all call these."""

from __future__ import annotations

import re

API_NAME_PATTERN = r"^[a-z0-9-]{1,40}$"
_API_NAME_RE = re.compile(API_NAME_PATTERN)

PROJECT = "axon"
CORE_STACK = "AxonCore"
ECS_STACK = "AxonEcs"
LOCAL_MODELS_BUCKET = "axon-models"
LOCAL_PORT = 4566
# The `axon` CLI talks to the local stack only when told: its --endpoint-url, or this variable (never AWS_ENDPOINT_URL).
LOCAL_ENDPOINT_ENV = "AXON_ENDPOINT_URL"
DEFAULT_REGION = "us-east-1"
BUNDLE_PREFIX = "apis/"
BUNDLE_SUFFIX = ".tar.gz"
REGISTRY_TABLE = "axon-registry"
STATE_MACHINE = "axon-rollout"
ECR_REPOSITORY = "axon-serving"
CODEBUILD_PROJECT = "axon-image-build"
AUTOSCALER_SCHEDULE = "axon-autoscaler"
AUTOSCALER_SCHEDULE_EXPRESSION = "rate(1 minute)"
UPLOAD_RULE = "axon-bundle-uploaded"
EXECUTION_END_RULE = "axon-rollout-ended"
RECONCILER_SCHEDULE = "axon-reconciler"
RECONCILER_SCHEDULE_EXPRESSION = "rate(5 minutes)"
RECONCILE_PERIOD_SECONDS = 300
NOTIFICATION_SOURCE = "axon.rollout"
SAGEMAKER_EXECUTION_ROLE = "axon-sagemaker-execution"
# AxonEcs's smoke-test Lambda, in the VPC next to the (internal by default) ALB: the control plane invokes it to
# reach a new version through the test rule (axon.platforms.ecs.smoke). Module lambdas/ecs_smoke.py.
ECS_SMOKE_MODULE = "ecs_smoke"
ECS_SMOKE_FUNCTION = f"{PROJECT}-ecs-smoke"
ECS_SMOKE_TARGET_ENV = "AXON_ECS_SMOKE_TARGET"  # the function's one target: the ALB's base URL, set by AxonEcs
# AxonEcs's shared resources have fixed names, so that AxonCore's Lambdas are granted exactly these without a
# cross-stack reference (cdk_app/constructs/ecs_permissions.py), and local mode creates the same (axon_local.ecs).
ECS_CLUSTER = PROJECT
ECS_LOAD_BALANCER = PROJECT
ECS_TASK_ROLE = f"{PROJECT}-ecs-task"
ECS_EXECUTION_ROLE = f"{PROJECT}-ecs-execution"
# Local mode only: AxonEcs lets CloudFormation name its security groups; axon_local.ecs.world names them so.
ECS_ALB_SECURITY_GROUP = f"{PROJECT}-alb"
ECS_TASK_SECURITY_GROUP = f"{PROJECT}-tasks"
# Per-version target groups (axon.platforms.ecs.listener.target_group_name): names stop at 32 characters, so the
# prefix is shorter than PROJECT's; the Lambdas' grants match it (``ax-*``).
TARGET_GROUP_PREFIX = "ax-"


def capacity_provider_name(instance_type: str) -> str:
    """``g5.xlarge`` -> ``axon-g5-xlarge`` (capacity provider names may not start with ``aws``/``ecs``)."""
    return f"{PROJECT}-{instance_type.replace('.', '-')}"


METRIC_NAMESPACE = "Axon"
# The autoscaler's own decisions (axon.autoscaler.emf), apart from the replicas' InFlight; platform alarms watch it.
AUTOSCALER_METRIC_NAMESPACE = f"{METRIC_NAMESPACE}/Autoscaler"
# CloudWatch names of the platform's own dashboard and alarms (cdk_app.constructs.observability). The alarms are
# not named axon-*: the Lambdas may manage axon-* alarms (per-API rollback alarms), never these.
DASHBOARD = PROJECT
PLATFORM_ALARM_PREFIX = "AxonPlatform-"
# Rollout notifications (axon.rollout.events.notify) go to the account's default EventBridge bus.
EVENT_BUS = "default"
IN_FLIGHT_METRIC = "InFlight"
# Published with InFlight, same dimensions (the demand signal, Little's law: arrival rate x service time).
# ARRIVALS_METRIC: requests that asked a serving process for the predictor in a 10-s period, the ones refused with
# 503 because its queue was full included (Sum over processes = the variant's arrivals). Not the EMF "Requests",
# which counts responses. SERVICE_TIME_METRIC: seconds each request spent in the predictor, queueing excluded, as a
# statistic set per process and period (Average over processes = the variant-wide mean per request).
ARRIVALS_METRIC = "Arrivals"
SERVICE_TIME_METRIC = "ServiceTime"
METRIC_DIMENSIONS = ("Api", "Variant")
IN_FLIGHT_PERIOD_SECONDS = 10
# Per-API isolation of user code: every API's replicas run as their own IAM role, created by the control plane
# under this path with the boundary below (a managed policy of the AxonCore stack), and publish the in-flight
# signal the autoscaler reads in their own namespace (PutMetricData is conditioned on it), see docs/security.md.
API_ROLE_PATH = "/axon/api/"
API_ROLE_BOUNDARY = "axon-api-boundary"
API_ROLE_BOUNDARY_PATH = "/axon/"
API_METRIC_NAMESPACE_PREFIX = "Axon/Api/"
# CloudWatch Logs turns an embedded-metric-format line of any log group into a metric of any namespace, with no IAM
# check, so the namespace alone cannot stop another API's code from forging this API's signal. Each API therefore
# has a random 128-bit signal key (created with the API, kept in the registry, given to its replicas only): the
# autoscaler reads only datapoints that carry it as a dimension, which another API cannot know.
SIGNAL_KEY_ENV = "AXON_SIGNAL_KEY"
SIGNAL_KEY_DIMENSION = "Key"


def in_flight_dimensions(api: str, variant: str, signal_key: str) -> list[dict[str, str]]:
    """The dimensions of the autoscaler's input, as replicas publish it and the autoscaler reads it.

    >>> [d["Name"] for d in in_flight_dimensions("iris", "AllTraffic", "k")]
    ['Api', 'Variant', 'Key']
    >>> [d["Name"] for d in in_flight_dimensions("iris", "AllTraffic", "")]  # a version from before signal keys
    ['Api', 'Variant']
    """
    dimensions = [{"Name": name, "Value": value} for name, value in zip(METRIC_DIMENSIONS, (api, variant), strict=True)]
    if signal_key:
        dimensions.append({"Name": SIGNAL_KEY_DIMENSION, "Value": signal_key})
    return dimensions


def is_valid_api_name(api: str) -> bool:
    return bool(_API_NAME_RE.match(api))


def api_role_name(api: str) -> str:
    """The IAM role an API's replicas run as (SageMaker execution role, ECS task role): ``axon-api-<api>``."""
    return f"{PROJECT}-api-{api}"


def api_metric_namespace(api: str) -> str:
    """Where an API's replicas publish ``InFlight``: only that API's role may write it (``cloudwatch:namespace``)."""
    return f"{API_METRIC_NAMESPACE_PREFIX}{api}"


def endpoint_name(api: str) -> str:
    """SageMaker endpoint (and ECS service family) of an API: ``axon-<api>``."""
    return f"{PROJECT}-{api}"


def model_name(api: str, version_label: str) -> str:
    """One SageMaker model per version; 63-char limit, so labels stay short."""
    return f"{PROJECT}-{api}-{version_label}"[:63]


def endpoint_config_name(api: str, version_label: str) -> str:
    return f"{PROJECT}-{api}-{version_label}"[:63]


# SageMaker guardrails require the new endpoint config to keep the variant name, so it is fixed per API;
# versions are told apart by their endpoint config (the ``EndpointConfigName`` metric dimension).
VARIANT_NAME = "AllTraffic"


def alarm_name(api: str, kind: str) -> str:
    """Per-API CloudWatch alarm used for automatic rollback (``kind``: ``5xx`` or ``latency``)."""
    return f"{PROJECT}-{api}-{kind}"


def bundle_key(api: str, filename: str = "bundle.tar.gz") -> str:
    return f"{BUNDLE_PREFIX}{api}/{filename}"


# Validated bundles are copied here, one immutable copy per version: SageMaker's ModelDataUrl cannot name an S3
# VersionId, and the upload key may be overwritten by the next upload. Replicas read only this prefix.
VERSIONS_PREFIX = "versions/"


def immutable_bundle_key(api: str, label: str) -> str:
    """Where version ``label`` of ``api`` is kept: ``versions/<api>/<label>/bundle.tar.gz``."""
    return f"{VERSIONS_PREFIX}{api}/{label}/bundle.tar.gz"


def api_from_key(key: str) -> str | None:
    """``apis/<api>/<anything>.tar.gz`` -> ``<api>``; ``None`` when the key is not a bundle key."""
    if not key.startswith(BUNDLE_PREFIX) or not key.endswith(BUNDLE_SUFFIX):
        return None
    parts = key[len(BUNDLE_PREFIX) :].split("/", 1)
    if len(parts) != 2 or not parts[1]:
        return None
    return parts[0]


# Async APIs (``kind: async``): requests are read from inputs/<api>/ and answers written under results/<api>/ in
# the models bucket (the API's role may read and write only its own prefixes), and SageMaker publishes each outcome
# to one of the API's two SNS topics, created by the platform adapter.
ASYNC_INPUTS_PREFIX = "inputs/"
ASYNC_RESULTS_PREFIX = "results/"
ASYNC_FAILURES_FOLDER = "failures/"
ASYNC_TOPIC_OUTCOMES = ("success", "error")
ASYNC_TOPIC_PATTERN = f"{PROJECT}-*-async-*"  # every API's topics, for the control plane's grants
ASYNC_MAX_INPUT_BYTES = 1024**3  # SageMaker asynchronous inference takes inputs of up to 1 GB


def async_input_prefix(api: str) -> str:
    """``inputs/<api>/``: where ``axon submit`` puts request bodies for InvokeEndpointAsync."""
    return f"{ASYNC_INPUTS_PREFIX}{api}/"


def async_output_prefix(api: str) -> str:
    """``results/<api>/``: the endpoint's ``S3OutputPath``; an answer is ``<inference id>.out`` under it."""
    return f"{ASYNC_RESULTS_PREFIX}{api}/"


def async_failure_prefix(api: str) -> str:
    """``results/<api>/failures/``: the endpoint's ``S3FailurePath`` (``<inference id>-error.out``)."""
    return f"{async_output_prefix(api)}{ASYNC_FAILURES_FOLDER}"


def async_output_key(api: str, inference_id: str) -> str:
    return f"{async_output_prefix(api)}{inference_id}.out"


def async_failure_key(api: str, inference_id: str) -> str:
    return f"{async_failure_prefix(api)}{inference_id}-error.out"


def async_topic_name(api: str, outcome: str) -> str:
    """SNS topic of an async API's outcomes (``success`` or ``error``): ``axon-<api>-async-<outcome>``."""
    if outcome not in ASYNC_TOPIC_OUTCOMES:
        raise ValueError(f"outcome must be one of {ASYNC_TOPIC_OUTCOMES}, not {outcome!r}")
    return f"{PROJECT}-{api}-async-{outcome}"


# The backlog of an async API, read by the autoscaler (standard resolution: one datapoint a minute). On SageMaker,
# ``ApproximateBacklogSize`` (requests queued or being processed) and ``HasBacklogWithoutCapacity`` (1 while requests
# wait and the endpoint has no instance) in ``AWS/SageMaker`` by ``EndpointName``; on ECS, the API's SQS queue's
# visible plus in-flight messages in ``AWS/SQS`` by ``QueueName`` (``async_queue_name``).
ASYNC_BACKLOG_NAMESPACE = "AWS/SageMaker"
ASYNC_BACKLOG_METRIC = "ApproximateBacklogSize"
ASYNC_NO_CAPACITY_METRIC = "HasBacklogWithoutCapacity"
ASYNC_BACKLOG_PERIOD_SECONDS = 60
SQS_NAMESPACE = "AWS/SQS"
SQS_BACKLOG_METRICS = ("ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible")


def async_queue_name(api: str) -> str:
    """SQS queue of an ECS async API's requests: ``axon-<api>-async`` (its dead-letter queue adds ``-dlq``)."""
    return f"{PROJECT}-{api}-async"


def image_tag(image_key: str) -> str:
    """ECR tag of a content-addressed serving image."""
    return f"rt-{image_key}"


def execution_name(bucket: str, key: str, version_id: str) -> str:
    """Deterministic Step Functions execution name for an upload (80 chars, [A-Za-z0-9-_]).

    The same bucket/key/VersionId always yields the same name, so a duplicated event is refused by
    StartExecution with ExecutionAlreadyExists instead of starting a second rollout.
    """
    import hashlib

    digest = hashlib.sha256(f"{bucket}\0{key}\0{version_id}".encode()).hexdigest()[:32]
    api = api_from_key(key) or "unknown"
    return f"{api[:40]}-{digest}"[:80]


def execution_arn(state_machine_arn: str, name: str) -> str:
    """ARN of the execution ``name`` of a state machine (``...:stateMachine:M`` -> ``...:execution:M:name``)."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


# CloudFormation outputs of the AxonCore stack that the CLI reads (DescribeStacks) to find the platform on AWS.
OUTPUT_MODELS_BUCKET = "ModelsBucketName"
OUTPUT_REGISTRY_TABLE = "RegistryTableName"
OUTPUT_STATE_MACHINE_ARN = "RolloutStateMachineArn"
# The managed policy of everything the CLI does (cdk_app/constructs/cli_policy.py), and the output holding its ARN:
# an admin attaches it to the users, roles or groups that run `axon`.
CLI_POLICY = f"{PROJECT}-cli"
OUTPUT_CLI_POLICY_ARN = "CliPolicyArn"

# Local mode: the front door serves per-variant request statistics here (the CLI's `axon get` reads them).
LOCAL_STATS_PATH = "/_axon/stats"


def log_group(api: str) -> str:
    """Where a SageMaker endpoint's containers log (and where local replicas' output is shipped)."""
    return f"/aws/sagemaker/Endpoints/{endpoint_name(api)}"


# axon-serve writes this to stderr, followed by the reason, when the model cannot load; the platforms look for it
# in a replica's log to fail the rollout at once instead of after the health-check timeout.
MODEL_LOAD_FAILED_MARKER = "axon-serve: model failed to load:"

# The rollout state machine's execution timeout ("TimeoutSeconds" in statemachines/rollout.asl.json; a test keeps
# them equal). Step Functions ends an execution past it, so a spec whose planned rollout takes longer is refused.
ROLLOUT_TIMEOUT_SECONDS = 28_800


# ECS async APIs: the queue's dead-letter queue, the worker's environment (set by the ECS platform on the task
# definition, read by ``axon-serve`` in worker mode) and the metrics the worker publishes in the API's own namespace
# (``api_metric_namespace``), by ``Version``, which the ECS rollback alarms of an async version watch.
ASYNC_DLQ_SUFFIX = "-dlq"
ASYNC_QUEUE_PATTERN = f"{PROJECT}-*-async*"  # every API's queue and dead-letter queue, for the grants
ASYNC_QUEUE_URL_ENV = "AXON_ASYNC_QUEUE_URL"  # its presence turns worker mode on
ASYNC_SUCCESS_TOPIC_ENV = "AXON_ASYNC_SUCCESS_TOPIC"
ASYNC_ERROR_TOPIC_ENV = "AXON_ASYNC_ERROR_TOPIC"
ASYNC_VISIBILITY_ENV = "AXON_ASYNC_VISIBILITY_SECONDS"
ASYNC_DRAIN_ENV = "AXON_ASYNC_DRAIN_SECONDS"  # how long a stopping worker finishes what it holds
# Receives of one message before SQS moves it to the dead-letter queue (the queue's redrive policy); the worker
# writes a failure outcome on the last one rather than let a request it could not run vanish into the DLQ.
ASYNC_MAX_RECEIVES = 5
ASYNC_WORKER_ERRORS_METRIC = "AsyncModelErrors"  # requests the model failed (5xx), Sum per minute
ASYNC_WORKER_LATENCY_METRIC = "AsyncModelLatency"  # seconds per request the model took, Average per minute
ASYNC_WORKER_VERSION_DIMENSION = "Version"


def async_dlq_name(api: str) -> str:
    """``axon-<api>-async-dlq``: where a message that failed ``maxReceiveCount`` receives ends."""
    return f"{async_queue_name(api)}{ASYNC_DLQ_SUFFIX}"

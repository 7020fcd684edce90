"""The CloudWatch dashboard (per API and for the platform) and the alarms that watch axon itself."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from axon.names import (
    AUTOSCALER_METRIC_NAMESPACE,
    DASHBOARD,
    IN_FLIGHT_METRIC,
    IN_FLIGHT_PERIOD_SECONDS,
    METRIC_DIMENSIONS,
    METRIC_NAMESPACE,
    PLATFORM_ALARM_PREFIX,
    PROJECT,
)
from cdk_app.constructs.function import AxonFunction

ALARM_PERIOD = Duration.minutes(5)
# SageMaker endpoint metrics of axon's endpoints (named axon-<api>); the bare term matches that name token.
_SAGEMAKER = "{AWS/SageMaker,EndpointName,VariantName}"


def _search(query: str, statistic: str, period: Duration, label: str) -> cw.MathExpression:
    return cw.MathExpression(
        expression=f"SEARCH('{query}', '{statistic}', {int(period.to_seconds())})",
        using_metrics={},
        label=label,
        period=period,
    )


class Observability(Construct):
    """One dashboard, and alarms on failed rollouts, Lambda errors, dead letters and a silent autoscaler."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        functions: Sequence[AxonFunction],
        autoscaler: AxonFunction,
        dead_letters: sqs.IQueue,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        action = cw_actions.SnsAction(topic)
        self.alarms: list[cw.Alarm] = []

        def alarm(
            name: str,
            metric: cw.IMetric,
            description: str,
            comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing_data: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING,
            evaluation_periods: int = 1,
        ) -> None:
            created = cw.Alarm(
                self,
                name,
                alarm_name=f"{PLATFORM_ALARM_PREFIX}{name}",
                alarm_description=description,
                metric=metric,
                threshold=1,
                evaluation_periods=evaluation_periods,
                comparison_operator=comparison,
                treat_missing_data=missing_data,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)

        # A refused or rolled-back version ends its execution in the Fail state by design (its reason is in the
        # registry), so failed executions are not an alarm; an execution that timed out or was aborted never ran
        # HandleFailure, and its API's lease is held until it expires.
        alarm(
            "RolloutExecutionsBroken",
            cw.MathExpression(
                expression="timedOut + aborted",
                using_metrics={
                    "timedOut": state_machine.metric_timed_out(period=ALARM_PERIOD),
                    "aborted": state_machine.metric_aborted(period=ALARM_PERIOD),
                },
                period=ALARM_PERIOD,
            ),
            "A rollout execution timed out or was aborted: HandleFailure did not run and the API's lease stays held.",
        )
        for function in functions:
            alarm(
                f"{function.spec.logical_name}Errors",
                function.function.metric_errors(period=ALARM_PERIOD),
                f"{function.spec.function_name} raised an unhandled error.",
            )
        alarm(
            "DeadLetters",
            dead_letters.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD),
            "An upload event or an autoscaler tick could not be delivered; see the dead-letter queue.",
        )
        alarm(
            "AutoscalerSilent",
            autoscaler.function.metric_invocations(period=ALARM_PERIOD),
            "The autoscaler has not run for 5 minutes (it is scheduled every minute).",
            comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing_data=cw.TreatMissingData.BREACHING,
        )
        alarm(
            "ApiAtMaxReplicas",
            cw.Metric(
                namespace=AUTOSCALER_METRIC_NAMESPACE,
                metric_name="AtMaxReplicas",
                statistic="Maximum",
                period=ALARM_PERIOD,
            ),
            "An API has sat at its max_replicas for 15 minutes: raise the cap or expect queueing (see the "
            "autoscaler's decisions in the registry and the Axon/Autoscaler metrics per Api).",
            evaluation_periods=3,
        )
        self.dashboard = self._dashboard(state_machine, functions, autoscaler)

    def _dashboard(
        self, state_machine: sfn.StateMachine, functions: Sequence[AxonFunction], autoscaler: AxonFunction
    ) -> cw.Dashboard:
        minute = Duration.minutes(1)
        in_flight = f'{{{METRIC_NAMESPACE},{",".join(METRIC_DIMENSIONS)}}} MetricName="{IN_FLIGHT_METRIC}"'
        per_api = [
            _search(in_flight, "Maximum", Duration.seconds(IN_FLIGHT_PERIOD_SECONDS), "in flight"),
            _search(f'{_SAGEMAKER} MetricName="ModelLatency" {PROJECT}', "Average", minute, "latency (us)"),
            _search(f'{_SAGEMAKER} MetricName="Invocation4XXErrors" {PROJECT}', "Sum", minute, "4xx"),
            _search(f'{_SAGEMAKER} MetricName="Invocation5XXErrors" {PROJECT}', "Sum", minute, "5xx"),
        ]
        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=DASHBOARD)
        dashboard.add_widgets(
            *(cw.GraphWidget(title=f"Per API: {m.label}", left=[m], width=6) for m in per_api),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Rollouts",
                left=[
                    state_machine.metric_started(period=minute),
                    state_machine.metric_succeeded(period=minute),
                    state_machine.metric_failed(period=minute),
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Control-plane Lambda errors",
                left=[f.function.metric_errors(period=minute, label=f.spec.name) for f in functions],
                width=8,
            ),
            cw.AlarmStatusWidget(title="Platform alarms", alarms=self.alarms, width=8),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Autoscaler ticks",
                left=[autoscaler.function.metric_invocations(period=minute)],
                right=[autoscaler.function.metric_duration(period=minute)],
                width=8,
            ),
            cw.LogQueryWidget(
                title="Autoscaler decisions (replicas per API)",
                log_group_names=[autoscaler.log_group.log_group_name],
                query_lines=[
                    "fields @timestamp, api, message",
                    "filter ispresent(api)",
                    "sort @timestamp desc",
                    "limit 100",
                ],
                width=16,
            ),
        )
        return dashboard

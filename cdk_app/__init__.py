"""The AWS CDK app that deploys axon: ``AxonCore`` (everything, SageMaker APIs) and ``AxonEcs`` (ECS GPU APIs)."""

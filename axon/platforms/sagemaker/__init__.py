"""The SageMaker platform: one real-time endpoint per API, blue-green by SageMaker's deployment guardrails.

- :mod:`~axon.platforms.sagemaker.platform`: :class:`SageMakerPlatform`, the endpoint's rollout and capacity;
- :mod:`~axon.platforms.sagemaker.specs`: pure request bodies (model, endpoint config, endpoint update, alarms);
- :mod:`~axon.platforms.sagemaker.logs`: why a new variant's model cannot load, from its CloudWatch logs.
"""

"""The AWS CDK app that deploys axon: ``cdk deploy`` creates the ``AxonCore`` stack."""

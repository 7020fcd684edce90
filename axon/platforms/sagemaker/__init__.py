"""The SageMaker platform: one real-time endpoint per API, blue-green by SageMaker deployment guardrails."""

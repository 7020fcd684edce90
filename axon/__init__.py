"""axon: serverless model deployment on AWS."""

__version__ = "0.1.0"

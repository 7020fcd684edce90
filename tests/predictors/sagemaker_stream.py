"""SageMaker style with a generator predict_fn: each element of the decoded array is streamed."""


def model_fn(model_dir):
    return 10


def predict_fn(data, model):
    for value in data:
        yield {"y": value * model}

"""SageMaker style with every function: input_fn, predict_fn and output_fn all user code."""

import json


def model_fn(model_dir):
    return {"factor": 3}


def input_fn(input_data, content_type):
    if content_type != "application/json":
        raise ValueError(f"unsupported {content_type}")
    return json.loads(input_data)


def predict_fn(data, model):
    return [x * model["factor"] for x in data]


def output_fn(prediction, accept):
    return json.dumps({"predictions": prediction}), "application/json"

"""Call an axon API with the SageMaker Python SDK (v3, ``sagemaker.core``): axon endpoints are SageMaker endpoints.

Works the same against AWS and against ``axon local up`` (export AWS_ENDPOINT_URL first):

    python examples/sdk_predict.py iris '{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
"""

import json
import sys

from sagemaker.core.resources import Endpoint


def predict(api: str, payload: object) -> object:
    endpoint = Endpoint.get(endpoint_name=f"axon-{api}")
    print(f"{endpoint.endpoint_name}: {endpoint.endpoint_status}, config {endpoint.endpoint_config_name}")
    answer = endpoint.invoke(body=json.dumps(payload), content_type="application/json", accept="application/json")
    return json.loads(answer.body.read())


if __name__ == "__main__":
    print(json.dumps(predict(sys.argv[1], json.loads(sys.argv[2]))))

"""SageMaker style with model_fn only: the toolkit's default decode, model.predict and encode."""


class Doubler:
    def predict(self, data):
        return data * 2


def model_fn(model_dir):
    return Doubler()

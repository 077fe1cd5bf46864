"""Models-from-code entry point: MLflow runs this file to build the serving model, so no pickle is stored.

`log_generator_model` logs it with model_config {"task": ...}; the weights come separately from the
weights-only generator export (see pyfunc.GeneratorPyfunc.load_context).
"""

import mlflow
from mlflow.models import ModelConfig

from gan_core.serving.pyfunc import pyfunc_for_task

mlflow.models.set_model(pyfunc_for_task(ModelConfig().get("task")))

"""The serving pyfuncs in-process: documented shapes and ranges, seeds, PNG output, and 400-class errors."""

import base64
import io

import numpy as np
import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException  # noqa: E402
from PIL import Image  # noqa: E402

from gan_core.serving.pyfunc import MAX_IMAGES, MAX_K, decode_png, encode_png, pyfunc_for_task  # noqa: E402


@pytest.fixture(scope="module")
def models(exported_generators):
    """task -> a loaded pyfunc, built exactly as MLflow builds it (load_context with the artifact)."""
    loaded = {}
    for cfg, path in exported_generators.values():
        model = pyfunc_for_task(cfg.task)
        model.load_context(mlflow.pyfunc.PythonModelContext(artifacts={"generator": str(path)}, model_config=None))
        loaded[cfg.task] = model
    return loaded


def _predict(model, rows, **params):
    return model.predict(None, rows, params)


def _inpaint_rows(images, top=7, left=7):
    return pd.DataFrame({"image": list(images), "top": top, "left": left})


def test_gan_returns_n_images_in_unit_range_repeatable_by_seed(models):
    out = _predict(models["gan"], [], n=5, seed=3)["images"]
    assert out.shape == (5, 1, 28, 28) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1
    assert np.array_equal(out, _predict(models["gan"], [], n=5, seed=3)["images"])
    assert not np.array_equal(out, _predict(models["gan"], [], n=5, seed=4)["images"])
    assert _predict(models["gan"], pd.DataFrame(index=[0]), n=1)["images"].shape == (1, 1, 28, 28)


def test_cgan_returns_one_image_per_label(models):
    out = _predict(models["cgan"], pd.DataFrame({"label": [3, 1, 4, 1]}), seed=0)
    assert out["images"].shape == (4, 1, 28, 28) and out["labels"].tolist() == [3, 1, 4, 1]
    assert 0 <= out["images"].min() and out["images"].max() <= 1


def test_inpaint_returns_mean_std_and_samples_that_keep_the_context(models):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 1, 28, 28)).astype(np.float32)
    rows = _inpaint_rows([images[0], images[1][0]])  # (C, H, W) and (H, W) are both accepted for grey
    out = _predict(models["inpaint"], rows, k=6, seed=1)
    assert out["inpainted"].shape == (2, 1, 28, 28) and out["std"].shape == (2, 1, 28, 28)
    assert out["samples"].shape == (2, 4, 1, 28, 28)
    context = np.ones((28, 28), dtype=bool)
    context[7:21, 7:21] = False
    assert np.allclose(out["inpainted"][:, 0][:, context], images[:, 0][:, context], atol=1e-4)
    assert np.all(out["std"][:, 0][:, context] == 0) and out["std"][:, 0][:, ~context].max() > 0
    assert 0 <= out["inpainted"].min() and out["inpainted"].max() <= 1
    assert _predict(models["inpaint"], rows, k=2)["samples"].shape == (2, 2, 1, 28, 28)  # min(k, 4)


def test_png_format_round_trips(models):
    pngs = _predict(models["gan"], [], n=2, format="png")["images"]
    assert len(pngs) == 2 and Image.open(io.BytesIO(base64.b64decode(pngs[0]))).size == (28, 28)
    image = np.round(np.random.default_rng(1).uniform(size=(1, 28, 28)) * 255) / 255
    assert np.allclose(decode_png(encode_png(image), 1), image, atol=1e-6)
    out = _predict(models["inpaint"], _inpaint_rows([encode_png(image)]), k=2, format="png")
    assert len(out["inpainted"]) == 1 and len(out["samples"][0]) == 2
    assert decode_png(out["std"][0], 1).shape == (1, 28, 28)


GRID = np.full((28, 28), 0.5).tolist()
BAD_REQUESTS = [
    ("gan", [], {"n": 0}, "params.n: got 0, allowed 1..64"),
    ("gan", [], {"n": MAX_IMAGES + 1}, "params.n: got 65"),
    ("gan", [], {"seed": -1}, "params.seed"),
    ("gan", [], {"format": "jpeg"}, "params.format: got 'jpeg', allowed array or png"),
    ("gan", pd.DataFrame({"label": [1]}), {}, "takes no inputs"),
    ("cgan", pd.DataFrame({"label": [10]}), {}, "labels must be integers 0..9"),
    ("cgan", pd.DataFrame({"label": [-1]}), {}, "labels must be integers 0..9"),
    ("cgan", pd.DataFrame({"label": ["3"]}), {}, "labels must be integers"),
    ("cgan", pd.DataFrame({"label": [0] * (MAX_IMAGES + 1)}), {}, "allowed 1..64"),
    ("cgan", pd.DataFrame({"digit": [1]}), {}, "missing ['label']"),
    ("cgan", pd.DataFrame({"label": [1], "colour": ["red"]}), {}, "unexpected ['colour']"),
    ("inpaint", _inpaint_rows([GRID]), {"k": MAX_K + 1}, "params.k: got 129"),
    ("inpaint", _inpaint_rows([GRID], top=0), {}, "top=0 is outside"),
    ("inpaint", _inpaint_rows([GRID], left=20), {}, "left=20 is outside"),
    ("inpaint", _inpaint_rows([GRID], top=2.5), {}, "inputs.top[0]: got 2.5"),
    ("inpaint", _inpaint_rows([np.full((27, 28), 0.5).tolist()]), {}, "got shape [1, 27, 28]"),
    ("inpaint", _inpaint_rows([np.full((3, 28, 28), 0.5).tolist()]), {}, "got shape [3, 28, 28]"),
    ("inpaint", _inpaint_rows([np.full((28, 28), 2.0).tolist()]), {}, "in [0, 1]"),
    ("inpaint", _inpaint_rows([[[0.5, 0.5], [0.5]]]), {}, "not a rectangular array"),
    ("inpaint", _inpaint_rows(["bm90IGEgcG5n"]), {}, "base64-encoded PNG"),
    ("inpaint", _inpaint_rows([GRID] * 9), {}, "allowed 1..8"),
    ("inpaint", pd.DataFrame({"image": [GRID], "top": [7]}), {}, "missing ['left']"),
]


@pytest.mark.parametrize(("task", "rows", "params", "message"), BAD_REQUESTS)
def test_bad_requests_are_invalid_parameter_errors(models, task, rows, params, message):
    with pytest.raises(MlflowException) as caught:
        _predict(models[task], rows, **params)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE" and caught.value.get_http_status_code() == 400
    assert message in caught.value.message


def test_signatures_document_the_knobs():
    for task, knobs in {"gan": ["n", "seed", "format"], "cgan": ["seed", "format"], "inpaint": ["k", "seed", "format"]}.items():
        signature = type(pyfunc_for_task(task)).signature()
        assert [spec.name for spec in signature.params.params] == knobs
    assert type(pyfunc_for_task("cgan")).signature().inputs.input_names() == ["label"]
    with pytest.raises(ValueError, match="known: gan, cgan, inpaint"):
        pyfunc_for_task("segment")


def test_an_export_of_another_task_is_refused(exported_generators):
    _, path = exported_generators["mnist_gan"]
    with pytest.raises(MlflowException, match="serves task 'cgan', the export is a 'gan' model"):
        pyfunc_for_task("cgan").load_context(mlflow.pyfunc.PythonModelContext({"generator": str(path)}, None))

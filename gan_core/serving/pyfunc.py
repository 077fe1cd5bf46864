"""MLflow pyfunc models serving an exported EMA generator: one PythonModel per task kind.

Requests are checked here, not in the servers, so MLflow's scoring server and our alias-following
server reject the same bad input with the same message: every problem is an MlflowException with
INVALID_PARAMETER_VALUE, which both servers answer with HTTP 400.

Request and response shapes (images are float arrays in [0, 1], rounded to 1e-4, or base64 PNG):
  gan      inputs: none (`{"inputs": []}`)           params: n, seed, format
           -> {"images": (n, C, H, W)}
  cgan     inputs: column `label` (int 0..9, one image each)   params: seed, format
           -> {"images": (B, C, H, W), "labels": (B,)}
  inpaint  inputs: columns `image` ((H, W) or (C, H, W) floats in [0, 1], or a base64 PNG), `top`, `left`
           (the hole's top-left corner)                    params: k, seed, format
           -> {"inpainted": (B, C, H, W) hole filled with the mean of k samples,
               "std": (B, C, H, W) per-pixel std of the k samples (0 outside the hole),
               "samples": (B, S, C, H, W) the first S = min(k, 4) samples pasted into the image}
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any, ClassVar

import mlflow
import numpy as np
import pandas as pd
import torch
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
from mlflow.types.schema import AnyType
from PIL import Image, UnidentifiedImageError

from gan_core.checkpoint import load_exported_generator
from gan_core.config import NUM_CLASSES, ExperimentConfig
from gan_core.data.masks import validate_box
from gan_core.uncertainty import uncertainty_maps

MAX_IMAGES = 64  # n (gan) and labels (cgan) per request
MAX_INPAINT_IMAGES = 8
MAX_K = 128  # samples per inpainting
RETURNED_SAMPLES = 4
FORMATS = ("array", "png")
DECIMALS = 4  # float outputs are rounded: 1e-4 is far below one 8-bit grey level, and JSON shrinks 3x


def bad_request(message: str) -> MlflowException:
    """The one error type for client mistakes: both servers answer it with 400 and the message."""
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


def _param(name: str, default: Any) -> ParamSpec:
    return ParamSpec(name, "string" if isinstance(default, str) else "long", default)


def _int_knob(params: dict[str, Any], name: str, low: int, high: int) -> int:
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise bad_request(f"params.{name}: got {value!r}, expected an integer {low}..{high}")
    if not low <= int(value) <= high:
        raise bad_request(f"params.{name}: got {value}, allowed {low}..{high}")
    return int(value)


def _format_knob(params: dict[str, Any]) -> str:
    if params["format"] not in FORMATS:
        raise bad_request(f"params.format: got {params['format']!r}, allowed {' or '.join(FORMATS)}")
    return params["format"]


def encode_png(image: np.ndarray) -> str:
    """A (C, H, W) float image in [0, 1] as a base64 PNG (grey for C = 1, RGB for C = 3)."""
    pixels = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
    pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_png(text: str, channels: int) -> np.ndarray:
    """A base64 PNG as a (C, H, W) float image in [0, 1]; the channel count is converted to the model's."""
    try:
        image = Image.open(io.BytesIO(base64.b64decode(text, validate=True)))
        image.load()
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError) as error:
        raise bad_request(f"image: a string must be a base64-encoded PNG ({error})") from None
    pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.float32) / 255
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def _encode_images(images: np.ndarray, fmt: str) -> Any:
    """(..., C, H, W) floats -> the same floats rounded, or nested lists of base64 PNGs."""
    if fmt == "array":
        return np.round(images, DECIMALS)
    if images.ndim == 3:
        return encode_png(images)
    return [_encode_images(item, fmt) for item in images]


def _columns(model_input: Any, expected: tuple[str, ...]) -> pd.DataFrame:
    """The request rows as a DataFrame with exactly the expected columns (MLflow may hand a dict)."""
    frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
    missing = [name for name in expected if name not in frame.columns]
    extra = [str(name) for name in frame.columns if name not in expected]
    if missing or extra:
        raise bad_request(f"inputs: missing {missing}, unexpected {extra}; expected columns {list(expected)}")
    return frame


class GeneratorPyfunc(mlflow.pyfunc.PythonModel):
    """Shared part of the three kinds: load the exported generator, check knobs, run without grad."""

    task: ClassVar[str]
    knobs: ClassVar[tuple[ParamSpec, ...]]
    inputs: ClassVar[Schema | None] = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Rebuild the net from the weights-only export (no pickled code), for CPU inference."""
        self.experiment, self.cfg, self.net = load_exported_generator(context.artifacts["generator"])
        if self.cfg.task != self.task:
            raise MlflowException(f"{type(self).__name__} serves task {self.task!r}, the export is a {self.cfg.task!r} model")

    @classmethod
    def signature(cls) -> ModelSignature:
        """The inputs and the documented, MLflow-validated knobs of this kind."""
        return ModelSignature(inputs=cls.inputs, params=ParamSchema(list(cls.knobs)))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Check the request, then generate; see the module docstring for shapes."""
        knobs = {spec.name: spec.default for spec in self.knobs} | (params or {})
        with torch.inference_mode():
            return self.generate(model_input, knobs)

    def generate(self, model_input: Any, knobs: dict[str, Any]) -> dict[str, Any]:
        """Each kind's work: request rows and knobs (defaults filled in) -> the documented outputs."""
        raise NotImplementedError

    def _latents(self, count: int, seed: int) -> torch.Tensor:
        return torch.randn(count, self.net.nz, generator=torch.Generator().manual_seed(seed))


class SamplePyfunc(GeneratorPyfunc):
    """Unconditional GAN: `n` images from noise drawn with `seed`."""

    task = "gan"
    knobs = (_param("n", 16), _param("seed", 0), _param("format", "array"))

    def generate(self, model_input: Any, knobs: dict[str, Any]) -> dict[str, Any]:
        if model_input is not None and len(model_input) and len(pd.DataFrame(model_input).columns):
            raise bad_request("inputs: an unconditional GAN takes no inputs; send {\"inputs\": []} and params n, seed")
        n, seed = _int_knob(knobs, "n", 1, MAX_IMAGES), _int_knob(knobs, "seed", 0, 2**63 - 1)
        images = self.net(self._latents(n, seed)).numpy()  # (n, C, H, W)
        return {"images": _encode_images(images, _format_knob(knobs))}


class ConditionalSamplePyfunc(GeneratorPyfunc):
    """Class-conditional GAN: one image per requested digit label."""

    task = "cgan"
    knobs = (_param("seed", 0), _param("format", "array"))
    inputs = Schema([ColSpec("long", "label")])

    def generate(self, model_input: Any, knobs: dict[str, Any]) -> dict[str, Any]:
        labels = _columns(model_input, ("label",))["label"].to_numpy()
        if not 1 <= len(labels) <= MAX_IMAGES:
            raise bad_request(f"inputs.label: got {len(labels)} labels, allowed 1..{MAX_IMAGES} per request")
        if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise bad_request(f"inputs.label: got {labels.tolist()}, labels must be integers 0..{NUM_CLASSES - 1}")
        seed = _int_knob(knobs, "seed", 0, 2**63 - 1)
        labels_t = torch.as_tensor(labels, dtype=torch.int64)
        images = self.net(self._latents(len(labels), seed), labels_t).numpy()  # (B, C, H, W)
        return {"images": _encode_images(images, _format_knob(knobs)), "labels": labels.astype(np.int64)}


class InpaintingPyfunc(GeneratorPyfunc):
    """Inpainting: k completions of each image's square hole, summarised as mean, std and a few samples."""

    task = "inpaint"
    knobs = (_param("k", 16), _param("seed", 0), _param("format", "array"))
    inputs = Schema([ColSpec(AnyType(), "image"), ColSpec("long", "top"), ColSpec("long", "left")])

    def generate(self, model_input: Any, knobs: dict[str, Any]) -> dict[str, Any]:
        rows = _columns(model_input, ("image", "top", "left"))
        if not 1 <= len(rows) <= MAX_INPAINT_IMAGES:
            raise bad_request(f"inputs: got {len(rows)} images, allowed 1..{MAX_INPAINT_IMAGES} per request")
        k, seed = _int_knob(knobs, "k", 1, MAX_K), _int_knob(knobs, "seed", 0, 2**63 - 1)
        fmt = _format_knob(knobs)
        results: dict[str, list[np.ndarray]] = {"inpainted": [], "std": [], "samples": []}
        for index, row in enumerate(rows.itertuples(index=False)):
            image = torch.from_numpy(self._image(row.image, index))  # (C, H, W)
            maps = uncertainty_maps(self.net, image, self._box(row.top, row.left, index), k, seed=seed,
                                    return_samples=min(k, RETURNED_SAMPLES))
            results["inpainted"].append(maps.mean.numpy())
            results["std"].append(maps.std.numpy())
            results["samples"].append(maps.samples.numpy())
        return {key: _encode_images(np.stack(value), fmt) for key, value in results.items()}

    def _image(self, value: Any, index: int) -> np.ndarray:
        """One request image as (C, H, W) float32 in [0, 1], or a 400 naming what is wrong."""
        cfg: ExperimentConfig = self.cfg
        c, size = cfg.channels, cfg.image_size
        if isinstance(value, str):
            image = decode_png(value, c)
        else:
            try:
                image = np.asarray(value, dtype=np.float32)
            except (ValueError, TypeError):
                raise bad_request(f"inputs.image[{index}]: not a rectangular array of numbers") from None
            if image.ndim == 2 and c == 1:
                image = image[None]
        if image.shape != (c, size, size):
            raise bad_request(
                f"inputs.image[{index}]: got shape {list(image.shape)}, this model takes ({c}, {size}, {size})"
                + (f" or ({size}, {size})" if c == 1 else "")
            )
        if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
            raise bad_request(f"inputs.image[{index}]: values must be finite and in [0, 1]")
        return image

    def _box(self, top: Any, left: Any, index: int) -> tuple[int, int]:
        """The hole's (top, left), checked so the hole lies inside the image with context on every side."""
        for name, value in (("top", top), ("left", left)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise bad_request(f"inputs.{name}[{index}]: got {value!r}, expected an integer")
        try:
            validate_box(self.cfg.image_size, int(top), int(left), self.cfg.hole_box()[2])
        except ValueError as error:
            raise bad_request(f"inputs[{index}]: {error}") from None
        return int(top), int(left)


PYFUNCS: dict[str, type[GeneratorPyfunc]] = {cls.task: cls for cls in (SamplePyfunc, ConditionalSamplePyfunc, InpaintingPyfunc)}


def pyfunc_for_task(task: str) -> GeneratorPyfunc:
    """The serving model for a task kind (gan, cgan, inpaint)."""
    if task not in PYFUNCS:
        raise ValueError(f"no serving model for task {task!r}; known: {', '.join(PYFUNCS)}")
    return PYFUNCS[task]()

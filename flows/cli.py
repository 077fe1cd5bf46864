"""What every flow's command line shares: validated params, or the validation message and exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path

from gan_core.config import ConfigError, Params, load_params

EXIT_BAD_PARAMS = 2  # the same code argparse uses for a bad command line


def params_or_exit(path: str | Path, overrides: list[str] | None = None) -> Params:
    """Validate params before any flow, Ray or MLflow starts: a typo costs the user nothing but the message."""
    try:
        return load_params(path, overrides)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_PARAMS) from None

"""CLI: `python -m gan_core.serving --model mnist-cgan [--alias champion] [--host 127.0.0.1] [--port 5055] [--poll 5]`."""

import argparse
import logging
from pathlib import Path

from gan_core.serving.server import serve
from gan_core.tracking import registered_name, tracking_uri_from_params


def main(argv: list[str] | None = None) -> None:
    """Serve a registered generator, following its alias (see gan_core.serving.server)."""
    parser = argparse.ArgumentParser(prog="python -m gan_core.serving", description=main.__doc__)
    parser.add_argument("--model", required=True, help="registered model (mnist-cgan) or experiment (mnist_cgan)")
    parser.add_argument("--alias", default="champion")
    parser.add_argument("--host", default="127.0.0.1", help="loopback by default; 0.0.0.0 exposes it to the network")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between registry checks of the alias")
    parser.add_argument("--torch-threads", type=int, default=1, help="intra-op threads per request (1 suits small nets)")
    parser.add_argument("--params", default="params.yaml", help="params file whose tracking block names the store")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(registered_name(args.model), args.alias, args.host, args.port, args.poll,
          tracking_uri=tracking_uri_from_params(Path(args.params)), torch_threads=args.torch_threads)


if __name__ == "__main__":
    main()

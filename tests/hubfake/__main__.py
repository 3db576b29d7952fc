"""Run the fake Hub as a process: `python -m tests.hubfake --port 8765 --models 10000`.

Serves the fixture models plus N synthetic ones until interrupted; prints the endpoint to use as
HF_ENDPOINT.
"""

from __future__ import annotations

import argparse
import signal
import threading

from tests.hubfake import FakeHub, fixture_models, synthetic_models


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Hugging Face Hub on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--models", type=int, default=0, help="number of synthetic models to add")
    parser.add_argument("--page-size", type=int, default=1000, help="items per page of GET /api/models")
    parser.add_argument("--no-fixtures", action="store_true", help="serve only the synthetic models")
    args = parser.parse_args()

    records = ([] if args.no_fixtures else fixture_models()) + synthetic_models(args.models)
    hub = FakeHub(records, page_size=args.page_size, port=args.port).start()
    print(f"fake Hub with {len(records)} models at {hub.url}  (HF_ENDPOINT={hub.url})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()


if __name__ == "__main__":
    main()

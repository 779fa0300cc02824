import sys

from libs.common.server import run_service
from services.worker.app import create_app


def main(argv: list[str]) -> int:
    return run_service(create_app, "worker", lambda settings: settings.worker_metrics_port)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

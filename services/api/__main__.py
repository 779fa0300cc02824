import sys

from libs.common.server import run_service
from services.api.app import create_app


def main(argv: list[str]) -> int:
    return run_service(
        create_app,
        "api",
        lambda settings: settings.api_port,
        processes=lambda settings: settings.api_processes,
        factory="services.api.app:app_from_environment",
        signs_with_website_secret=True,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

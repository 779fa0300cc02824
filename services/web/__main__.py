import sys

from libs.common.server import run_service
from services.web.app import create_app


def main(argv: list[str]) -> int:
    return run_service(
        create_app, "web", lambda settings: settings.web_port, signs_with_website_secret=True
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``python -m wsframe``: placeholder until the CLI lands."""

import json

import wsframe


def main() -> None:
    print(json.dumps(wsframe.backend_info(), indent=2))


if __name__ == "__main__":
    main()

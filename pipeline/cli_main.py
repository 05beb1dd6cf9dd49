"""``python -m pipeline.cli_main`` runs the CLI (as the ``campaign-reports`` script does)."""

from .cli import main

if __name__ == "__main__":
    main()

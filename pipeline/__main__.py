"""``python -m pipeline`` runs the CLI (as the ``campaign-reports`` script does)."""

from pipeline.cli import main

if __name__ == "__main__":
    main()

"""Entry point for `python relay.py …` and for the PyInstaller build."""
import sys

from relay.cli import main

if __name__ == "__main__":
    sys.exit(main())

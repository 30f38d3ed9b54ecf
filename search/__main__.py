import sys

from search.cli import main

if __name__ == "__main__":  # worker processes (spawned) import this module under another name
    sys.exit(main())

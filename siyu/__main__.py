"""``python -m siyu`` is the ``siyu`` command."""

from siyu.cli import main

if __name__ == "__main__":  # not when a child process (imports' converter) re-imports the main module
    main()

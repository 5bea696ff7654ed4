"""``python -m siyu`` is the ``siyu`` command."""

from siyu.cli import main

main()

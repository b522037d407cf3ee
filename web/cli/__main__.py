"""``python -m web.cli``: the ``motcua`` command."""

from web.cli import main

main()

"""``python -m workflow_compiler.cli``: the same entry point as the console script, for
environments where the script is not on PATH."""

from workflow_compiler.cli.main import main

raise SystemExit(main())

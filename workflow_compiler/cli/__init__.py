"""The ``graphwright`` command line: validate, draw and run specs on this machine.

The CLI is a thin shell over ``WorkflowRuntime``: it owns only what a terminal user needs
(embedded storage defaults, progress display, prompts, resume hints, exit codes) so that
a run started here behaves exactly like one started through the API or a worker.
"""

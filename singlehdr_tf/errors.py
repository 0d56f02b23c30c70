"""The package's one exception type, at the bottom of the import graph so every module can raise it."""


class SingleHDRError(Exception):
    """The package's error for bad files, inputs and configurations; the message is
    ``"<path or input>: <reason>"`` so a user sees which file is at fault and why."""

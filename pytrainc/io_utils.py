"""Keras's interactive logging switch (`keras.utils.enable_interactive_logging` and co.).

With interactive logging on (the default), progress bars and per-epoch lines go to
`sys.stdout`. Off, they go to the `pytrainc` logger (`logging.getLogger("pytrainc")`,
level INFO) as plain lines, with no bar redrawn in place: what a batch job or a
server that collects logs wants.
"""

import logging
import sys

__all__ = ["disable_interactive_logging", "enable_interactive_logging", "is_interactive_logging_enabled", "print_msg"]

_state = {"interactive": True}
logger = logging.getLogger("pytrainc")


def enable_interactive_logging():
    """Sends progress bars and messages to `sys.stdout` (the default).

    Example:

    >>> from pytrainc.utils import enable_interactive_logging, is_interactive_logging_enabled
    >>> enable_interactive_logging()
    >>> is_interactive_logging_enabled()
    True
    """
    _state["interactive"] = True


def disable_interactive_logging():
    """Sends progress lines and messages to the `pytrainc` logger instead of `sys.stdout`.

    Example:

    >>> from pytrainc.utils import disable_interactive_logging, enable_interactive_logging
    >>> disable_interactive_logging()
    >>> enable_interactive_logging()
    """
    _state["interactive"] = False


def is_interactive_logging_enabled():
    """Whether progress output goes to `sys.stdout` (True) or to the `pytrainc` logger.

    Returns:
        A bool: True unless `disable_interactive_logging()` was called last.
    """
    return _state["interactive"]


def print_msg(message, line_break=True):
    """Prints `message` on `sys.stdout`, or logs it at INFO when interactive logging is off.

    Args:
        message: The text.
        line_break: Whether to end it with a newline on `sys.stdout`. Defaults to True.
    """
    if not _state["interactive"]:
        logger.info(message.strip("\r\n"))
        return
    sys.stdout.write(message + ("\n" if line_break else ""))
    sys.stdout.flush()

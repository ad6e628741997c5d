"""Ctrl-C and SIGTERM during training: they stop fit after the current step (the model
then holds the weights of the last completed step, and callbacks such as
ModelCheckpoint see it)."""
import signal
import threading
from contextlib import contextmanager

#: Signals that stop training after the current step, and the names reported for them.
STOP_SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


@contextmanager
def stop_signals(flag):
    """During the block, SIGINT (Ctrl-C) or SIGTERM sets flag['hit'] to the signal's
    name; a second Ctrl-C interrupts at once (KeyboardInterrupt). Only in the main
    thread (Python delivers signals there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if flag["hit"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag["hit"] = flag["hit"] or STOP_SIGNALS[signum]

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def signal_name(flag):
    """The signal that stopped training ("Ctrl-C" on a rank that only heard of another
    rank's)."""
    return flag["hit"] if isinstance(flag["hit"], str) else "Ctrl-C"

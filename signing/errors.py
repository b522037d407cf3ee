"""The exception raised by the signing package."""


class SigningError(Exception):
    """A document could not be rendered, signed or a key could not be used.

    The message is written for the person who has to act on it: it says what went wrong
    and what to do, e.g. "Wrong passphrase for the signing key of 'chuyenvien'.".
    """

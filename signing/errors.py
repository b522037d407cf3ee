"""The exception raised by the signing package."""


class SigningError(Exception):
    """A document could not be rendered, signed or a key could not be used.

    The message is written for the person who has to act on it: it says what went wrong
    and what to do, e.g. "Wrong passphrase for the signing key of 'chuyenvien'.". ``vi``
    says the same in Vietnamese where the person is likely to read it on a page (a wrong
    passphrase); otherwise it is "" and the caller says it in its own words.
    """

    def __init__(self, message: str = "", *, vi: str = "") -> None:
        super().__init__(message)
        self.vi = vi

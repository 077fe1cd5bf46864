"""The one error type of the data layer, so callers can catch bad data apart from bugs."""


class DataError(ValueError):
    """Raw or prepared data is missing or malformed; the message names the file and the problem."""

"""The one exception the data package raises for anything wrong with a user's data."""


class DataError(ValueError):
    """A file, upload or download that cannot become a :class:`~data.Dataset`.

    The message is meant for the person who supplied the data: it names the file and, where it
    applies, the line or column, and says what was expected and what was found, e.g.
    ``train.csv, line 17: expected 785 values (label + 784 pixels), found 783``.
    It never contains credentials.
    """

"""Errors raised for bad user input.

Every error names the problem (file, column, value) so that the Dagster run log tells the user
what to fix; none of them is raised after an output has been written.
"""


class InputDataError(ValueError):
    """The input data or configuration cannot be used as given."""

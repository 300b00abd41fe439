"""Bad input stops a run with its one-line message alone, as Hydra prints its own composition errors.

The project's named errors (`attention_nmt.errors`: a bad config value, a malformed corpus line, a diverged
training) already say what is wrong and what to do; a Python traceback above them only hides that. Inside
`one_line_errors()` they are re-raised as `UserInputError`, a Hydra `CompactHydraException`, which Hydra prints
as its message alone (exit status 1). `HYDRA_FULL_ERROR=1` still shows the whole traceback, and `failed.json`
(tracking/failures.py) records the original error's type, message and traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hydra.errors import CompactHydraException

from attention_nmt.errors import ConfigError, DataFormatError, TrainingDivergedError

ONE_LINE = (ConfigError, DataFormatError, TrainingDivergedError)


class UserInputError(CompactHydraException):
    """One of ONE_LINE, to be printed as its message alone; the original is its `__cause__`."""


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Re-raise the project's named errors as UserInputError (module docstring)."""
    try:
        yield
    except ONE_LINE as error:
        raise UserInputError(str(error)) from error


def original_error(error: BaseException) -> BaseException:
    """The error a UserInputError stands for (for failure records); any other error itself."""
    return error.__cause__ if isinstance(error, UserInputError) and error.__cause__ is not None else error

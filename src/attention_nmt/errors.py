"""Named exceptions for bad user input: every message names the file/line or config key at fault."""


class ConfigError(ValueError):
    """A configuration value is invalid: the message names the key, the value and what is allowed."""


class DataFormatError(ValueError):
    """A data file is malformed: the message names the file, the line and what to do."""


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite: the message names the step and the last good checkpoint."""

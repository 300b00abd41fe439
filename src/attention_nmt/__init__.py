"""attention-nmt: RNN encoder-decoders with none / additive / multiplicative attention.

The package answers one question with real training runs: does the fixed-length context vector of
an RNN encoder-decoder hurt long sentences, and does attention fix it?
"""

__version__ = "0.1.0"

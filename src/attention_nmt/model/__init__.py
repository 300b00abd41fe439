"""The RNN encoder-decoder: encoder, the attention arms (one module each in `arms/`), decoder, and greedy/beam search.

Shape letters used throughout: B batch, S source length, T target length, H hidden size,
D encoder output size (H times the number of directions), E embedding size, V vocabulary size.
"""

"""Tokenizers round-trip detokenized text, keep the special ids fixed, and are cached by content."""

from attention_nmt.data.config import TokenizerConfig, TokenizerKind
from attention_nmt.data.tokenization import SPECIAL_IDS, cached_tokenizer, decode, encode, train_tokenizer

TEXTS = [
    "En el principio creó Dios los cielos y la tierra.",
    "Y dijo Dios: Sea la luz; y fué la luz.",
    "«¿Dónde estás?» (Génesis 3:9) -- y él respondió.",
]


def test_word_and_bpe_tokenizers_round_trip_text_and_end_with_eos():
    for kind in TokenizerKind:
        tokenizer = train_tokenizer(TEXTS, TokenizerConfig(kind=kind, vocab_size=300))
        ids = encode(tokenizer, TEXTS)
        assert all(seq[-1] == SPECIAL_IDS.eos for seq in ids)
        assert decode(tokenizer, [seq[:-1] for seq in ids]) == TEXTS
        assert [tokenizer.id_to_token(i) for i in range(4)] == ["<pad>", "<unk>", "<s>", "</s>"]


def test_word_tokenizer_splits_punctuation_and_maps_unknown_words_to_unk():
    tokenizer = train_tokenizer(TEXTS, TokenizerConfig(kind=TokenizerKind.word, vocab_size=300))
    tokens = tokenizer.encode("Dios: zzz.").tokens
    assert tokens == ["▁Dios", ":", "<unk>", "."]


def test_tokenizer_cache_is_keyed_by_text_and_settings(tmp_path):
    cfg = TokenizerConfig(kind=TokenizerKind.bpe, vocab_size=200)
    first = cached_tokenizer(TEXTS, cfg, tmp_path)
    assert len(list((tmp_path / "tokenizers").glob("*.json"))) == 1
    again = cached_tokenizer(TEXTS, cfg, tmp_path)
    assert again.to_str() == first.to_str()
    assert len(list((tmp_path / "tokenizers").glob("*.json"))) == 1
    cached_tokenizer(TEXTS[:2], cfg, tmp_path)
    cached_tokenizer(TEXTS, TokenizerConfig(kind=TokenizerKind.bpe, vocab_size=150), tmp_path)
    assert len(list((tmp_path / "tokenizers").glob("*.json"))) == 3

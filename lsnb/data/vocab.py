"""The special tokens of the translation vocabulary (:mod:`lsnb.data.text`), by id: what the
Transformer pads with and decoding starts and stops at, without loading a corpus."""

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")   # token ids 0..3

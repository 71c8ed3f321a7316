"""English->German translation data: an offline corpus, a joint BPE, and padded id tensors.

Two corpora, by the names of :data:`lsnb.data.names.TEXT_DATASETS`:

* ``en_de`` -- built offline from Debian's gettext catalogs and FreeDict English-German
  dictionary by :mod:`lsnb.data.corpus` (where its sources and their choice are described), and
  shuffled with a fixed seed into 1000 test, 1000 validation and the rest training pairs.
  Only the catalogs of the base image are read (:data:`lsnb.data.corpus.BASE_CATALOGS`), so that
  installing a package does not change the corpus; a machine that lacks some of them builds
  another corpus, so the build records the catalogs it read and a digest (``meta.json``).

* ``multi30k`` -- the Multi30k image captions (Elliott et al. 2016) by download, with their own
  train / val / test2016 splits: the classic small EN-DE benchmark, for a GPU.

Both go through the same pipeline: a joint byte-level BPE (:data:`VOCAB_SIZE` tokens) trained
on the training split only, pairs longer than :data:`MAX_LEN` tokens dropped (so that every
reference stays whole), and the cleaned splits saved as TSV files with the tokenizer and
the token ids under ``<data root>/<name>/``: the first load builds them (half a minute for
en_de on two CPU cores), later loads read them (a second or two).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import random
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from .files import atomic_write_bytes, atomic_write_json, read_json
from .names import TEXT_DATASETS
from .vocab import BOS, EOS, PAD, SPECIALS, UNK
from .corpus import BASE_CATALOGS, FREEDICT, LOCALE_DIR, en_de_pairs, normalize
from .images import Dataset, DataUnavailable, Split, cli, default_root
from ..methods.losses import IGNORE_INDEX

VOCAB_SIZE = 8000     # joint English+German BPE vocabulary of both corpora
MAX_LEN = 64          # tokens per sentence, EOS (and BOS on the target side) included
N_HELD_OUT = 1000     # en_de: test pairs, and as many validation pairs
SPLIT_SEED = 0
SPLITS = ("train", "valid", "test")
CORPUS_VERSION = 1    # bump when the cleaning rules (here or in lsnb.data.corpus) change: cached corpora are rebuilt

MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
MULTI30K_FILES = {"train": "train", "valid": "val", "test": "test_2016_flickr"}


# ----------------------------------------------------------------------------- en_de splits

def split_pairs(pairs: list, n_held_out: int = N_HELD_OUT, seed: int = SPLIT_SEED) -> dict:
    """Shuffle with a fixed seed: the first ``n_held_out`` pairs are the test split, the next the validation split."""
    if len(pairs) <= 2 * n_held_out:
        raise ValueError(f"{len(pairs)} pairs are too few for {n_held_out} test and {n_held_out} validation pairs")
    pairs = list(pairs)
    random.Random(seed).shuffle(pairs)
    return {"train": pairs[2 * n_held_out:], "valid": pairs[n_held_out:2 * n_held_out], "test": pairs[:n_held_out]}


# ----------------------------------------------------------------------------- multi30k

def _download(url: str, path: Path) -> None:
    import urllib.request

    with urllib.request.urlopen(url, timeout=60) as r:
        atomic_write_bytes(path, r.read())


def multi30k_pairs(raw: Path) -> dict:
    """Multi30k task 1 (train 29 000, val 1014, test2016 1000 captions), downloaded into ``raw`` if missing."""
    raw, out = Path(raw), {}
    for split, stem in MULTI30K_FILES.items():
        lines = {}
        for lang in ("en", "de"):
            path = raw / f"{stem}.{lang}.gz"
            if not path.exists():
                url = f"{MULTI30K_URL}{stem}.{lang}.gz"
                try:
                    _download(url, path)
                except Exception as exc:  # no network, or the file moved
                    names = ", ".join(f"{s}.{l}.gz" for s in MULTI30K_FILES.values() for l in ("en", "de"))
                    raise DataUnavailable(
                        f"multi30k: could not download {url} ({type(exc).__name__}: {exc}). Download {names} "
                        f"from {MULTI30K_URL} by hand and put them in {raw}") from None
            lines[lang] = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        if len(lines["en"]) != len(lines["de"]):
            raise DataUnavailable(f"multi30k: {stem}.en.gz and {stem}.de.gz in {raw} have different numbers "
                                  f"of lines; delete them to download them again")
        out[split] = [(normalize(e), normalize(d), "multi30k") for e, d in zip(lines["en"], lines["de"])]
    return out


# ----------------------------------------------------------------------------- BPE and tensors

def train_bpe(texts, vocab_size: int = VOCAB_SIZE):
    """A byte-level BPE (GPT-2 style) with :data:`SPECIALS` as ids 0..3.

    Byte level: every string is encodable without ``<unk>`` and decodes back exactly,
    whitespace included.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=SPECIALS[UNK]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return tok


def _ids(tok, pairs) -> tuple[list, list]:
    """Source ids ``... EOS`` and target ids ``BOS ... EOS`` of every pair."""
    src = [e.ids + [EOS] for e in tok.encode_batch([p[0] for p in pairs])]
    tgt = [[BOS] + e.ids + [EOS] for e in tok.encode_batch([p[1] for p in pairs])]
    return src, tgt


def _ragged(rows: list) -> dict:
    """Id lists as int16 lengths and one flat int16 tensor of all ids (compact on disk; ids < 2**15)."""
    return {"len": torch.tensor([len(r) for r in rows], dtype=torch.int16),
            "ids": torch.tensor([i for r in rows for i in r], dtype=torch.int16)}


def _pad(ragged: dict, length: int) -> torch.Tensor:
    """(N, length) int64 ids, right-padded with PAD; every row must fit."""
    lens = ragged["len"].long()
    out = torch.full((len(lens), length), PAD, dtype=torch.long)
    out[torch.arange(length) < lens[:, None]] = ragged["ids"].long()
    return out


def _labels(x: torch.Tensor) -> torch.Tensor:
    """The next target token at every position: ``x[:, 1, 1:]`` with PAD -> IGNORE_INDEX (-100, ignored by the loss)."""
    return x[:, 1, 1:].masked_fill(x[:, 1, 1:] == PAD, IGNORE_INDEX)


def encode(tok, pairs, max_len: int = MAX_LEN) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` (N, 2, max_len): source and target ids, and ``y`` (N, max_len - 1): the next target tokens.

    Row 0 of ``x`` is the source ``... EOS``, row 1 the target ``BOS ... EOS``, both padded
    with PAD = 0. ``y = x[:, 1, 1:]`` with PAD replaced by :data:`lsnb.methods.losses.IGNORE_INDEX`
    (-100), which the loss ignores.
    """
    src, tgt = _ids(tok, pairs)
    longest = max((len(r) for r in src + tgt), default=0)
    if longest > max_len:
        raise ValueError(f"a pair has {longest} tokens, more than max_len={max_len}: drop it first")
    x = torch.stack([_pad(_ragged(src), max_len), _pad(_ragged(tgt), max_len)], dim=1)
    return x, _labels(x)


def detokenize(tok, ids) -> str:
    """The text of a sequence of ids: up to the first EOS, without PAD and BOS."""
    ids = [int(i) for i in ids]
    ids = ids[:ids.index(EOS)] if EOS in ids else ids
    return tok.decode([i for i in ids if i not in (PAD, BOS)], skip_special_tokens=False)


# ----------------------------------------------------------------------------- on disk

def _dir(name: str, root) -> Path:
    if name not in TEXT_DATASETS:
        raise ValueError(f"{name!r} is no translation corpus: use one of {', '.join(TEXT_DATASETS)}")
    return Path(root if root is not None else default_root()) / name


def _write_tsv(path: Path, pairs) -> None:
    atomic_write_bytes(path, "".join("\t".join(p) + "\n" for p in pairs).encode("utf-8"))


def _read_tsv(path: Path) -> list:
    return [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines()]


def prepare(name: str, root=None, *, locale_dir: Path = LOCALE_DIR, freedict: Path = FREEDICT,
            catalogs=BASE_CATALOGS) -> Path:
    """Build ``<root>/<name>/`` once: the cleaned splits (TSV), the BPE, the token ids, and ``meta.json`` (last).

    Pairs whose source or target needs more than :data:`MAX_LEN` tokens are dropped from
    every split here, so that no reference is ever truncated; ``meta.json`` counts them.
    The token ids are kept (``tokens.pt``) because encoding is the slow part of a load.
    """
    d = _dir(name, root)
    meta = d / "meta.json"
    if meta.exists() and read_json(meta).get("version") == CORPUS_VERSION:
        return d
    start = time.perf_counter()
    if name == "en_de":
        pairs, catalogs = en_de_pairs(locale_dir, freedict, catalogs)
        splits = split_pairs(pairs, N_HELD_OUT, SPLIT_SEED)
    else:
        splits, catalogs = multi30k_pairs(d / "raw"), []
    tok = train_bpe((s for en, de, _ in splits["train"] for s in (en, de)), VOCAB_SIZE)
    dropped, ids = {}, {}
    for split, rows in splits.items():
        src, tgt = _ids(tok, rows)
        keep = [i for i, (a, b) in enumerate(zip(src, tgt)) if max(len(a), len(b)) <= MAX_LEN]
        dropped[split] = len(rows) - len(keep)
        splits[split] = [rows[i] for i in keep]
        ids[split] = {"src": _ragged([src[i] for i in keep]), "tgt": _ragged([tgt[i] for i in keep])}
        _write_tsv(d / f"{split}.tsv", splits[split])
    atomic_write_bytes(d / f"bpe{VOCAB_SIZE}.json", tok.to_str().encode("utf-8"))
    buf = io.BytesIO()
    torch.save(ids, buf)
    atomic_write_bytes(d / "tokens.pt", buf.getvalue())
    digest = hashlib.sha256(b"".join((d / f"{s}.tsv").read_bytes() for s in SPLITS)).hexdigest()[:16]
    atomic_write_json(meta, {
        "version": CORPUS_VERSION, "vocab_size": tok.get_vocab_size(), "max_len": MAX_LEN,
        "pairs": {s: len(r) for s, r in splits.items()}, "dropped_over_max_len": dropped,
        "sources": {s: dict(Counter(p[2] for p in r)) for s, r in splits.items()},
        "catalogs": catalogs, "digest": digest, "build_seconds": round(time.perf_counter() - start, 1)})
    return d


def tokenizer(name: str, root=None):
    """The corpus's BPE (a ``tokenizers.Tokenizer``), built with the corpus on first use."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(prepare(name, root) / f"bpe{VOCAB_SIZE}.json"))


def _kept(ids: dict, max_len: int) -> torch.Tensor:
    """Indices of the pairs whose source and target fit in ``max_len`` tokens."""
    return ((ids["src"]["len"] <= max_len) & (ids["tgt"]["len"] <= max_len)).nonzero().squeeze(1)


def corpus(name: str, root=None, max_len: int = MAX_LEN) -> dict:
    """``{"train", "valid", "test"}`` -> ``[(english, german)]``, in the order of the rows of :func:`load_translation`."""
    d = prepare(name, root)
    ids = torch.load(d / "tokens.pt", weights_only=True)  # tensors only: never unpickle code from a data folder
    out = {}
    for s in SPLITS:
        rows = _read_tsv(d / f"{s}.tsv")
        out[s] = [rows[i][:2] for i in _kept(ids[s], max_len).tolist()]
    return out


def load_translation(name: str, root=None, n_val: int = 0, n_train: int | None = None,
                     n_test: int | None = None, max_len: int = MAX_LEN) -> Dataset:
    """A translation corpus as token tensors (see :func:`encode`); ``classes`` are the BPE tokens.

    The splits are fixed: ``n_val`` > 0 takes the first ``n_val`` pairs of the corpus's own
    validation split (0: none), ``n_train`` and ``n_test`` the first pairs of the training
    and test splits (None: all). Pairs longer than ``max_len`` tokens are left out.
    """
    d = prepare(name, root)
    ids = torch.load(d / "tokens.pt", weights_only=True)  # tensors only: never unpickle code from a data folder

    def split(s, n):
        width = max(max_len, MAX_LEN)   # every stored pair fits in MAX_LEN tokens
        x = torch.stack([_pad(ids[s]["src"], width), _pad(ids[s]["tgt"], width)], dim=1)
        x = x[_kept(ids[s], max_len)[:n], :, :max_len]
        return Split(x, _labels(x))

    vocab = tokenizer(name, root)
    return Dataset(name, split("train", n_train), split("valid", n_val) if n_val else None, split("test", n_test),
                   tuple(vocab.id_to_token(i) for i in range(vocab.get_vocab_size())),
                   digest=read_json(d / "meta.json")["digest"])


def batch_order(split: Split, batch_size: int, generator: torch.Generator, chunk: int = 50) -> list:
    """One epoch's mini-batches of sentence pairs as index tensors, bucketed by length.

    A random permutation; each run of ``chunk`` batches is sorted by sentence length
    before it is cut, and the batches are shuffled, so that a batch holds sentences of
    similar length and little padding (the bucketing of Vaswani et al. 2017, sec. 5.1).
    """
    perm = torch.randperm(len(split), generator=generator)
    length = (split.x != PAD).sum(-1).amax(-1).cpu()  # the longer of source and target, per pair
    batches = []
    for part in perm.split(batch_size * chunk):
        part = part[torch.sort(length[part], stable=True).indices]
        batches.extend(part.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator)]


def batch(split: Split, idx, augment: str, train: bool, generator: torch.Generator | None, device=None) -> tuple:
    """Source and target ids ``(B, 2, L)`` and labels ``(B, L - 1)`` of the pairs ``idx``, on ``device``,
    cut to the longest sentence in the batch so that padding costs no compute (no augmentation)."""
    x, y = split.x[idx], split.y[idx]
    if device is not None:
        x, y = x.to(device), y.to(device)
    used = (x != PAD).any(dim=0).any(dim=0).nonzero()  # PAD in every column beyond the longest sentence
    length = int(used.max()) + 1 if len(used) else 2
    return x[..., :length], y[:, :length - 1]


def digest(name: str, root=None) -> str:
    """The digest of a prepared corpus (built first if needed): equal digests, equal corpora."""
    return read_json(prepare(name, root) / "meta.json")["digest"]


def sizes(pairs: dict, ds: Dataset) -> dict:
    """Per split: the corpus's pairs, the pairs a config uses, and their target tokens (padding not counted)."""
    used = dict(zip(SPLITS, (ds.train, ds.val, ds.test)))
    return {"pairs": {s: len(p) for s, p in pairs.items()},
            "used": {s: len(u) for s, u in used.items() if u is not None},
            "target tokens": {s: int((u.y != IGNORE_INDEX).sum()) for s, u in used.items() if u is not None}}


def describe(name: str, root=None) -> str:
    """Sizes of a translation corpus, for ``python -m lsnb.data.text en_de``."""
    ds = load_translation(name, root, n_val=10 ** 9)
    meta = read_json(_dir(name, root) / "meta.json")
    lines = [f"{name}: vocabulary {ds.num_classes} BPE tokens, sentences up to {meta['max_len']} tokens, "
             f"in {_dir(name, root)} (digest {meta['digest']})"]
    for s, split in zip(SPLITS, (ds.train, ds.val, ds.test)):
        src, tgt = int((split.x[:, 0] != PAD).sum()), int((split.y != IGNORE_INDEX).sum())
        lines.append(f"  {s:5s} {len(split):7d} pairs, {src:8d} source and {tgt:8d} target tokens, "
                     f"{meta['dropped_over_max_len'][s]} dropped (> {meta['max_len']} tokens); "
                     + ", ".join(f"{k} {v}" for k, v in sorted(meta["sources"][s].items())))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(cli(sys.argv[1:], "en_de", describe))

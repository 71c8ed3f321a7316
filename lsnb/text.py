"""English->German translation data: an offline corpus, a joint BPE, and padded id tensors.

Two corpora, by the names of :data:`lsnb.profiles.TEXT_DATASETS`:

* ``en_de`` -- built offline from two human translations that Debian ships:

  - the **gettext catalogs** of the installed software (``/usr/share/locale/de/LC_MESSAGES/*.mo``):
    every program's English messages with their German translations, real sentences
    ("The operation timed out" -> "Die Zeit für den Vorgang wurde überschritten");
  - the **FreeDict English-German dictionary** (package ``dict-freedict-eng-deu``): its
    example sentences and phrases ("The ball was out of bounds." -> "Der Ball war im Aus.")
    and its multi-word headwords that German translates with several words too
    ("listed building" -> "Gebäude unter Denkmalschutz").

  One-word headwords and one-word translations of headwords are left out (see
  :func:`en_de_pairs` for the measurements that decided it).
  The pairs are shuffled with a fixed seed into 1000 test, 1000 validation and the rest
  training pairs. The gettext catalogs depend on which packages a machine has installed,
  so the build records the catalogs it read and a digest of the corpus (``meta.json``).

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
import re
import struct
import time
from collections import Counter
from pathlib import Path

import torch

from .data import Dataset, DataUnavailable, Split, default_root
from .profiles import TEXT_DATASETS
from .store import atomic_write_bytes, atomic_write_json, read_json

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")   # token ids 0..3
VOCAB_SIZE = 8000     # joint English+German BPE vocabulary of both corpora
MAX_LEN = 64          # tokens per sentence, EOS (and BOS on the target side) included
MAX_WORDS = 40        # longer pairs are dropped before the split
N_HELD_OUT = 1000     # en_de: test pairs, and as many validation pairs
SPLIT_SEED = 0
SPLITS = ("train", "valid", "test")
CORPUS_VERSION = 1    # bump when the cleaning rules change: cached corpora are rebuilt

LOCALE_DIR = Path("/usr/share/locale/de/LC_MESSAGES")
FREEDICT = Path("/usr/share/dictd/freedict-eng-deu")   # .dict.dz and .index
MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
MULTI30K_FILES = {"train": "train", "valid": "val", "test": "test_2016_flickr"}


def normalize(s: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return " ".join(s.split())


# ----------------------------------------------------------------------------- gettext catalogs

# printf (%s, %-5d, %1$s, %(name)s, %<PRIu64>), Python/C# ({0}, {name:>5}) and shell (${x}) placeholders
PLACEHOLDER = re.compile(r"%(\(\w+\)|\d+\$)?[-+ #0'*.\d]*(hh|ll|[hlLqjzt])?[diouxXeEfFgGaAcspmS%]"
                         r"|%<\w+>|\{\w*([.:!][^}]*)?\}|\$\{?\w+\}?")
# command-line synopses and option names: --all, -f, [FILE], <remote>
SYNOPSIS = re.compile(r"(?<![\w-])--?[^\W\d_]|\[\w+|<\w+>")


def read_mo(path: Path) -> dict:
    """msgid -> msgstr of a compiled gettext catalog (``.mo``), in the charset its header names.

    Python's ``gettext.GNUTranslations`` decodes the header as UTF-8 and fails on older
    Latin-1 catalogs (net-tools), so we read the format ourselves: a table of
    (length, offset) pairs for the originals and one for the translations. Plural
    entries (forms separated by NUL) keep their singular form.
    """
    blob = Path(path).read_bytes()
    order = {0x950412DE: "<", 0xDE120495: ">"}.get(struct.unpack("<I", blob[:4])[0]) if len(blob) >= 20 else None
    if order is None:
        raise ValueError(f"{path} is not a compiled gettext catalog (.mo)")
    n, ids_at, strs_at = struct.unpack(order + "4xIII", blob[4:20])

    def string(table, i):
        length, at = struct.unpack_from(order + "II", blob, table + 8 * i)
        return blob[at:at + length].split(b"\0")[0]

    raw = [(string(ids_at, i), string(strs_at, i)) for i in range(n)]
    header = dict(raw).get(b"", b"").decode("ascii", "replace")
    charset = re.search(r"charset=([\w.-]+)", header)
    charset = charset.group(1) if charset and charset.group(1) != "CHARSET" else "utf-8"
    return {k.decode(charset, "replace"): v.decode(charset, "replace") for k, v in raw if k and v}


def clean_message(msgid: str, msgstr: str) -> tuple | None:
    """A catalog entry as a clean ``(english, german)`` pair, or None when it is no sentence pair.

    Drops: placeholders (``%s``, ``{0}``: their words are missing), keyboard mnemonics
    (``_Open``, ``&Save``) and identifiers with underscores, command-line synopses and
    option names, inner newlines or tabs (help screens, tables), untranslated entries
    (German == English) and strings without letters. Keeps the message after a ``\\x04``
    context prefix, and strips surrounding whitespace (``"...failed.\\n"``).
    """
    en, de = msgid.split("\x04")[-1].strip(), msgstr.strip()
    if not en or not de or any(c in s for s in (en, de) for c in "\n\t\r"):
        return None
    if PLACEHOLDER.search(en) or PLACEHOLDER.search(de) or re.search(r"[_&]", en + de) or SYNOPSIS.search(en):
        return None
    en, de = normalize(en), normalize(de)
    if en == de or not re.search(r"[^\W\d_]", en):
        return None
    return en, de


def gettext_pairs(locale_dir: Path = LOCALE_DIR) -> tuple[list, list]:
    """Clean pairs of every ``*.mo`` catalog in ``locale_dir`` (sorted by file name), and the catalogs' names."""
    files = sorted(Path(locale_dir).glob("*.mo"))
    pairs = [p for f in files for p in (clean_message(k, v) for k, v in read_mo(f).items()) if p]
    return pairs, [f.stem for f in files]


# ----------------------------------------------------------------------------- FreeDict

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_IPA = re.compile(r" /[^/]*/")                            # "check-in desk /tʃˈɛk ɪn dˈɛsk/"
_MARKS = re.compile(r"<[^>]*>|\[[^\]]*\]|\{[^}]*\}|\([^()]*\)")  # <masc>, [jur.], {pl}, (optional words)
_EXAMPLE = re.compile(r'^\s*"(.+)"\s+- (.+)$')            # '  "english example"  - german example'
# a comma before these words joins a clause, after a hyphen it elides ("Wärme-, Kälte- und Schallschutz"):
# neither separates two alternatives
_CLAUSE = (r"; |(?<!-), (?!(?:der|die|das|dem|den|dessen|deren|dass|ob|wenn|als|um|weil|was|wo|damit|sodass|"
           r"bis|ohne|statt|während|nachdem|bevor|falls|obwohl|sondern|aber|denn)\b)")


def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64.index(c)
    return n


def freedict_entries(base: Path = FREEDICT):
    """The text of every dictionary entry, found by the offsets in the dictd ``.index``.

    Each index line is ``headword TAB offset TAB length`` with base-64 numbers; several
    headwords can point to one entry, which is yielded once (in file order).
    """
    base = Path(base)
    with gzip.open(f"{base}.dict.dz") as f:   # dictzip is gzip with a seek table
        data = f.read()
    spans = set()
    for line in Path(f"{base}.index").read_text(encoding="utf-8").splitlines():
        word, offset, length = line.split("\t")
        if not word.startswith("00-database"):
            spans.add((_b64(offset), _b64(length)))
    for o, n in sorted(spans):
        yield data[o:o + n].decode("utf-8")


def _strip(s: str) -> str:
    """Remove tags, labels, cross-references and words in parentheses (nested ones too)."""
    while True:
        t = _MARKS.sub(" ", s)
        if t == s:
            return normalize(s)
        s = t


def _first_alternative(de: str, sentence: bool) -> str:
    """The first of several German translations: they are listed separated by commas.

    A sentence's alternatives are whole sentences (``Es gefällt mir., Es ist mir angenehm.``);
    in a phrase, a comma before ``dass``, ``der``, ``um``... starts a clause, not an alternative.
    """
    return re.split(r"(?<=[.!?…]), " if sentence else _CLAUSE, de)[0]


def _is_sentence(en: str) -> bool:
    return en[:1].isupper() and en.rstrip()[-1:] in ".!?"


def _pair(en: str, de: str, sentence: bool) -> tuple | None:
    en, de = _strip(en), _first_alternative(_strip(de), sentence).strip(" ,;")
    if not en or not de or "/" in en + de or en == de:   # slashes: "bookshops/bookstores", "jdm./etw."
        return None
    return en, de


def parse_freedict_entry(text: str) -> tuple:
    """``(headword pair or None, [example pairs])`` of one FreeDict entry.

    An entry is a headword line with IPA, a line of German translations with grammar tags
    and labels, then optional example lines ``"english"  - german`` and ``Note:``,
    ``Synonym:``, ``see:`` lines (ignored). Tags ``<masc>``, labels ``[jur.]`` and optional
    words in parentheses are removed; of several translations the first is kept.
    """
    lines = text.split("\n")
    en = _IPA.sub(" ", lines[0]).strip()
    head = _pair(en, lines[1], _is_sentence(en)) if len(lines) > 1 else None
    examples = []
    for line in lines[2:]:
        m = _EXAMPLE.match(line)
        if m:
            p = _pair(m.group(1), m.group(2), _is_sentence(m.group(1)))
            if p:
                examples.append(p)
    return head, examples


def freedict_pairs(base: Path = FREEDICT) -> tuple[list, list, list]:
    """FreeDict's ``(examples, multi-word headwords, one-word headwords)`` as clean pairs."""
    examples, phrases, words = [], [], []
    for entry in freedict_entries(base):
        head, ex = parse_freedict_entry(entry)
        examples += ex
        if head:
            (phrases if " " in head[0] else words).append(head)
    return examples, phrases, words


# ----------------------------------------------------------------------------- the en_de corpus

def en_de_pairs(locale_dir: Path = LOCALE_DIR, freedict: Path = FREEDICT) -> tuple[list, list]:
    """The offline corpus: ``[(english, german, source)]`` in a fixed order, and the catalogs read.

    What goes in was chosen by measurement. For each mix: its training pairs, the share of
    one-word German references in its own random 1000-pair test split, the share of English
    words of one fixed test set (that of the second row) never seen in its training pairs,
    and the BLEU of a retrieval baseline on its own test split (it answers with the German
    of the training pair that shares the rarest English words with the source):

    =========================================  =====  ========  ========  =========
    mix                                        train  one-word  unseen    retrieval
                                               pairs  German    words     BLEU
    =========================================  =====  ========  ========  =========
    gettext, 2+ English words                   21 k     11 %    23.9 %     23.7
    + FreeDict examples, 2+ English words       67 k     25 %     3.2 %     16.3
    + multi-word headwords, 2+ German words    131 k     13 %     2.3 %     16.7
    + all multi-word headwords                 317 k     64 %     1.8 %     18.4
    + one-word English (mostly headwords)      425 k     70 %     1.0 %     11.9
    =========================================  =====  ========  ========  =========

    We take the third row. gettext alone is small and technical (a quarter of the words
    of ordinary sentences are unseen). FreeDict's examples bring everyday sentences and
    idioms; its multi-word headwords whose German has 2+ words ("make a will" -> "sein
    Testament machen") add phrases and vocabulary and halve the one-word references.
    The headwords translated by one German word ("marble eel" -> "Gürtelstachelaal",
    185 k) and the bare one-word headwords ("crooks" -> "krümmt", 103 k after
    deduplication) help and hurt: they cut the unseen words from 2.3 % to 1 %, but they
    make the corpus 2.4 to 3.2 times larger (as much more CPU time per epoch), turn two
    thirds of the test references into single words, on which BLEU counts no n-grams
    beyond unigrams and is noisy, and inflected forms out of context are ambiguous
    ("crooks": Gauner or krümmt?), so they teach a lookup table with irreducible
    uncertainty rather than translation. We leave them out.

    Pairs are deduplicated on the English side, ignoring case and punctuation (the first
    is kept: catalogs before examples before headwords, catalogs sorted by name), and
    pairs with more than :data:`MAX_WORDS` words on either side are dropped.
    """
    missing = [p for p in (Path(f"{freedict}.dict.dz"), Path(f"{freedict}.index")) if not p.exists()]
    if missing:
        raise DataUnavailable(
            f"en_de needs the FreeDict English-German dictionary, but {missing[0]} is missing. "
            f"Install it with: sudo apt-get install dict-freedict-eng-deu (or run make data as root)")
    catalog, names = gettext_pairs(locale_dir)
    if not catalog:
        raise DataUnavailable(
            f"en_de needs German gettext catalogs (*.mo) in {locale_dir}, but there are none. Minimal "
            f"Docker images drop them (path-exclude=/usr/share/locale in /etc/dpkg/dpkg.cfg.d/); "
            f"remove that rule and reinstall a few packages (apt-get install --reinstall coreutils git)")
    examples, phrases, _ = freedict_pairs(freedict)
    sources = {"gettext": catalog, "example": examples, "phrase": [p for p in phrases if " " in p[1]]}
    seen, pairs = set(), []
    for source, items in sources.items():
        for en, de in items:
            key = re.sub(r"[\W_]+", " ", en.lower()).strip()   # "Out of memory." == "out of memory"
            if key not in seen and " " in en and max(len(en.split()), len(de.split())) <= MAX_WORDS:
                seen.add(key)
                pairs.append((en, de, source))
    return pairs, names


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
    """The next target token at every position: ``x[:, 1, 1:]`` with PAD -> -100 (ignored by the loss)."""
    return x[:, 1, 1:].masked_fill(x[:, 1, 1:] == PAD, -100)


def encode(tok, pairs, max_len: int = MAX_LEN) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` (N, 2, max_len): source and target ids, and ``y`` (N, max_len - 1): the next target tokens.

    Row 0 of ``x`` is the source ``... EOS``, row 1 the target ``BOS ... EOS``, both padded
    with PAD = 0. ``y = x[:, 1, 1:]`` with PAD replaced by -100, which the loss ignores.
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


def prepare(name: str, root=None, *, locale_dir: Path = LOCALE_DIR, freedict: Path = FREEDICT) -> Path:
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
        pairs, catalogs = en_de_pairs(locale_dir, freedict)
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
    ids = torch.load(d / "tokens.pt")
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
    ids = torch.load(d / "tokens.pt")

    def split(s, n):
        width = max(max_len, MAX_LEN)   # every stored pair fits in MAX_LEN tokens
        x = torch.stack([_pad(ids[s]["src"], width), _pad(ids[s]["tgt"], width)], dim=1)
        x = x[_kept(ids[s], max_len)[:n], :, :max_len]
        return Split(x, _labels(x))

    vocab = tokenizer(name, root)
    return Dataset(name, split("train", n_train), split("valid", n_val) if n_val else None, split("test", n_test),
                   tuple(vocab.id_to_token(i) for i in range(vocab.get_vocab_size())),
                   digest=read_json(d / "meta.json")["digest"])


def describe(name: str, root=None) -> str:
    """Sizes of a translation corpus, for ``python -m lsnb.data en_de``."""
    ds = load_translation(name, root, n_val=10 ** 9)
    meta = read_json(_dir(name, root) / "meta.json")
    lines = [f"{name}: vocabulary {ds.num_classes} BPE tokens, sentences up to {meta['max_len']} tokens, "
             f"in {_dir(name, root)} (digest {meta['digest']})"]
    for s, split in zip(SPLITS, (ds.train, ds.val, ds.test)):
        src, tgt = int((split.x[:, 0] != PAD).sum()), int((split.y != -100).sum())
        lines.append(f"  {s:5s} {len(split):7d} pairs, {src:8d} source and {tgt:8d} target tokens, "
                     f"{meta['dropped_over_max_len'][s]} dropped (> {meta['max_len']} tokens); "
                     + ", ".join(f"{k} {v}" for k, v in sorted(meta["sources"][s].items())))
    return "\n".join(lines)

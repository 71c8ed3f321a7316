"""The English->German corpora (lsnb.text): parsing, cleaning, splits, BPE and tensor layout.

Everything runs on small synthetic catalogs, dictionaries and Multi30k files in a
temporary data root; one test reads the real Debian sources when they are installed.
"""
import gzip
import struct

import pytest
import torch

from lsnb import data, text


def write_mo(path, entries: dict, charset="UTF-8"):
    """A compiled gettext catalog: header, then tables of (length, offset) for msgids and msgstrs."""
    entries = {"": f"Content-Type: text/plain; charset={charset}\n", **entries}
    keys = sorted(entries)
    ids = [k.encode(charset) for k in keys]
    strs = [entries[k].encode(charset) for k in keys]
    n = len(keys)
    offset = 28 + 16 * n
    tables, blob = [b"", b""], b""
    for t, items in enumerate((ids, strs)):
        for s in items:
            tables[t] += struct.pack("<II", len(s), offset + len(blob))
            blob += s + b"\0"
    path.write_bytes(struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0) + tables[0] + tables[1] + blob)


def b64(n: int) -> str:
    digits = ""
    while True:
        digits = text._B64[n % 64] + digits
        n //= 64
        if not n:
            return digits


def write_freedict(base, entries: dict):
    """A dictd dictionary: gzipped entry texts and an index ``headword TAB offset TAB length``."""
    body, index = b"", []
    for headwords, entry in entries.items():
        raw = entry.encode()
        for hw in headwords.split("|"):   # several headwords may share one entry
            index.append(f"{hw}\t{b64(len(body))}\t{b64(len(raw))}")
        body += raw
    with gzip.open(f"{base}.dict.dz", "wb") as f:
        f.write(body)
    (base.parent / f"{base.name}.index").write_text("\n".join(sorted(index)) + "\n")


ENTRY = """check-in desk /tʃˈɛk ɪn dˈɛsk/
Abfertigungsschalter <masc>, Abflugschalter <masc> [aviat.]
      "Please go to the check-in desk."  - Bitte gehen Sie zum Abfertigungsschalter.
      "It pleases me."  - Es gefällt mir., Es ist mir angenehm.
      "bookshops/bookstores"  - Buchhandlungen
   Synonym: {check-in counter}
 see: {check-in}
"""


def test_read_mo_charsets_plurals_and_context(tmp_path):
    write_mo(tmp_path / "a.mo", {"Open the file": "Die Datei öffnen", "one file\0%d files": "eine Datei\0%d Dateien",
                                 "menu\x04Quit now": "Jetzt beenden"})
    write_mo(tmp_path / "b.mo", {"Größe": "Größe ändern"}, charset="ISO-8859-1")
    cat = text.read_mo(tmp_path / "a.mo")
    assert cat["Open the file"] == "Die Datei öffnen" and cat["one file"] == "eine Datei"
    assert text.clean_message("menu\x04Quit now", cat["menu\x04Quit now"]) == ("Quit now", "Jetzt beenden")
    assert text.read_mo(tmp_path / "b.mo") == {"Größe": "Größe ändern"}
    (tmp_path / "c.mo").write_bytes(b"not a catalog at all")
    with pytest.raises(ValueError, match="not a compiled gettext catalog"):
        text.read_mo(tmp_path / "c.mo")


@pytest.mark.parametrize("msgid, msgstr", [
    ("could not open %s", "konnte %s nicht öffnen"),          # printf placeholder
    ("value %(name)s is bad", "Wert %(name)s ist schlecht"),
    ("Removed {0} items", "{0} Einträge entfernt"),
    ("_Open file", "Datei ö_ffnen"),                           # mnemonic
    ("Save &all", "&Alle speichern"),
    ("use --force to overwrite", "--force zum Überschreiben"),  # option names
    ("Same as `--radix=16'", "Genau wie `--radix=16'"),
    ("usage: git add [<options>]", "Aufruf: git add [<Optionen>]"),
    ("line one\nline two", "Zeile eins\nZeile zwei"),
    ("Tab\tseparated", "Tab\tgetrennt"),
    ("Linux kernel", "Linux kernel"),                          # untranslated
    ("...", "…"),
    ("Not translated", ""),
])
def test_clean_message_drops(msgid, msgstr):
    assert text.clean_message(msgid, msgstr) is None


def test_clean_message_keeps_and_normalises():
    assert text.clean_message("  The operation   timed out.\n", "Zeitüberschreitung  beim Vorgang.\n") == (
        "The operation timed out.", "Zeitüberschreitung beim Vorgang.")
    assert text.clean_message("Send e-mail to -1 users", "E-Mail an -1 Benutzer senden")   # no options


def test_freedict_entry_parsing():
    head, examples = text.parse_freedict_entry(ENTRY)
    assert head == ("check-in desk", "Abfertigungsschalter")   # IPA, tags, labels, second alternative gone
    assert examples == [("Please go to the check-in desk.", "Bitte gehen Sie zum Abfertigungsschalter."),
                        ("It pleases me.", "Es gefällt mir.")]   # slash alternatives dropped
    head, _ = text.parse_freedict_entry("preempt sb. /pɹiːˈɛmpt/\njdm. zuvorkommen <v, intr>, jdm. (etwas) vorgreifen\n")
    assert head == ("preempt sb.", "jdm. zuvorkommen")
    # a comma before a clause is no list of alternatives
    _, ex = text.parse_freedict_entry('x /x/\ny\n      "it has been proven that"  - es ist erwiesen, dass\n')
    assert ex == [("it has been proven that", "es ist erwiesen, dass")]


def synthetic_sources(tmp_path):
    locale = tmp_path / "locale"
    locale.mkdir()
    write_mo(locale / "app.mo", {"The file is open": "Die Datei ist offen", "Quit": "Beenden",
                                 "Please go to the check-in desk.": "Gehen Sie bitte zum Schalter.",
                                 " ".join(["word"] * 41): " ".join(["Wort"] * 41)})
    fd = tmp_path / "freedict-eng-deu"
    write_freedict(fd, {"check-in desk|checkin desk": ENTRY,
                        "make a will": "make a will /mˈeɪk ɐ wˈɪl/\nsein Testament machen <v>\n",
                        "marble eel": "marble eel /mˈɑːbəl ˈiːl/\nGürtelstachelaal <masc>\n",
                        "crooks": "crooks /kɹˈʊks/\nkrümmt\n"})
    return locale, fd


def test_en_de_pairs_sources_dedup_and_filters(tmp_path):
    locale, fd = synthetic_sources(tmp_path)
    assert len(list(text.freedict_entries(fd))) == 4   # two headwords, one entry
    pairs, catalogs = text.en_de_pairs(locale, fd)
    assert catalogs == ["app"]
    assert pairs == [
        ("Please go to the check-in desk.", "Gehen Sie bitte zum Schalter.", "gettext"),  # first one kept
        ("The file is open", "Die Datei ist offen", "gettext"),
        ("It pleases me.", "Es gefällt mir.", "example"),
        ("make a will", "sein Testament machen", "phrase"),
    ]   # no one-word English ("Quit", "crooks"), no one-word German headword, nothing over 40 words


def test_missing_sources_say_how_to_install(tmp_path):
    locale, fd = synthetic_sources(tmp_path)
    with pytest.raises(data.DataUnavailable, match="apt-get install dict-freedict-eng-deu"):
        text.en_de_pairs(locale, tmp_path / "absent")
    with pytest.raises(data.DataUnavailable, match="gettext catalogs"):
        text.en_de_pairs(tmp_path / "no-locale", fd)


def test_split_is_deterministic_and_disjoint():
    pairs = [(f"english {i}", f"deutsch {i}", "gettext") for i in range(50)]
    a, b = text.split_pairs(pairs, 10, seed=0), text.split_pairs(pairs, 10, seed=0)
    assert a == b and a != text.split_pairs(pairs, 10, seed=1)
    assert [len(a[s]) for s in text.SPLITS] == [30, 10, 10]
    sets = [set(a[s]) for s in text.SPLITS]
    assert set().union(*sets) == set(pairs) and sum(map(len, sets)) == len(pairs)
    with pytest.raises(ValueError, match="too few"):
        text.split_pairs(pairs, 25)


@pytest.fixture(scope="module")
def tok():
    sentences = ["The file is open.", "Die Datei ist offen.", "Bitte gehen Sie zum Schalter.",
                 "Please go to the desk.", "Größe ändern", "change the size"] * 20
    return text.train_bpe(sentences, vocab_size=400)


def test_tokenizer_round_trip_and_specials(tok):
    assert [tok.token_to_id(s) for s in text.SPECIALS] == [text.PAD, text.BOS, text.EOS, text.UNK]
    for s in ["Die Datei ist offen.", "  two  spaces and a tab\t", "Straße 😀 naïve", "x"]:
        ids = tok.encode(s).ids
        assert text.UNK not in ids and tok.decode(ids) == s


def test_tensor_layout(tok):
    pairs = [("The file is open.", "Die Datei ist offen."), ("change the size", "Größe ändern")]
    x, y = text.encode(tok, pairs, max_len=24)
    assert x.shape == (2, 2, 24) and y.shape == (2, 23) and x.dtype == y.dtype == torch.int64
    assert (x[:, 1, 0] == text.BOS).all() and (x[:, 0] != text.BOS).all()
    assert torch.equal(y, x[:, 1, 1:].masked_fill(x[:, 1, 1:] == text.PAD, -100))
    for i, (en, de) in enumerate(pairs):
        src, tgt = tok.encode(en).ids, tok.encode(de).ids
        assert x[i, 0, :len(src) + 1].tolist() == src + [text.EOS] and (x[i, 0, len(src) + 1:] == text.PAD).all()
        assert int((y[i] != -100).sum()) == len(tgt) + 1   # the target tokens and EOS; no PAD, no BOS
        assert text.detokenize(tok, x[i, 1]) == de and text.detokenize(tok, x[i, 0]) == en
    with pytest.raises(ValueError, match="max_len=4"):
        text.encode(tok, pairs, max_len=4)


def write_multi30k(raw, n_train=60):
    raw.mkdir(parents=True)
    words = ["a dog", "two men", "a girl", "the red car", "in the park", "runs", "is sitting", "on a bench"]
    german = ["ein Hund", "zwei Männer", "ein Mädchen", "das rote Auto", "im Park", "rennt", "sitzt", "auf einer Bank"]
    for stem, n in (("train", n_train), ("val", 12), ("test_2016_flickr", 10)):
        lines = {"en": [], "de": []}
        for i in range(n):
            pick = [(i * 7 + k * 3) % len(words) for k in range(1 + i % 4)]
            lines["en"].append(" ".join(words[j] for j in pick) + f" {stem} {i}.")
            lines["de"].append(" ".join(german[j] for j in pick) + f" {stem} {i}.")
        lines["en"][0] = " ".join(["long"] * 70)   # more than 64 tokens: dropped at build time
        for lang, rows in lines.items():
            with gzip.open(raw / f"{stem}.{lang}.gz", "wt", encoding="utf-8") as f:
                f.write("\n".join(rows) + "\n")


def test_multi30k_pipeline_from_local_files(tmp_path, monkeypatch):
    monkeypatch.setattr(text, "_download", lambda url, path: pytest.fail(f"downloaded {url}"))
    root = tmp_path / "root"
    write_multi30k(root / "multi30k" / "raw")
    ds = data.load("multi30k", root=root, n_val=5)
    meta = (root / "multi30k" / "meta.json").stat().st_mtime_ns
    assert ds.train.x.shape == (59, 2, text.MAX_LEN) and len(ds.val) == 5 and len(ds.test) == 9
    assert ds.num_classes == text.tokenizer("multi30k", root).get_vocab_size() and ds.classes[:2] == ("<pad>", "<s>")
    pairs, tok = text.corpus("multi30k", root), text.tokenizer("multi30k", root)
    assert [len(pairs[s]) for s in text.SPLITS] == [59, 11, 9]
    for split, rows in ((ds.train, pairs["train"]), (ds.val, pairs["valid"]), (ds.test, pairs["test"])):
        for i in (0, len(split) - 1):   # the rows of the tensors are the pairs of corpus(), in order
            assert text.detokenize(tok, split.x[i, 0]) == rows[i][0]
            assert text.detokenize(tok, split.x[i, 1]) == rows[i][1]
    # first n of each fixed split; no validation split for n_val=0; shorter max_len drops the long pairs
    small = text.load_translation("multi30k", root, n_val=0, n_train=7, n_test=3)
    assert small.val is None and torch.equal(small.train.x, ds.train.x[:7]) and torch.equal(small.test.x, ds.test.x[:3])
    short = text.load_translation("multi30k", root, max_len=12)
    kept = text.corpus("multi30k", root, max_len=12)["train"]
    assert short.train.x.shape[-1] == 12 and short.train.y.shape[-1] == 11 and 0 < len(short.train) == len(kept) < 59
    assert text.detokenize(tok, short.train.x[-1, 1]) == kept[-1][1]
    assert (root / "multi30k" / "meta.json").stat().st_mtime_ns == meta   # built once


def test_multi30k_download_failure_names_url_and_folder(tmp_path, monkeypatch):
    def offline(url, path):
        raise OSError("no network")

    monkeypatch.setattr(text, "_download", offline)
    with pytest.raises(data.DataUnavailable) as err:
        text.load_translation("multi30k", tmp_path)
    msg = str(err.value)
    assert f"{text.MULTI30K_URL}train.en.gz" in msg and str(tmp_path / "multi30k" / "raw") in msg


def test_en_de_build_from_synthetic_sources(tmp_path, monkeypatch):
    locale, fd = synthetic_sources(tmp_path)
    monkeypatch.setattr(text, "N_HELD_OUT", 1)
    d = text.prepare("en_de", tmp_path / "root", locale_dir=locale, freedict=fd)
    assert sorted(p.name for p in d.iterdir()) == ["bpe8000.json", "meta.json", "test.tsv", "tokens.pt",
                                                   "train.tsv", "valid.tsv"]
    pairs = text.corpus("en_de", tmp_path / "root")
    assert [len(pairs[s]) for s in text.SPLITS] == [2, 1, 1]
    assert text.read_json(d / "meta.json")["catalogs"] == ["app"]


REAL = text.FREEDICT.parent / f"{text.FREEDICT.name}.index"


@pytest.mark.skipif(not REAL.exists(), reason="dict-freedict-eng-deu is not installed")
def test_real_sources():
    catalog, names = text.gettext_pairs()
    assert len(catalog) > 1000 and "apt" in names
    entries = text.freedict_entries()
    heads = [text.parse_freedict_entry(next(entries))[0] for _ in range(2000)]
    assert sum(h is not None for h in heads) > 1500
    root = data.default_root()
    if (root / "en_de" / "meta.json").exists():   # the corpus `make data` built
        ds = text.load_translation("en_de", root, n_val=10, n_train=100, n_test=10)
        assert ds.num_classes == text.VOCAB_SIZE and ds.train.x.shape == (100, 2, text.MAX_LEN)
        assert (ds.train.x[:, 1, 0] == text.BOS).all()

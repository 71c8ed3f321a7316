"""The offline English->German corpus (lsnb.data.corpus): gettext catalogs, FreeDict, cleaning and the en_de mix.

Everything runs on small synthetic catalogs and dictionaries; one test reads the real
Debian sources when they are installed.
"""
import gzip
import struct

import pytest

from lsnb.data import corpus, images as data


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
        digits = corpus._B64[n % 64] + digits
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
    cat = corpus.read_mo(tmp_path / "a.mo")
    assert cat["Open the file"] == "Die Datei öffnen" and cat["one file"] == "eine Datei"
    assert corpus.clean_message("menu\x04Quit now", cat["menu\x04Quit now"]) == ("Quit now", "Jetzt beenden")
    assert corpus.read_mo(tmp_path / "b.mo") == {"Größe": "Größe ändern"}
    (tmp_path / "c.mo").write_bytes(b"not a catalog at all")
    with pytest.raises(OSError, match="Invalid mo file"):
        corpus.read_mo(tmp_path / "c.mo")


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
    assert corpus.clean_message(msgid, msgstr) is None


def test_clean_message_keeps_and_normalises():
    assert corpus.clean_message("  The operation   timed out.\n", "Zeitüberschreitung  beim Vorgang.\n") == (
        "The operation timed out.", "Zeitüberschreitung beim Vorgang.")
    assert corpus.clean_message("Send e-mail to -1 users", "E-Mail an -1 Benutzer senden")   # no options


def test_freedict_entry_parsing():
    head, examples = corpus.parse_freedict_entry(ENTRY)
    assert head == ("check-in desk", "Abfertigungsschalter")   # IPA, tags, labels, second alternative gone
    assert examples == [("Please go to the check-in desk.", "Bitte gehen Sie zum Abfertigungsschalter."),
                        ("It pleases me.", "Es gefällt mir.")]   # slash alternatives dropped
    head, _ = corpus.parse_freedict_entry("preempt sb. /pɹiːˈɛmpt/\njdm. zuvorkommen <v, intr>, jdm. (etwas) vorgreifen\n")
    assert head == ("preempt sb.", "jdm. zuvorkommen")
    # a comma before a clause is no list of alternatives
    _, ex = corpus.parse_freedict_entry('x /x/\ny\n      "it has been proven that"  - es ist erwiesen, dass\n')
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
    assert len(list(corpus.freedict_entries(fd))) == 4   # two headwords, one entry
    pairs, catalogs = corpus.en_de_pairs(locale, fd, catalogs=None)
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
        corpus.en_de_pairs(locale, tmp_path / "absent")
    with pytest.raises(data.DataUnavailable, match="gettext catalogs"):
        corpus.en_de_pairs(tmp_path / "no-locale", fd)


REAL = corpus.FREEDICT.parent / f"{corpus.FREEDICT.name}.index"


@pytest.mark.skipif(not REAL.exists(), reason="dict-freedict-eng-deu is not installed")
def test_real_sources():
    catalog, names = corpus.gettext_pairs()
    assert len(catalog) > 1000 and "apt" in names
    entries = corpus.freedict_entries()
    heads = [corpus.parse_freedict_entry(next(entries))[0] for _ in range(2000)]
    assert sum(h is not None for h in heads) > 1500


def test_only_the_named_catalogs_are_read(tmp_path):
    """A package installed later adds a catalog; the corpus reads the base image's and stays the same."""
    write_mo(tmp_path / "base.mo", {"Open the file": "Die Datei öffnen"})
    write_mo(tmp_path / "later.mo", {"Close the window": "Das Fenster schließen"})
    pairs, names = corpus.gettext_pairs(tmp_path, catalogs=("base",))
    assert names == ["base"] and [p[0] for p in pairs] == ["Open the file"]
    assert corpus.gettext_pairs(tmp_path)[1] == ["base", "later"]
    assert "apt" in corpus.BASE_CATALOGS and len(corpus.BASE_CATALOGS) == 86

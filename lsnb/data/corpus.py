"""The offline English->German corpus ``en_de``: sentence pairs from two human translations that Debian ships.

* the **gettext catalogs** of the installed software (``/usr/share/locale/de/LC_MESSAGES/*.mo``):
  every program's English messages with their German translations, real sentences
  ("The operation timed out" -> "Die Zeit für den Vorgang wurde überschritten"), less the
  entries that are no sentence pair (placeholders, mnemonics, option names, help screens);
* the **FreeDict English-German dictionary** (package ``dict-freedict-eng-deu``, dictd format):
  its example sentences and phrases ("The ball was out of bounds." -> "Der Ball war im Aus.")
  and its multi-word headwords that German translates with several words too
  ("listed building" -> "Gebäude unter Denkmalschutz").

The mix was chosen by measurement: per mix, its training pairs, the share of one-word German
references in a random 1000-pair test split, the share of the words of one fixed test set
unseen in training, and the BLEU of a retrieval baseline. gettext alone is small and technical
(21 k pairs, 23.9 % unseen words); FreeDict's examples bring everyday sentences (67 k pairs,
3.2 % unseen); its headwords with 2+ English and 2+ German words ("make a will" -> "sein
Testament machen") add vocabulary and halve the one-word references (131 k pairs, 13 %
one-word, 2.3 % unseen, retrieval BLEU 16.7: the corpus we take). The headwords translated by
one German word ("marble eel" -> "Gürtelstachelaal") and the one-word headwords would cut the
unseen words to 1.8 % and 1.0 %, but make the corpus 2.4 and 3.2 times larger (as much more CPU
time per epoch), turn 64 % and 70 % of the references into single words, on which BLEU counts
nothing beyond unigrams and is noisy (retrieval BLEU 18.4 and 11.9), and teach a lookup table
of forms that are ambiguous out of context ("crooks": Gauner or krümmt?): they are left out.

The catalogs depend on the packages a machine has installed, so :func:`lsnb.data.text.prepare`
records the ones read and a digest of the corpus; a change of the cleaning rules here needs a
new :data:`lsnb.data.text.CORPUS_VERSION`.
"""
from __future__ import annotations

import gzip
import re
from pathlib import Path

from .images import DataUnavailable

LOCALE_DIR = Path("/usr/share/locale/de/LC_MESSAGES")
FREEDICT = Path("/usr/share/dictd/freedict-eng-deu")   # .dict.dz and .index
MAX_WORDS = 40        # longer pairs are dropped before the split


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
    """msgid -> msgstr of a compiled gettext catalog (``.mo``), decoded by ``polib`` in the charset its header names.

    A message with a context keeps it the way GNU gettext stores it (``context\\x04msgid``); a
    plural entry keeps its singular msgid and first form; untranslated entries are left out.
    (The standard library's ``gettext.GNUTranslations`` decodes every header as UTF-8, which
    fails on Latin-1 catalogs such as net-tools', and keeps its table private.)
    """
    import polib

    out = {}
    for e in polib.mofile(str(path)):
        msgid = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        msgstr = e.msgstr_plural[0] if e.msgid_plural else e.msgstr
        if msgid and msgstr:
            out[msgid] = msgstr
    return out


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


# The catalogs of the base image the corpus was first built on (Debian 12, 86 catalogs). Only these
# are read: a package installed later (a browser, an emulator) brings more catalogs, and a corpus
# that grew with them would retrain every run and change every number of chapter 3b.
BASE_CATALOGS = (
    'Linux-PAM', 'PackageKit', 'adduser', 'appstream', 'apt', 'at-spi2-core', 'avahi', 'bash', 'coreutils',
    'diffutils', 'dpkg-dev', 'dpkg', 'elfutils', 'findutils', 'gdk-pixbuf', 'gettext-runtime', 'gettext-tools',
    'git', 'glib20', 'gnupg2', 'gnutls30', 'gprof', 'grep', 'gsettings-desktop-schemas', 'gstreamer-1.0',
    'gtk20-properties', 'gtk20', 'initdb-15', 'iso_15924', 'iso_3166-1', 'iso_3166-2', 'iso_3166-3',
    'iso_3166', 'iso_3166_2', 'iso_4217', 'iso_639-2', 'iso_639-3', 'iso_639-5', 'iso_639', 'iso_639_3',
    'iso_639_5', 'ld', 'libapt-pkg6.0', 'libc', 'libidn2', 'libpq5-15', 'make', 'man-db-gnulib', 'man-db',
    'mit-krb5', 'net-tools', 'opcodes', 'pg_amcheck-15', 'pg_archivecleanup-15', 'pg_basebackup-15',
    'pg_checksums-15', 'pg_config-15', 'pg_controldata-15', 'pg_ctl-15', 'pg_dump-15', 'pg_resetwal-15',
    'pg_rewind-15', 'pg_test_fsync-15', 'pg_test_timing-15', 'pg_upgrade-15', 'pg_verifybackup-15',
    'pg_waldump-15', 'pgscripts-15', 'plpgsql-15', 'polkit-1', 'postgres-15', 'procps-ng', 'psmisc', 'psql-15',
    'python-apt', 'sed', 'shadow', 'shared-mime-info', 'software-properties', 'systemd', 'tar', 'wget-gnulib',
    'wget', 'xdg-user-dirs', 'xkeyboard-config', 'xz',
)


def gettext_pairs(locale_dir: Path = LOCALE_DIR, catalogs=None) -> tuple[list, list]:
    """Clean pairs of the ``*.mo`` catalogs in ``locale_dir`` (sorted by file name) whose names are in
    ``catalogs`` (None: all), and the names of the catalogs read."""
    files = sorted(f for f in Path(locale_dir).glob("*.mo") if catalogs is None or f.stem in catalogs)
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

def en_de_pairs(locale_dir: Path = LOCALE_DIR, freedict: Path = FREEDICT, catalogs=BASE_CATALOGS) -> tuple[list, list]:
    """The offline corpus: ``[(english, german, source)]`` in a fixed order, and the catalogs read.

    Sources ``gettext`` (clean catalog messages), ``example`` (FreeDict's examples) and
    ``phrase`` (its multi-word headwords with 2+ German words); pairs with one English word are
    left out (see the module docstring for why). Pairs are deduplicated on the English side,
    ignoring case and punctuation (the first is kept: catalogs before examples before
    headwords, catalogs sorted by name), and pairs with more than :data:`MAX_WORDS` words on
    either side are dropped. Only the gettext ``catalogs`` named are read (None: all of them).
    """
    missing = [p for p in (Path(f"{freedict}.dict.dz"), Path(f"{freedict}.index")) if not p.exists()]
    if missing:
        raise DataUnavailable(
            f"en_de needs the FreeDict English-German dictionary, but {missing[0]} is missing. "
            f"Install it with: sudo apt-get install dict-freedict-eng-deu (or run make data as root)")
    catalog, names = gettext_pairs(locale_dir, catalogs)
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

"""The translation pipeline (lsnb.data.text): splits, BPE, tensor layout, and the corpora built on disk.

Everything runs on small synthetic sources and Multi30k files in a temporary data root;
one test reads the en_de corpus that `make data` built, when there is one.
"""
import gzip

import pytest
import torch

from lsnb.data import images as data, text
from test_corpus import synthetic_sources


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
    ds = text.load_translation("multi30k", root=root, n_val=5)
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
    d = text.prepare("en_de", tmp_path / "root", locale_dir=locale, freedict=fd, catalogs=None)
    assert sorted(p.name for p in d.iterdir()) == ["bpe8000.json", "meta.json", "test.tsv", "tokens.pt",
                                                   "train.tsv", "valid.tsv"]
    pairs = text.corpus("en_de", tmp_path / "root")
    assert [len(pairs[s]) for s in text.SPLITS] == [2, 1, 1]
    assert text.read_json(d / "meta.json")["catalogs"] == ["app"]


@pytest.mark.skipif(not (data.default_root() / "en_de" / "meta.json").exists(), reason="make data built no en_de")
def test_real_corpus():
    ds = text.load_translation("en_de", data.default_root(), n_val=10, n_train=100, n_test=10)
    assert ds.num_classes == text.VOCAB_SIZE and ds.train.x.shape == (100, 2, text.MAX_LEN)
    assert (ds.train.x[:, 1, 0] == text.BOS).all()

"""The translation Transformer and its decoding: shapes, the cached decoder, beam search, BLEU, token logits."""
from types import SimpleNamespace

import pytest
import torch

from lsnb.data import images as data
from lsnb.models import decode, transformer
from lsnb.methods import metrics
from lsnb.engine import runs
from lsnb.chapters import translation
from lsnb.methods.losses import label_smoothing_loss
from lsnb.data.text import BOS, EOS, PAD
from lsnb.engine import tasks
from lsnb.chapters import translation_summary
from welch import assert_interval

V = 16  # ids 0-3 special, 4-15 "words"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and far slower with two when the CPU is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_split(sources, targets, width=None):
    """A translation split as lsnb.data.text builds it: x (N, 2, L) source / BOS target EOS, y = x[:, 1, 1:] with -100."""
    width = width or max(max(len(s), len(t)) for s, t in zip(sources, targets)) + 2
    x = torch.full((len(sources), 2, width), PAD, dtype=torch.long)
    for i, (s, t) in enumerate(zip(sources, targets)):
        x[i, 0, :len(s) + 1] = torch.tensor(list(s) + [EOS])
        x[i, 1, :len(t) + 2] = torch.tensor([BOS] + list(t) + [EOS])
    return data.Split(x, x[:, 1, 1:].masked_fill(x[:, 1, 1:] == PAD, -100))


def reversal_split(n, seed):
    g = torch.Generator().manual_seed(seed)
    sources = [torch.randint(4, V, (int(torch.randint(2, 8, (1,), generator=g)),), generator=g).tolist()
               for _ in range(n)]
    return make_split(sources, [s[::-1] for s in sources])


def tiny(seed=0, **kwargs):
    torch.manual_seed(seed)
    return transformer.Transformer((2, 10), V, **{"d_model": 32, "heads": 4, "layers": 2, "ffn": 64, "dropout": 0.0,
                                             **kwargs})


@pytest.fixture(scope="module")
def random_model():
    return tiny().eval()


@pytest.fixture(scope="module")
def trained():
    """A tiny Transformer taught to reverse sequences (a few seconds on a CPU)."""
    model, data = tiny(1, dropout=0.1), reversal_split(2000, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        idx = torch.randint(0, len(data.x), (64,), generator=g)
        loss = label_smoothing_loss(model(data.x[idx]).flatten(0, -2), data.y[idx].flatten(), 0.1, ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def test_split():
    return reversal_split(40, seed=1)


# ----------------------------------------------------------------------------- the model


def test_forward_shapes_and_build(test_split):
    config = SimpleNamespace(model="transformer", task="translation", augment="tokens",
                             model_kwargs={"d_model": 32, "heads": 4, "layers": 1, "ffn": 64})
    model = tasks.new_model(config, tuple(test_split.x.shape[1:]), V).eval()
    x = test_split.x[:5]
    assert model(x).shape == (5, x.shape[-1] - 1, V)
    assert model.features(x).shape == (5, x.shape[-1] - 1, 32)
    assert torch.equal(model.head(model.features(x)), model(x))
    assert not any(model.decays(n) for n, _ in model.named_parameters())


def test_embeddings_are_tied(random_model):
    assert random_model.head.weight is random_model.embed.weight
    assert sum(p is random_model.embed.weight for p in random_model.parameters()) == 1
    assert random_model.head.bias is None


def test_parameters_keep_nn_transformers_names_and_shapes():
    """Runs stored when the model was built on nn.Transformer(norm_first=True) load into this one."""
    d, f = 32, 64
    attn = {"in_proj_weight": (3 * d, d), "in_proj_bias": (3 * d,), "out_proj.weight": (d, d), "out_proj.bias": (d,)}
    ffn = {"linear1.weight": (f, d), "linear1.bias": (f,), "linear2.weight": (d, f), "linear2.bias": (d,)}
    norms = {f"norm{i}.{w}": (d,) for i in (1, 2, 3) for w in ("weight", "bias")}
    encoder = {**{f"self_attn.{k}": v for k, v in attn.items()}, **ffn, **{k: norms[k] for k in list(norms)[:4]}}
    decoder = {**{f"{a}.{k}": v for a in ("self_attn", "multihead_attn") for k, v in attn.items()}, **ffn, **norms}
    expected = {"embed.weight": (V, d), "head.weight": (V, d)}
    for stack, layer in (("encoder", encoder), ("decoder", decoder)):
        expected.update({f"transformer.{stack}.layers.{i}.{k}": v for i in range(2) for k, v in layer.items()})
        expected.update({f"transformer.{stack}.norm.weight": (d,), f"transformer.{stack}.norm.bias": (d,)})
    assert {k: tuple(v.shape) for k, v in tiny().state_dict().items()} == expected


def test_seed_gives_nn_transformers_initial_weights():
    """Values drawn by the nn.Transformer-based model for seed 0: the construction draws the same random numbers
    in the same order (embedding, tied head, one encoder and one decoder layer copied, Xavier on every matrix)."""
    state = tiny().state_dict()
    drawn = {("embed.weight", (3, 5)): 0.14106370508670807,
             ("transformer.encoder.layers.0.self_attn.in_proj_weight", (0, 0)): 0.1423555165529251,
             ("transformer.encoder.layers.1.linear1.bias", (0,)): -0.17021895945072174,
             ("transformer.decoder.layers.1.multihead_attn.in_proj_weight", (-1, -1)): -0.042672015726566315,
             ("transformer.decoder.layers.1.linear2.weight", (0, 1)): -0.24533602595329285,
             ("transformer.decoder.layers.0.linear2.bias", (0,)): -0.11262381076812744}
    for (name, index), value in drawn.items():
        assert state[name][index].item() == pytest.approx(value, rel=1e-6), name
    for stack in ("encoder", "decoder"):
        assert torch.equal(state[f"transformer.{stack}.layers.0.linear1.bias"],
                           state[f"transformer.{stack}.layers.1.linear1.bias"])  # copies of one layer
        assert not state[f"transformer.{stack}.layers.0.self_attn.in_proj_bias"].any()
        assert not state[f"transformer.{stack}.layers.1.self_attn.out_proj.bias"].any()


def test_positions_are_sinusoids():
    pe = transformer.sinusoids(50, 8)
    assert torch.allclose(pe[7, 2], torch.sin(torch.tensor(7 / 10000 ** (2 / 8))))
    assert torch.allclose(pe[7, 3], torch.cos(torch.tensor(7 / 10000 ** (2 / 8))))


def test_cached_step_equals_the_full_decoder(random_model, test_split):
    src, tgt = test_split.x[:8, 0], test_split.x[:8, 1]  # padded sources of different lengths
    with torch.no_grad():
        memory, pad = random_model.encode(src)
        full = random_model.head(random_model.decode(tgt, memory, pad))
        cache = random_model.start(memory, pad)
        steps = torch.stack([random_model.step(tgt[:, t], cache) for t in range(tgt.shape[1])], 1)
    keep = tgt != PAD  # padded target positions are never decoded
    torch.testing.assert_close(steps[keep], full[keep], atol=1e-5, rtol=0)


def test_step_refuses_training_mode(random_model):
    model = tiny().train()
    with pytest.raises(RuntimeError, match="eval"):
        model.step(torch.tensor([BOS]), model.start(*model.encode(torch.tensor([[5, EOS]]))))


# ----------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("which", ["random_model", "trained"])
def test_beam_one_is_greedy(which, request, test_split):
    """Without a length penalty, beam 1 is greedy (with one, a longer hypothesis may still win)."""
    model, src = request.getfixturevalue(which), test_split.x[:, 0]
    assert torch.equal(decode.beam_search(model, src, beam=1, length_penalty=0.0, max_len=12),
                       decode.greedy(model, src, max_len=12))


def test_temperature_does_not_change_greedy(random_model, test_split):
    src = test_split.x[:, 0]
    base = decode.greedy(random_model, src, max_len=12)
    for t in (0.3, 3.0):
        assert torch.equal(decode.greedy(random_model, src, max_len=12, temperature=t), base)


def test_beam_scores_at_least_greedy(trained, test_split):
    """Not a theorem (beam search may prune greedy's path), but true of a model that has learned its task."""
    src = test_split.x[:, 0]
    for temperature in (1.0, 2.0):
        g = decode.greedy(trained, src, temperature=temperature)
        b = decode.beam_search(trained, src, beam=4, temperature=temperature)
        sg = decode.sequence_score(trained, src, g, 0.6, temperature)
        sb = decode.sequence_score(trained, src, b, 0.6, temperature)
        assert (sb >= sg - 1e-5).all()


def test_trained_model_reverses(trained, test_split):
    out = decode.beam_search(trained, test_split.x[:, 0], beam=4)
    target = test_split.x[:, 1, 1:]
    exact = [decode.strip(o) == decode.strip(t) for o, t in zip(out.tolist(), target.tolist())]
    assert sum(exact) >= 0.6 * len(exact)  # 80% at 300 steps


def test_output_format_and_length_limit(random_model, test_split):
    src = test_split.x[:, 0]
    limit = decode.length_limit(src, max_len=9, extra=3)
    assert torch.equal(limit, ((src != PAD).sum(1) + 3).clamp(max=9))
    for out in (decode.greedy(random_model, src, max_len=9, extra=3),
                decode.beam_search(random_model, src, beam=3, max_len=9, extra=3)):
        assert not ((out == BOS).any())
        lengths = (out != PAD).sum(1)
        assert (lengths <= limit).all()
        for row, n in zip(out, lengths):  # nothing after the first EOS; PAD only at the end
            assert (row[n:] == PAD).all() and (row[:n - 1] != EOS).all()


def test_translate_does_not_depend_on_batches(trained, test_split):
    tokenizer = SimpleNamespace(decode=lambda ids: " ".join(map(str, ids)))
    one = decode.translate(trained, test_split, tokenizer, batch_size=1)
    many = decode.translate(trained, test_split, tokenizer, batch_size=16)
    assert one == many and len(one) == len(test_split.x)
    assert all(str(s) not in h.split() for h in one for s in (PAD, BOS, EOS))


# ----------------------------------------------------------------------------- BLEU and token logits


def test_bleu_of_the_reference_is_100():
    refs = ["The cat sat on the mat.", "A dog barked at the moon, twice.", "Nothing else happened."]
    assert decode.bleu(refs, refs) == pytest.approx(100.0)
    assert decode.bleu_bootstrap(refs, refs, n=50) == pytest.approx((100.0, 0.0))
    hyps = ["The cat sat on a mat.", "A dog barked at the sun twice.", "Nothing happened."]
    mean, sd = decode.bleu_bootstrap(hyps * 10, refs * 10, n=200, seed=1)
    assert 0 < sd < 20 and abs(mean - decode.bleu(hyps * 10, refs * 10)) < 3 * sd


def test_token_logits_ignore_padding(random_model, test_split):
    logits, labels = runs.token_logits(random_model, test_split, batch_size=7)
    assert logits.dtype == torch.float32 and logits.shape == (int((test_split.y != -100).sum()), V)
    assert torch.equal(labels, test_split.y[test_split.y != -100])
    wide = data.Split(torch.nn.functional.pad(test_split.x, (0, 6), value=PAD),  # 6 more PAD columns,
                      torch.nn.functional.pad(test_split.y, (0, 6), value=-100))  # decoded one by one
    logits_wide, labels_wide = runs.token_logits(random_model, wide, batch_size=1)
    assert torch.equal(labels_wide, labels)
    torch.testing.assert_close(logits_wide, logits, atol=1e-5, rtol=0)
    with torch.no_grad():  # and equal to the model's own forward pass on the whole (padded) batch
        direct = random_model(test_split.x)[test_split.y != -100]
    torch.testing.assert_close(direct, logits, atol=1e-5, rtol=0)



# ----------------------------------------------------------------------------- chapter 3b's measurements

def translation_runs(trained_model, random_model, seeds=(0, 1), root=None):
    """{alpha: runs}: the reversal-trained model stands in for every hard-target run, the random one for LS;
    ``root``: a folder for their run folders."""
    return {a: [SimpleNamespace(config=SimpleNamespace(alpha=a, seed=s, dataset="en_de"), model=m,
                                path=None if root is None else root / f"a{a:g}_s{s}") for s in seeds]
            for a, m in ((0.0, trained_model), (0.1, random_model))}


def test_token_calibration_rows_and_figure3(trained, random_model, test_split, monkeypatch, tmp_path):
    val = reversal_split(40, seed=9)
    monkeypatch.setattr(runs, "load_data", lambda config: SimpleNamespace(val=val, test=test_split))
    fakes = translation_runs(trained, random_model, root=tmp_path)
    rows, reliability = translation.token_calibration(fakes, [0.8, 1.0], seed=1, n_bins=10)
    for a in (0.0, 0.1):
        for s in (0, 1):
            mine = [r for r in rows if r["alpha"] == a and r["seed"] == s]
            fitted = [r for r in mine if r["fitted"]]
            # the chapter's grid, the fine grid of Figure 4's ECE and NLL, and the fitted T
            assert len(fitted) == 1 and [r["T"] for r in mine] == sorted({0.8, 1.0, fitted[0]["T"],
                                                                           *translation.FINE_GRID})
    model = trained
    logits, labels = runs.token_logits(model, test_split)
    at_08 = next(r for r in rows if r["alpha"] == 0.0 and r["T"] == 0.8)
    assert at_08["ece"] == pytest.approx(metrics.ece(logits, labels, 10, 0.8))
    assert at_08["nll"] == pytest.approx(metrics.nll(logits / 0.8, labels), rel=1e-5)
    assert at_08["accuracy"] == pytest.approx(100 * metrics.accuracy(logits, labels))
    t_fit = next(r["T"] for r in rows if r["alpha"] == 0.0 and r["seed"] == 1 and r["fitted"])
    assert list(reliability) == ["hard targets", f"hard, T = {t_fit:.2f}", "LS, alpha = 0.1"]
    assert reliability["hard targets"]["count"].sum() == len(labels)
    # a warm rebuild reads every run's numbers from its folder: no logits over the vocabulary again
    monkeypatch.setattr(translation, "token_logits", lambda *a, **k: pytest.fail("recomputed"))
    again, again_reliability = translation.token_calibration(fakes, [0.8, 1.0], seed=1, n_bins=10)
    assert again == rows and list(again_reliability) == list(reliability)
    torch.testing.assert_close(again_reliability["LS, alpha = 0.1"]["accuracy"],
                               reliability["LS, alpha = 0.1"]["accuracy"], equal_nan=True)


def test_bleu_rows_decode_every_hard_seed_and_the_first_ls_seed_at_every_temperature(monkeypatch):
    refs = ["a b c d", "e f g h"]
    monkeypatch.setattr(translation, "references", lambda config, split: refs)
    hyps = {1.0: ["a b c d", "e f g x"], 2.0: ["a b x d", "x f g h"]}
    monkeypatch.setattr(translation, "run_translations",
                        lambda run, split, temperature, beam, length_penalty: hyps[temperature])
    trained = {a: [SimpleNamespace(config=SimpleNamespace(alpha=a, seed=s)) for s in (3, 4)] for a in (0.0, 0.1)}
    rows = translation.bleu_rows(trained, [1.0, 2.0], seed=3, n_bootstrap=20)
    assert [(r["alpha"], r["seed"], r["T"]) for r in rows] == [
        (0.0, 3, 1.0), (0.0, 3, 2.0), (0.0, 4, 1.0), (0.0, 4, 2.0), (0.1, 3, 1.0), (0.1, 3, 2.0), (0.1, 4, 1.0)]
    assert rows[1]["bleu"] == pytest.approx(decode.bleu(hyps[2.0], refs))
    assert rows[0]["bleu_bootstrap_sd"] == pytest.approx(decode.bleu_bootstrap(hyps[1.0], refs, n=20)[1])


def test_example_translations_are_columns_per_alpha(monkeypatch):
    pairs = [(f"en {i}", f"de {i}") for i in range(10)]
    monkeypatch.setattr(translation.text, "corpus", lambda dataset: {"test": pairs})
    monkeypatch.setattr(translation, "references", lambda config, split: [de for _, de in pairs])
    monkeypatch.setattr(translation, "run_translations",
                        lambda run, split, beam, length_penalty: [f"{run.config.alpha} {i}" for i in range(10)])
    trained = {a: [SimpleNamespace(config=SimpleNamespace(alpha=a, seed=0, dataset="en_de"))] for a in (0.0, 0.2)}
    columns = translation.example_translations(trained, 3)
    assert columns == {"English": ["en 0", "en 1", "en 2"], "reference": ["de 0", "de 1", "de 2"],
                       "hard targets": ["0.0 0", "0.0 1", "0.0 2"], "LS 0.2": ["0.2 0", "0.2 1", "0.2 2"]}


# per seed of the hard-target model: BLEU, ECE and NLL at T = 0.8, 1.0, 1.2 (the best BLEU, lowest ECE and
# lowest NLL lie at different T on each seed)
HARD_BLEU = {0: (10.0, 11.0, 12.0), 1: (10.0, 12.5, 12.0), 2: (13.0, 12.0, 11.0)}
HARD_ECE = {0: (0.05, 0.04, 0.01), 1: (0.05, 0.02, 0.03), 2: (0.04, 0.05, 0.03)}
HARD_NLL = {0: (1.0, 1.1, 1.3), 1: (1.0, 1.1, 1.2), 2: (1.3, 1.2, 1.1)}
LS_BLEU = {0: 14.0, 1: 14.5, 2: 13.5}           # at T = 1 (seed 0 also at 0.8: 12.0 and 1.2: 13.0)


def figure4_inputs():
    """Token rows and BLEU rows of three seeds, listed in the order 2, 0, 1, as token_calibration and bleu_rows
    give them: every T of the grid and the fitted T = 1.13 for the tokens (its ECE and NLL lower than any grid
    T's, so a summary that looked at it would notice); every hard seed and the LS seed 0 at every T of the
    grid for BLEU, the other LS seeds at T = 1."""
    import pandas as pd
    tokens, bleu = [], []
    for s in (2, 0, 1):
        for a in (0.0, 0.1):
            for i, T in enumerate((0.8, 1.0, 1.2)):
                tokens.append({"alpha": a, "seed": s, "T": T, "fitted": False, "accuracy": 40.0 + s,
                               "ece": HARD_ECE[s][i] / (5 if a else 1), "nll": HARD_NLL[s][i] + a})
            tokens.append({"alpha": a, "seed": s, "T": 1.13, "fitted": True, "accuracy": 40.0 + s, "ece": 0.001,
                           "nll": 0.5})
            if a == 0:
                points = zip((0.8, 1.0, 1.2), HARD_BLEU[s])
            else:
                points = zip((0.8, 1.0, 1.2), (12.0, 14.0, 13.0)) if s == 0 else [(1.0, LS_BLEU[s])]
            for T, b in points:
                bleu.append({"alpha": a, "seed": s, "T": T, "bleu": b, "bleu_bootstrap_sd": 0.5 if T == 1.0 else 0.9})
    return pd.DataFrame(tokens), pd.DataFrame(bleu)


def test_figure4_table_and_translation_summary():
    tokens, bleu = figure4_inputs()
    fig4 = translation_summary.figure4_table(tokens, bleu, 0)
    assert len(fig4) == 6 and set(fig4["T"]) == {0.8, 1.0, 1.2}                 # the fitted T = 1.13 left out
    assert list(fig4["training"].unique()) == ["hard targets", "LS 0.1"]
    s = translation_summary.translation_summary(tokens, bleu, 0.1)
    # one value per seed, in seed order
    assert s.bleu_hard == [11.0, 12.5, 12.0] and s.bleu_ls == [14.0, 14.5, 13.5] and s.boot_sd == 0.5
    assert s.ece_hard == [0.04, 0.02, 0.05] and s.nll_ls == pytest.approx([1.2, 1.2, 1.3])
    assert s.best_hard_bleu == [12.0, 12.5, 13.0]
    assert s.t_best_bleu == [1.2, 1.0, 0.8]
    assert s.t_min_ece == [1.2, 1.0, 1.2] and s.t_min_nll == [0.8, 0.8, 1.2]    # never the fitted T = 1.13
    assert (s.best_bleu, s.accuracy) == (14.5, 41.0)                             # the hard-target model's
    assert s.t_fit == [1.13] * 3 and s.ece_ts == [0.001] * 3                     # temperature scaling, per seed
    assert s.ts_gain.difference == pytest.approx((0.04 + 0.02 + 0.05) / 3 - 0.001)
    assert s.bleu_grid == (0.8, 1.0, 1.2) and s.token_grid == (0.8, 1.0, 1.2)
    assert s.grids_locate(0.2)[0] is False                                       # optima at the grid's edges
    # each claim: a Welch interval over the seeds, signed so that > 0 is the paper's finding
    assert s.bleu_gain.difference == pytest.approx(14.0 - 11.833333)
    assert_interval(s.bleu_gain, s.bleu_ls, s.bleu_hard)
    assert_interval(s.ece_gain, s.ece_hard, s.ece_ls)
    assert s.nll_loss.difference == pytest.approx(0.1)
    assert_interval(s.nll_loss, s.nll_ls, s.nll_hard)
    assert s.ts_gap.difference == pytest.approx(14.0 - 12.5)                    # LS at T = 1 - hard at its best T
    assert_interval(s.ts_gap, [14.0, 14.5, 13.5], [12.0, 12.5, 13.0])
    # |T_NLL - T_BLEU| = 0.4, 0.2, 0.4 against |T_ECE - T_BLEU| = 0, 0, 0.4: closer on two seeds of three
    assert s.ece_closer.difference == pytest.approx(0.2)
    assert_interval(s.ece_closer, [0.4, 0.2, 0.4], [0.0, 0.0, 0.4])
    assert [c.verdict() for c in (s.bleu_gain, s.ece_gain, s.nll_loss, s.ts_gap, s.ece_closer)] == [
        "agrees", "within noise", "within noise", "agrees", "within noise"]

"""Decoding and scoring a translation model (the paper's sec. 3, Figures 3 and 4).

Greedy decoding and beam search with the length penalty of Wu et al. (2016), which
Vaswani et al. (2017, sec. 6.1) use with beam 4 and alpha 0.6; a temperature T divides
the logits before the softmax, as in the paper's Figure 4. BLEU is sacrebleu's corpus
BLEU on detokenised text, with a bootstrap over sentences for its spread. For
calibration (Figure 3), :func:`lsnb.engine.runs.token_logits` gives one row of logits per target token
given the correct prefix -- padding excluded -- for :mod:`lsnb.methods.metrics` and
:mod:`lsnb.methods.calibration`.

Decoding never emits PAD or BOS (their log-probabilities are set to -inf after the
softmax, so the other tokens keep the model's probabilities).
Chapter 3b's measurements of trained models are in :mod:`lsnb.chapters.translation`.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sacrebleu.metrics import BLEU

from ..data.vocab import BOS, EOS, PAD
from .modes import evaluating


def next_log_probs(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``log softmax(logits / T)`` in float32, with PAD and BOS ruled out."""
    logp = F.log_softmax(logits.float() / temperature, dim=-1)
    logp[..., [PAD, BOS]] = float("-inf")
    return logp


def lp(length, alpha: float):
    """Wu et al. (2016): ``lp(Y) = ((5 + |Y|) / 6) ** alpha``; a hypothesis scores ``log p(Y|X) / lp(Y)``."""
    return ((5 + length) / 6) ** alpha


def length_limit(src: torch.Tensor, max_len: int = 200, extra: int = 50) -> torch.Tensor:
    """The most tokens (EOS included) to generate per sentence: source length + ``extra``, at most ``max_len``."""
    return ((src != PAD).sum(1) + extra).clamp(max=max_len)


def _trim(tokens: torch.Tensor) -> torch.Tensor:
    """Drop the columns that are PAD in every row."""
    return tokens[:, :int((tokens != PAD).sum(1).max())]


def greedy(model, src: torch.Tensor, max_len: int = 200, temperature: float = 1.0, extra: int = 50) -> torch.Tensor:
    """The most probable next token at every step, for a batch of sources (B, S) -> tokens (B, T).

    Each row is the generated ids after BOS, ending with EOS (unless cut at the length
    limit, :func:`length_limit`) and then PAD. A temperature does not change the argmax;
    it is accepted so that greedy and beam search are called alike.
    """
    limit = length_limit(src, max_len, extra).to(src.device)
    with evaluating(model):
        cache = model.start(*model.encode(src))
        tokens = torch.full((len(src), int(limit.max())), PAD, dtype=torch.long, device=src.device)
        last, done = torch.full_like(limit, BOS), torch.zeros_like(limit, dtype=torch.bool)
        for t in range(tokens.shape[1]):
            last = next_log_probs(model.step(last, cache), temperature).argmax(-1).masked_fill(done, PAD)
            tokens[:, t] = last
            done |= (last == EOS) | (t + 1 >= limit)
            if done.all():
                break
    return _trim(tokens)


def beam_search(model, src: torch.Tensor, beam: int = 4, max_len: int = 200, length_penalty: float = 0.6,
                temperature: float = 1.0, extra: int = 50) -> torch.Tensor:
    """Beam search (Wu et al. 2016; Vaswani et al. 2017 sec. 6.1) for a batch of sources (B, S) -> tokens (B, T).

    Per sentence, the ``beam`` alive hypotheses are extended and the ``beam`` best
    continuations by summed log-probability kept; those ending in EOS (or at the length
    limit) leave the beam for the finished set, scored ``log p / lp`` (:func:`lp`), and the
    next best continuations (of the 2 x beam computed) take their places. A sentence is done
    when no alive hypothesis can beat its best finished one (log-probabilities only fall,
    and lp is largest at the length limit). Returns the best finished hypothesis per
    sentence, in :func:`greedy`'s format. Beam 1 without a length penalty is greedy
    decoding; with one, a hypothesis longer than greedy's may still win.
    """
    b, k, device = len(src), beam, src.device
    limit = length_limit(src, max_len, extra).to(device)
    n = int(limit.max())
    with evaluating(model):
        memory, pad = model.encode(src)
        cache = model.start(memory.repeat_interleave(k, 0), pad.repeat_interleave(k, 0))
        alive = torch.empty(b, k, 0, dtype=torch.long, device=device)
        alive_lp = torch.full((b, k), float("-inf"), device=device)
        alive_lp[:, 0] = 0.0  # one live beam to start with, so the first step does not pick k copies
        finished = torch.full((b, k, n), PAD, dtype=torch.long, device=device)
        finished_score = torch.full((b, k), float("-inf"), device=device)
        last = torch.full((b * k,), BOS, dtype=torch.long, device=device)
        for t in range(1, n + 1):
            logp = next_log_probs(model.step(last, cache), temperature).view(b, k, -1)
            total, index = (alive_lp[..., None] + logp).flatten(1).topk(2 * k, dim=1)  # (b, 2k)
            parent, token = index // logp.shape[-1], index % logp.shape[-1]
            seqs = torch.cat([alive.gather(1, parent[..., None].expand(-1, -1, t - 1)), token[..., None]], 2)
            eos, at_limit = token == EOS, (t >= limit)[:, None]
            ends = (eos & (torch.arange(2 * k, device=device) < k)) | at_limit  # EOS counts among the k best

            score = torch.where(ends, total / lp(t, length_penalty), float("-inf"))
            finished_score, pick = torch.cat([finished_score, score], 1).topk(k, dim=1)
            candidates = torch.cat([finished, F.pad(seqs, (0, n - t), value=PAD)], 1)
            finished = candidates.gather(1, pick[..., None].expand(-1, -1, n))

            alive_lp, pick = total.masked_fill(eos | at_limit, float("-inf")).topk(k, dim=1)
            alive = seqs.gather(1, pick[..., None].expand(-1, -1, t))
            model.reorder(cache, (torch.arange(b, device=device)[:, None] * k + parent.gather(1, pick)).flatten())
            last = alive[:, :, -1].flatten()

            best_alive = alive_lp[:, 0] / lp(limit, length_penalty)
            if ((finished_score[:, 0] >= best_alive) | (t >= limit)).all():
                break
    return _trim(finished[:, 0])


def sequence_score(model, src: torch.Tensor, tokens: torch.Tensor, length_penalty: float = 0.6,
                   temperature: float = 1.0) -> torch.Tensor:
    """``log p(Y|X) / lp(Y)`` of given hypotheses (B, T) (PAD after the end), by teacher forcing:
    the score beam search maximises."""
    with evaluating(model):
        inputs = torch.cat([torch.full_like(tokens[:, :1], BOS), tokens[:, :-1]], 1)
        logp = next_log_probs(model.head(model.decode(inputs, *model.encode(src))), temperature)
        keep = tokens != PAD
        total = logp.gather(-1, tokens[..., None]).squeeze(-1).masked_fill(~keep, 0.0).sum(1)
    return total / lp(keep.sum(1).float(), length_penalty)


def strip(ids) -> list:
    """The ids of one hypothesis up to (not including) its first EOS, without BOS and PAD."""
    out = []
    for i in ids:
        if i == EOS:
            break
        if i not in (PAD, BOS):
            out.append(i)
    return out


def translate(model, split, tokenizer, beam: int = 4, length_penalty: float = 0.6, temperature: float = 1.0,
              max_len: int = 200, extra: int = 50, batch_size: int = 64) -> list[str]:
    """Beam-search translations of a split's sources (``split.x[:, 0]``), detokenised by ``tokenizer.decode``.

    Sentences are decoded in batches of similar source length (less padding); each
    sentence's hypothesis does not depend on the batch it falls in.
    """
    device = next(model.parameters()).device
    src = split.x[:, 0]
    lengths = (src != PAD).sum(1)
    hypotheses = [None] * len(src)
    for rows in lengths.argsort(descending=True).split(batch_size):
        batch = src[rows, :int(lengths[rows].max())].to(device)
        tokens = beam_search(model, batch, beam, max_len, length_penalty, temperature, extra)
        for i, ids in zip(rows.tolist(), tokens.tolist()):
            hypotheses[i] = tokenizer.decode(strip(ids))
    return hypotheses


def bleu(hypotheses: list[str], references: list[str]) -> float:
    """sacrebleu's corpus BLEU (default 13a tokenisation, one reference) of detokenised text."""
    return BLEU().corpus_score(list(hypotheses), [list(references)]).score


def bleu_bootstrap(hypotheses: list[str], references: list[str], n: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of corpus BLEU over ``n`` resamples of the
    sentences with replacement (Koehn 2004), drawn by ``numpy.random.default_rng(seed)``: the
    spread of the test-set BLEU that comes from the choice of sentences.

    Each sentence's sufficient statistics (n-gram matches and counts, hypothesis and reference
    lengths: the public fields of sacrebleu's ``BLEUScore`` of a one-sentence corpus) are taken
    once and summed per resample, and ``BLEU.compute_bleu`` scores the sums with :func:`bleu`'s
    smoothing, as sacrebleu's own bootstrap does. (``BLEU.corpus_score(n_bootstrap=...)`` would
    give a different statistic, half the width of the 95% percentile interval, seeded only
    through the ``SACREBLEU_SEED`` environment variable.)
    """
    metric = BLEU()
    scores = [metric.corpus_score([h], [[r]]) for h, r in zip(hypotheses, references, strict=True)]
    stats = np.array([[s.sys_len, s.ref_len, *s.counts, *s.totals] for s in scores], dtype=np.int64)
    k, rng = metric.max_ngram_order, np.random.default_rng(seed)

    def score(s: list) -> float:  # corpus BLEU of summed statistics, with the metric's settings
        return BLEU.compute_bleu(s[2:2 + k], s[2 + k:], s[0], s[1], metric.smooth_method, metric.smooth_value,
                                 metric.effective_order, k).score

    bleus = [score(stats[rng.integers(0, len(stats), len(stats))].sum(0).tolist()) for _ in range(n)]
    return float(np.mean(bleus)), float(np.std(bleus, ddof=1))

"""Chapter 3b (the paper's sec. 3, Figures 3 and 4): its parameters cell and its measurements of trained
translation models.

:func:`translation_setup` checks the chapter's parameters and builds its configs. Beam-search
translations kept in each run's folder (:func:`run_translations`), next-token calibration against
the temperature T (:func:`token_calibration`, Figure 3) and beam-search BLEU against T
(:func:`bleu_rows`, Figure 4); :mod:`lsnb.chapters.translation_summary` reads the paper's claims off
them. Decoding and BLEU themselves are :mod:`lsnb.models.decode`.
"""
from __future__ import annotations

import torch

from ..methods import metrics
from ..engine import runs
from ..engine.recipes import transformer_config
from ..data import text
from ..models.decode import bleu, bleu_bootstrap, translate
from ..methods.metrics import mean_and_spread
from ..engine.runs import token_logits
from ..methods.calibration import fit_temperature, nll_at
from .common import ChapterSetup, check_n_bins, setup


def references(config, split: str) -> list[str]:
    """The German reference sentences of a translation config's ``"val"`` or ``"test"`` rows, in row order."""
    pairs = text.corpus(config.dataset)["valid" if split == "val" else "test"]
    n = config.n_val if split == "val" else config.n_test
    return [de for _, de in (pairs[:n] if n else pairs)]


def run_translations(run, split: str = "test", *, temperature: float = 1.0, beam: int = 4,
                     length_penalty: float = 0.6) -> list[str]:
    """Beam-search translations of a finished run's ``"val"`` or ``"test"`` sources, kept in its run folder.

    Decoding is the slow part of the translation chapter; like the logits of the image
    chapters, each (split, T, beam, length penalty) is decoded once per trained model.
    """
    data = runs.load_data(run.config)
    trained_on = run.metrics.get("data_digest")
    if trained_on is not None and data.digest is not None and trained_on != data.digest:
        raise ValueError(f"run {run.path.name} was trained on a {run.config.dataset} corpus with digest {trained_on}, "
                         f"but the corpus here has digest {data.digest} (other gettext catalogs installed?): "
                         f"delete {run.path} to retrain it on this corpus")
    rows = {"val": data.val, "test": data.test}[split]
    if rows is None:
        raise ValueError(f"run {run.path.name} has no validation split (n_val=0)")
    return runs.derived(run, "translations", f"{split}_T{temperature:.4g}_beam{beam}_lp{length_penalty:g}",
                        lambda: translate(run.model, rows, text.tokenizer(run.config.dataset), beam=beam,
                                          length_penalty=length_penalty, temperature=temperature))


def training_label(alpha: float) -> str:
    """How the chapter names a model: by its training targets."""
    return "hard targets" if alpha == 0 else f"LS {alpha:g}"


# The method of token_calibration's rows: a new version is computed afresh (lsnb.engine.runs.derived).
TOKENS_VERSION = 3

# Figure 4's ECE and NLL need no decoding, so they are measured on a grid fine enough to locate their
# minima (step 0.05 from 0.5 to 2); BLEU needs a beam search per T and keeps the chapter's coarser grid.
FINE_GRID = tuple(round(0.5 + 0.05 * i, 2) for i in range(31))


def token_calibration(trained: dict, grid, seed: int, n_bins: int = 15) -> tuple[list, dict]:
    """Next-token calibration on the test sentences given the correct prefix (sec. 3, Figure 3).

    ``trained``: ``{alpha: runs}``. Each run's temperature is fitted on the validation
    sentences by NLL (as for the images); the rows hold, for every T of ``grid``, of
    :data:`FINE_GRID` and the fitted one, next-token accuracy (%), ECE (``n_bins``) and NLL
    (nats per token). The
    second result is Figure 3's reliability data of the ``seed`` runs: the hard-target
    model, the same at its fitted T, and the label-smoothed one. Each run's numbers are
    kept in its folder (:func:`lsnb.engine.runs.derived`): the logits over a vocabulary are the
    slow part of a warm rebuild.
    """
    rows, reliability = [], {}
    for a, rs in trained.items():
        for r in rs:
            mine = _run_calibration(r, grid, n_bins)
            rows += mine["rows"]
            if r.config.seed == seed:
                for label, bins in mine["reliability"].items():
                    reliability[label] = {k: torch.tensor(v, dtype=torch.float64) for k, v in bins.items()}
    return rows, reliability


def _run_calibration(r, grid, n_bins: int) -> dict:
    """One run's rows of :func:`token_calibration` and its reliability data (as lists), computed once."""
    def compute():
        data = runs.load_data(r.config)
        val_logits, val_y = token_logits(r.model, data.val)
        t_fit = fit_temperature(val_logits, val_y)
        del val_logits
        logits, y = token_logits(r.model, data.test)
        a = r.config.alpha
        rows = [{"alpha": a, "seed": r.config.seed, "T": t, "fitted": t == t_fit,
                 "accuracy": 100 * metrics.accuracy(logits, y),
                 "ece": metrics.ece(logits, y, n_bins, t), "nll": nll_at(logits, y, t)}
                for t in sorted(set(grid) | set(FINE_GRID) | {t_fit})]
        bins = {"hard targets" if a == 0 else f"LS, alpha = {a:g}": metrics.reliability(logits, y, n_bins)}
        if a == 0:
            bins[f"hard, T = {t_fit:.2f}"] = metrics.reliability(logits, y, n_bins, t_fit)
        return {"rows": rows, "reliability": {label: {k: v.tolist() for k, v in b.items()}
                                              for label, b in bins.items()}}
    name = f"tokens_T{'-'.join(f'{t:g}' for t in sorted(grid))}_fine_bins{n_bins}"
    return runs.derived(r, "calibration", name, compute, version=TOKENS_VERSION)


def token_table(rows: list) -> list:
    """:func:`token_calibration`'s rows at T = 1 as a table: per training, next-token accuracy (%), ECE and
    NLL (nats per token), mean ± sd over seeds, headers in words."""
    out = []
    for a in sorted({r["alpha"] for r in rows}):
        mine = [r for r in rows if r["alpha"] == a and r["T"] == 1.0 and not r["fitted"]]
        row = {"training": training_label(a), "seeds": len(mine)}
        for key, name, digits in (("accuracy", "next-token accuracy (%)", 1), ("ece", "ECE", 3),
                                  ("nll", "NLL (nats/token)", 3)):
            mean, sd = mean_and_spread([r[key] for r in mine])
            row[name] = f"{mean:.{digits}f} ± {sd:.{digits}f}"
        out.append(row)
    return out


def bleu_rows(trained: dict, grid, seed: int, *, beam: int = 4, length_penalty: float = 0.6,
              n_bootstrap: int = 200) -> list:
    """Beam-search BLEU on the test sentences (Figure 4): every hard-target run (alpha 0) and the ``seed``
    run of every other alpha (``trained``: ``{alpha: runs}``) at every T of ``grid``, the other seeds at
    T = 1, each with the bootstrap spread over sentences (:func:`bleu_bootstrap`). Every seed of the
    hard-target model gets the whole grid because "temperature scaling does not recover label
    smoothing's BLEU" compares its best T, per seed, with label smoothing at T = 1."""
    rows = []
    for a, rs in trained.items():
        for r in rs:
            refs = references(r.config, "test")
            for t in (grid if r.config.seed == seed or a == 0 else [1.0]):
                hyps = run_translations(r, "test", temperature=t, beam=beam, length_penalty=length_penalty)
                _, sd = bleu_bootstrap(hyps, refs, n=n_bootstrap)
                rows.append({"alpha": a, "seed": r.config.seed, "T": t, "bleu": bleu(hyps, refs),
                             "bleu_bootstrap_sd": sd})
    return rows


def example_translations(trained: dict, n: int = 6, *, beam: int = 4, length_penalty: float = 0.6) -> dict:
    """The first ``n`` test sentences: source, reference and the first seed's translation at T = 1 for
    every alpha (``trained``: ``{alpha: runs}``), as columns."""
    config = next(iter(trained.values()))[0].config
    columns = {"English": [en for en, _ in text.corpus(config.dataset)["test"][:n]],
               "reference": references(config, "test")[:n]}
    for a, rs in trained.items():
        columns[training_label(a)] = [_clip(h) for h in run_translations(rs[0], "test", beam=beam,
                                                                  length_penalty=length_penalty)[:n]]
    return columns


def _clip(sentence: str, words: int = 12) -> str:
    """At most ``words`` words: a model that repeats itself fills a table with one sentence otherwise."""
    parts = sentence.split()
    return sentence if len(parts) <= words else " ".join(parts[:words]) + " …"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # not NaN


def check_temperatures(temperatures) -> list | None:
    """Figure 4's temperature grid: None (the profile's), or a list of positive numbers that includes 1.0."""
    if temperatures is None:
        return None
    if (not isinstance(temperatures, (list, tuple)) or not temperatures
            or not all(_is_number(t) and t > 0 for t in temperatures) or 1.0 not in temperatures):
        raise ValueError(f"temperatures={temperatures!r} is not allowed: use None (the profile's grid) or a list of "
                         "positive numbers that includes 1.0, e.g. [0.8, 1.0, 1.2]")
    return [float(t) for t in temperatures]


def check_beam(beam, length_penalty) -> tuple[int, float]:
    """Beam search's width (a whole number >= 1) and length penalty (a number >= 0; Vaswani et al. use 0.6)."""
    if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
        raise ValueError(f"beam={beam!r} is not allowed: use a whole number >= 1 (1 is greedy search; the paper's "
                         "Transformer uses 4)")
    if not _is_number(length_penalty) or length_penalty < 0:
        raise ValueError(f"length_penalty={length_penalty!r} is not allowed: use a number >= 0 (0: none; "
                         "Wu et al. and Vaswani et al. use 0.6)")
    return beam, float(length_penalty)


def translation_setup(profile="cpu", *, dataset=None, alpha=0.1, seed=0, n_seeds=None, epochs=None, runs_dir=None,
                      results_dir=None, temperatures=None, n_bins=15, beam=4,
                      length_penalty=0.6) -> tuple[ChapterSetup, list, dict]:
    """Chapter 3b's parameters cell: ``(setup, grid, configs)``, every parameter checked before any work.

    The common parameters as :func:`setup` checks them (``dataset`` None: the profile's
    translation corpus); ``grid``: Figure 4's temperatures (:func:`check_temperatures`);
    ``n_bins`` as :func:`check_n_bins`; ``beam`` and ``length_penalty`` as :func:`check_beam`;
    ``configs``: ``{alpha: [one Transformer config per seed]}`` for hard targets (0) and ``alpha``.
    """
    base = transformer_config(profile, dataset=dataset)
    s = setup(profile, dataset=base.dataset, alpha=alpha, seed=seed, n_seeds=n_seeds, epochs=epochs,
              runs_dir=runs_dir, results_dir=results_dir, task="translation")
    grid = check_temperatures(temperatures) or list(s.profile.translation.temperatures)
    check_n_bins(n_bins)
    check_beam(beam, length_penalty)
    by_alpha = {a: [transformer_config(profile, dataset=dataset, alpha=a, seed=i, epochs=s.epochs) for i in s.seeds]
                for a in (0.0, s.alpha)}
    return s, grid, by_alpha

"""Chapter 3b's measurements of trained translation models (the paper's sec. 3, Figures 3 and 4).

Beam-search translations kept in each run's folder (:func:`run_translations`), next-token
calibration against the temperature T (:func:`token_calibration`, Figure 3), beam-search
BLEU against T (:func:`bleu_rows`, Figure 4), and the differences the paper's claims are
about (:func:`translation_summary`). Decoding and BLEU themselves are :mod:`lsnb.decode`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import metrics, runs, text
from .decode import bleu, bleu_bootstrap, translate
from .metrics import mean_and_spread
from .runs import token_logits
from .stats import Comparison, compare
from .temperature import fit_temperature, nll_at


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


def _label(alpha: float) -> str:
    """How the chapter names a model: by its training targets."""
    return "hard targets" if alpha == 0 else f"LS {alpha:g}"


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
    kept in its folder (:func:`lsnb.runs.derived`): the logits over a vocabulary are the
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
    name = f"tokens_T{'-'.join(f'{t:g}' for t in sorted(grid))}_fine_bins{n_bins}_v3"
    return runs.derived(r, "calibration", name, compute)


def token_table(rows: list) -> list:
    """:func:`token_calibration`'s rows at T = 1 as a table: per training, next-token accuracy (%), ECE and
    NLL (nats per token), mean ± sd over seeds, headers in words."""
    out = []
    for a in sorted({r["alpha"] for r in rows}):
        mine = [r for r in rows if r["alpha"] == a and r["T"] == 1.0 and not r["fitted"]]
        row = {"training": _label(a), "seeds": len(mine)}
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
        columns[_label(a)] = [_clip(h) for h in run_translations(rs[0], "test", beam=beam,
                                                                  length_penalty=length_penalty)[:n]]
    return columns


def _clip(sentence: str, words: int = 12) -> str:
    """At most ``words`` words: a model that repeats itself fills a table with one sentence otherwise."""
    parts = sentence.split()
    return sentence if len(parts) <= words else " ".join(parts[:words]) + " …"


def figure4_table(tokens, bleu_table, seed: int):
    """Figure 4's data: the ``seed`` rows of :func:`token_calibration` (a DataFrame) at every temperature
    but the fitted ones, with their BLEU (:func:`bleu_rows`, a DataFrame; empty where no beam search was
    run at that T), labelled by training."""
    first = tokens[(tokens.seed == seed) & ~tokens.fitted]
    table = first.merge(bleu_table[bleu_table.seed == seed], on=["alpha", "seed", "T"], how="left")
    table["training"] = table.alpha.map(_label)
    return table


def grid_locates(grid, best: float, max_step: float) -> bool:
    """Whether a temperature ``grid`` locates the optimum found at ``best``: not at either edge, and
    the grid's steps on both sides of it at most ``max_step``."""
    grid = sorted(set(float(t) for t in grid))
    if best not in grid:
        return False
    i, slack = grid.index(best), 1e-9  # grids are written in decimals: 0.8 - 0.6 is 0.2 plus rounding
    return (0 < i < len(grid) - 1 and grid[i] - grid[i - 1] <= max_step + slack
            and grid[i + 1] - grid[i] <= max_step + slack)


@dataclass(frozen=True)
class TranslationSummary:
    """The numbers behind the translation claims of sec. 3, one value per seed: at T = 1, BLEU, next-token
    ECE and NLL without (``*_hard``) and with label smoothing (``*_ls``); the hard-target model's fitted
    T (validation NLL) and its test ECE there (``ece_ts``); for every hard-target seed, its best BLEU
    over the temperature grid and the temperatures of that best BLEU (on ``bleu_grid``) and of the
    lowest ECE and NLL (on ``token_grid``). Each claim is a :class:`lsnb.stats.Comparison` over seeds,
    signed so that > 0 is the paper's finding; ``boot_sd`` (the bootstrap spread of BLEU over test
    sentences) is reported beside them."""

    bleu_hard: list
    bleu_ls: list
    boot_sd: float
    ece_hard: list
    ece_ls: list
    nll_hard: list
    nll_ls: list
    best_hard_bleu: list
    t_best_bleu: list
    t_min_ece: list
    t_min_nll: list
    best_bleu: float
    accuracy: float          # mean next-token accuracy (%) of the hard-target model at T = 1
    train_accuracy: list | None = None  # its last-epoch training next-token accuracy (%) per seed, where the
                                        # profile trains it to memorise its pairs (None elsewhere)
    t_fit: list = ()
    ece_ts: list = ()
    bleu_grid: tuple = ()
    token_grid: tuple = ()

    @property
    def bleu_gain(self) -> Comparison:
        return compare(self.bleu_ls, self.bleu_hard)

    @property
    def ece_gain(self) -> Comparison:
        return compare(self.ece_hard, self.ece_ls)

    @property
    def nll_loss(self) -> Comparison:
        return compare(self.nll_ls, self.nll_hard)

    @property
    def ts_gain(self) -> Comparison:
        """Temperature scaling's lower next-token ECE than the hard-target model's (Table 3)."""
        return compare(self.ece_hard, self.ece_ts)

    @property
    def ls_vs_ts(self) -> Comparison:
        """Label smoothing's ECE minus temperature scaling's (Table 3: "about as well" within a margin)."""
        return compare(self.ece_ls, self.ece_ts)

    @property
    def ts_gap(self) -> Comparison:
        """The label-smoothed model's BLEU at T = 1 over the hard-target model's best BLEU over T (Figure 4)."""
        return compare(self.bleu_ls, self.best_hard_bleu)

    @property
    def ece_closer(self) -> Comparison:
        """How much closer (in T) the ECE minimum lies to the best-BLEU temperature than the NLL minimum."""
        return compare([abs(n - b) for n, b in zip(self.t_min_nll, self.t_best_bleu)],
                       [abs(e - b) for e, b in zip(self.t_min_ece, self.t_best_bleu)])

    def grids_locate(self, max_step: float) -> tuple[bool, str]:
        """Whether the grids locate every seed's optima (:func:`grid_locates`): the best-BLEU T on the
        BLEU grid, the ECE and NLL minima on the token grid; and the grids in words."""
        ok = (all(grid_locates(self.bleu_grid, t, max_step) for t in self.t_best_bleu)
              and all(grid_locates(self.token_grid, t, max_step) for t in self.t_min_ece + self.t_min_nll))
        bleu = ", ".join(f"{t:g}" for t in self.bleu_grid)
        token = f"{min(self.token_grid):g}-{max(self.token_grid):g}" if self.token_grid else "none"
        return ok, f"BLEU at T = {bleu}; best-BLEU T {', '.join(f'{t:g}' for t in self.t_best_bleu)}; ECE/NLL on {token}"


def regime_accuracy(trained: dict, memorise: bool) -> list | None:
    """The hard-target models' last-epoch training next-token accuracy (%), one per seed, where the
    profile trains them to memorise their pairs (:attr:`lsnb.profiles.TranslationProfile.memorise`)."""
    return [100 * r.history[-1]["train_accuracy"] for r in trained[0.0]] if memorise else None


def translation_summary(tokens, bleu_table, alpha: float, train_accuracy: list | None = None) -> TranslationSummary:
    """:class:`TranslationSummary` of :func:`token_calibration`'s and :func:`bleu_rows`' rows (DataFrames),
    for hard targets and label smoothing ``alpha`` (``train_accuracy``: :func:`regime_accuracy`). The ECE and NLL minima are looked for on every
    temperature the token rows hold but the fitted ones (:data:`FINE_GRID` and the chapter's grid)."""
    at_1, b1 = tokens[tokens["T"] == 1.0], bleu_table[bleu_table["T"] == 1.0]
    bleu_grid = tuple(sorted(set(bleu_table["T"])))
    hard_t = tokens[(tokens.alpha == 0) & ~tokens.fitted]
    hard_b = bleu_table[bleu_table.alpha == 0]
    fitted = tokens[(tokens.alpha == 0) & tokens.fitted].sort_values("seed")
    seeds = sorted(set(hard_b.seed))

    def per_alpha(frame, column):
        return [frame[frame.alpha == a].sort_values("seed")[column].tolist() for a in (0.0, alpha)]

    def arg(frame, seed, column, pick):
        rows = frame[frame.seed == seed]
        return float(rows.loc[getattr(rows[column], pick)(), "T"])

    return TranslationSummary(
        *per_alpha(b1, "bleu"), float(b1["bleu_bootstrap_sd"].mean()), *per_alpha(at_1, "ece"),
        *per_alpha(at_1, "nll"), best_hard_bleu=[float(hard_b[hard_b.seed == s].bleu.max()) for s in seeds],
        t_best_bleu=[arg(hard_b, s, "bleu", "idxmax") for s in seeds],
        t_min_ece=[arg(hard_t, s, "ece", "idxmin") for s in seeds],
        t_min_nll=[arg(hard_t, s, "nll", "idxmin") for s in seeds],
        best_bleu=float(bleu_table["bleu"].max()),
        accuracy=mean_and_spread(at_1[at_1.alpha == 0]["accuracy"].tolist())[0], train_accuracy=train_accuracy,
        t_fit=fitted["T"].tolist(), ece_ts=fitted["ece"].tolist(), bleu_grid=bleu_grid,
        token_grid=tuple(sorted(set(hard_t["T"]))))

"""Chapter 3b's measurements of trained translation models (the paper's sec. 3, Figures 3 and 4).

Beam-search translations kept in each run's folder (:func:`run_translations`), next-token
calibration against the temperature T (:func:`token_calibration`, Figure 3), beam-search
BLEU against T (:func:`bleu_rows`, Figure 4), and the differences the paper's claims are
about (:func:`translation_summary`). Decoding and BLEU themselves are :mod:`lsnb.decode`.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import metrics, runs, text
from .decode import bleu, bleu_bootstrap, translate
from .metrics import difference_and_noise, mean_and_spread
from .runs import token_logits
from .store import atomic_write_json, read_json
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
    path = run.path / "translations" / f"{split}_T{temperature:.4g}_beam{beam}_lp{length_penalty:g}.json"
    data = runs.load_data(run.config)
    trained_on = run.metrics.get("data_digest")
    if trained_on is not None and data.digest is not None and trained_on != data.digest:
        raise ValueError(f"run {run.path.name} was trained on a {run.config.dataset} corpus with digest {trained_on}, "
                         f"but the corpus here has digest {data.digest} (other gettext catalogs installed?): "
                         f"delete {run.path} to retrain it on this corpus")
    if path.exists():
        return read_json(path)
    rows = {"val": data.val, "test": data.test}[split]
    if rows is None:
        raise ValueError(f"run {run.path.name} has no validation split (n_val=0)")
    hypotheses = translate(run.model, rows, text.tokenizer(run.config.dataset), beam=beam,
                           length_penalty=length_penalty, temperature=temperature)
    atomic_write_json(path, hypotheses)
    return hypotheses


def _label(alpha: float) -> str:
    """How the chapter names a model: by its training targets."""
    return "hard targets" if alpha == 0 else f"LS {alpha:g}"


def token_calibration(trained: dict, grid, seed: int, n_bins: int = 15) -> tuple[list, dict]:
    """Next-token calibration on the test sentences given the correct prefix (sec. 3, Figure 3).

    ``trained``: ``{alpha: runs}``. Each run's temperature is fitted on the validation
    sentences by NLL (as for the images); the rows hold, for every T of ``grid`` and the
    fitted one, next-token accuracy (%), ECE (``n_bins``) and NLL (nats per token). The
    second result is Figure 3's reliability data of the ``seed`` runs: the hard-target
    model, the same at its fitted T, and the label-smoothed one.
    """
    rows, reliability = [], {}
    for a, rs in trained.items():
        for r in rs:
            data = runs.load_data(r.config)
            val_logits, val_y = token_logits(r.model, data.val)
            t_fit = fit_temperature(val_logits, val_y)
            del val_logits
            logits, y = token_logits(r.model, data.test)
            for t in sorted(set(grid) | {t_fit}):
                rows.append({"alpha": a, "seed": r.config.seed, "T": t, "fitted": t == t_fit,
                             "accuracy": 100 * metrics.accuracy(logits, y),
                             "ece": metrics.ece(logits, y, n_bins, t), "nll": nll_at(logits, y, t)})
            if r.config.seed == seed:
                reliability["hard targets" if a == 0 else f"LS, alpha = {a:g}"] = metrics.reliability(logits, y, n_bins)
                if a == 0:
                    reliability[f"hard, T = {t_fit:.2f}"] = metrics.reliability(logits, y, n_bins, t_fit)
    return rows, reliability


def bleu_rows(trained: dict, grid, seed: int, *, beam: int = 4, length_penalty: float = 0.6,
              n_bootstrap: int = 200) -> list:
    """Beam-search BLEU on the test sentences (Figure 4): the ``seed`` run of every alpha
    (``trained``: ``{alpha: runs}``) at every T of ``grid``, the other seeds at T = 1, each
    with the bootstrap spread over sentences (:func:`bleu_bootstrap`)."""
    rows = []
    for a, rs in trained.items():
        for r in rs:
            refs = references(r.config, "test")
            for t in (grid if r.config.seed == seed else [1.0]):
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
        columns[_label(a)] = run_translations(rs[0], "test", beam=beam, length_penalty=length_penalty)[:n]
    return columns


def figure4_table(tokens, bleu_table, seed: int, grid):
    """Figure 4's data: the ``seed`` rows of :func:`token_calibration` (a DataFrame) at the temperatures of
    ``grid``, joined with their BLEU (:func:`bleu_rows`, a DataFrame) and labelled by training."""
    first = tokens[(tokens.seed == seed) & tokens["T"].isin(grid)]
    table = first.merge(bleu_table[bleu_table.seed == seed], on=["alpha", "seed", "T"])
    table["training"] = table.alpha.map(_label)
    return table


@dataclass(frozen=True)
class TranslationSummary:
    """The numbers behind the translation claims of sec. 3: at T = 1, per seed, BLEU, next-token ECE and
    NLL without (``*_hard``) and with label smoothing (``*_ls``); the bootstrap spread of BLEU; on the
    hard-target model's Figure 4 curves, the T of the best BLEU and of the lowest ECE and NLL; and the
    differences each claim is about, signed so that > 0 is what the paper found, with their margins."""

    bleu_hard: list
    bleu_ls: list
    boot_sd: float
    ece_hard: list
    ece_ls: list
    nll_hard: list
    nll_ls: list
    t_best_bleu: float
    t_min_ece: float
    t_min_nll: float
    best_hard_bleu: float
    ls_first_bleu: float
    best_bleu: float
    accuracy: float          # mean next-token accuracy (%) at T = 1

    @property
    def bleu_gain(self) -> tuple[float, float]:
        """Label smoothing's BLEU gain, ± two standard errors over seeds or the bootstrap spread, the larger."""
        gain, noise = difference_and_noise(self.bleu_ls, self.bleu_hard)
        return gain, max(noise, self.boot_sd)

    @property
    def ece_gain(self) -> tuple[float, float]:
        return difference_and_noise(self.ece_hard, self.ece_ls)

    @property
    def nll_loss(self) -> tuple[float, float]:
        return difference_and_noise(self.nll_ls, self.nll_hard)

    @property
    def ts_gap(self) -> tuple[float, float]:
        """The label-smoothed model's BLEU at T = 1 over the hard-target model's best over T (Figure 4).
        One seed per curve: the pooled seed spread of BLEU at T = 1 stands in for its noise (or the
        bootstrap spread, the larger)."""
        seed_sd = ((mean_and_spread(self.bleu_hard)[1] ** 2 + mean_and_spread(self.bleu_ls)[1] ** 2) / 2) ** 0.5
        gap, noise = difference_and_noise([self.ls_first_bleu], [self.best_hard_bleu], spread=seed_sd)
        return gap, max(noise, self.boot_sd)

    @property
    def ece_verdict(self) -> str:
        """Whether the ECE minimum is closer to the best-BLEU temperature than the NLL minimum is."""
        d_ece, d_nll = abs(self.t_min_ece - self.t_best_bleu), abs(self.t_min_nll - self.t_best_bleu)
        return "agrees" if d_ece < d_nll else "differs" if d_ece > d_nll else "within noise"


def translation_summary(tokens, bleu_table, figure4, alpha: float) -> TranslationSummary:
    """:class:`TranslationSummary` of :func:`token_calibration`'s rows, :func:`bleu_rows`' and
    :func:`figure4_table` (DataFrames), for hard targets and label smoothing ``alpha``."""
    at_1, b1 = tokens[tokens["T"] == 1.0], bleu_table[bleu_table["T"] == 1.0]
    hard4 = figure4[figure4.alpha == 0]

    def per_alpha(frame, column):
        return [frame[frame.alpha == a][column].tolist() for a in (0.0, alpha)]

    return TranslationSummary(
        *per_alpha(b1, "bleu"), float(b1["bleu_bootstrap_sd"].mean()), *per_alpha(at_1, "ece"),
        *per_alpha(at_1, "nll"), t_best_bleu=float(hard4.loc[hard4.bleu.idxmax(), "T"]),
        t_min_ece=float(hard4.loc[hard4.ece.idxmin(), "T"]), t_min_nll=float(hard4.loc[hard4.nll.idxmin(), "T"]),
        best_hard_bleu=float(hard4.bleu.max()),
        ls_first_bleu=float(figure4[(figure4.alpha == alpha) & (figure4["T"] == 1.0)]["bleu"].iloc[0]),
        best_bleu=float(bleu_table["bleu"].max()), accuracy=mean_and_spread(at_1["accuracy"].tolist())[0])

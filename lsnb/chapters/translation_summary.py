"""Chapter 3b's verdicts: the differences the paper's claims about translation are about
(:func:`translation_summary`, from :mod:`lsnb.chapters.translation`'s rows), Figure 4's table, the
premises under which the claims can be tested and the chapter's rows of the scorecard."""
from __future__ import annotations

from dataclasses import dataclass

from ..book.glue import pm
from ..engine.runs import last_epoch_accuracy
from ..methods.metrics import mean_and_spread
from ..methods.stats import Comparison, Premise, compare, from_verdict
from .translation import training_label
from .paper import BLEU_FLOOR, LS_TS_MARGIN, T_STEP, TOKEN_ACCURACY_FLOOR, claim_row, memorised


def figure4_table(tokens, bleu_table, seed: int):
    """Figure 4's data: the ``seed`` rows of :func:`token_calibration` (a DataFrame) at every temperature
    but the fitted ones, with their BLEU (:func:`bleu_rows`, a DataFrame; empty where no beam search was
    run at that T), labelled by training."""
    first = tokens[(tokens.seed == seed) & ~tokens.fitted]
    table = first.merge(bleu_table[bleu_table.seed == seed], on=["alpha", "seed", "T"], how="left")
    table["training"] = table.alpha.map(training_label)
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
    lowest ECE and NLL (on ``token_grid``). Each claim is a :class:`lsnb.methods.stats.Comparison` over seeds,
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
    profile trains them to memorise their pairs (:attr:`lsnb.engine.profiles.TranslationProfile.memorise`)."""
    return last_epoch_accuracy(trained[0.0]) if memorise else None


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


def translation_premises(summary) -> dict:
    """Chapter 3b's premises, by name: ``"bleu"`` (both models translate: BLEU at least
    :data:`BLEU_FLOOR`), ``"tokens"`` (the hard-target model is in a regime of the next-token claims:
    where the profile trains it to memorise its pairs, it did -- last-epoch training accuracy at least
    :data:`lsnb.chapters.paper.MEMORISED` %, the over-fitted regime of chapter 3 -- elsewhere it predicts most test tokens,
    accuracy at least :data:`TOKEN_ACCURACY_FLOOR` %), ``"over"`` (it is over-confident: fitted T - 1 > 0
    by the rule), ``"t_grid"`` (Figure 4's temperature grids locate the optima: :func:`grid_locates`)."""
    s = summary
    located, grids = s.grids_locate(T_STEP)
    low_bleu = min(sum(s.bleu_hard) / len(s.bleu_hard), sum(s.bleu_ls) / len(s.bleu_ls))
    test = f"test accuracy {s.accuracy:.0f} %, NLL {sum(s.nll_hard) / len(s.nll_hard):.2f} nats/token"
    if s.train_accuracy is not None:
        tokens = memorised(s.train_accuracy, "the hard-target model memorised its training pairs",
                           "training next-token accuracy", test)
    else:
        tokens = Premise(f"the hard-target model predicts most next tokens (test accuracy >= "
                         f"{TOKEN_ACCURACY_FLOOR:g} %)", s.accuracy >= TOKEN_ACCURACY_FLOOR, test)
    return {"bleu": Premise(f"both models translate (BLEU >= {BLEU_FLOOR:g})", low_bleu >= BLEU_FLOOR,
                            f"BLEU {low_bleu:.1f}"),
            "tokens": tokens,
            "over": from_verdict("the hard-target model is over-confident (fitted T - 1 > 0)",
                                 compare(s.t_fit, [1.0] * len(s.t_fit))),
            "t_grid": Premise(f"the temperature grids locate each optimum (not at an edge, step <= {T_STEP:g} "
                              "around it)", located, grids)}


def translation_claims(setup, summary, dataset: str, n_train: int) -> list:
    """Chapter 3b (sec. 3, Figures 3 and 4, Table 3's EN-DE row): ``summary`` is
    :class:`lsnb.chapters.translation_summary.TranslationSummary`, of models trained on ``n_train`` pairs of ``dataset``."""
    s = summary
    p = translation_premises(s)
    note = f"{setup.profile.name} profile: {dataset}, {n_train:,} training pairs, small Transformer"
    return [
        claim_row("Translation: LS gives better BLEU (LS - hard)", "WMT14 EN-DE: 25.3 -> 25.8",
               f"{pm(s.bleu_hard, digits=2)} -> {pm(s.bleu_ls, digits=2)}; {s.bleu_gain.text(2)} "
               f"(bootstrap sd over sentences {s.boot_sd:.2f})", s.bleu_gain.verdict(), note, [p["bleu"]]),
        claim_row("Translation: LS gives better next-token calibration (ECE, hard - LS)", "0.056 -> 0.019",
               f"{pm(s.ece_hard, digits=3)} -> {pm(s.ece_ls, digits=3)}; {s.ece_gain.text(3)}",
               s.ece_gain.verdict(), note, [p["tokens"], p["over"]]),
        claim_row("Translation: LS gives worse NLL (LS - hard)", "perplexity 4.67 -> 4.92 (NLL 1.54 -> 1.59 nats)",
               f"{pm(s.nll_hard, digits=3)} -> {pm(s.nll_ls, digits=3)} nats/token; {s.nll_loss.text(3)}",
               s.nll_loss.verdict(), note, [p["tokens"]]),
        claim_row("Table 3 EN-DE: temperature scaling lowers the next-token ECE (baseline - TS)",
               "0.056 -> 0.018 (T = 1.13)",
               f"{pm(s.ece_hard, digits=3)} -> {pm(s.ece_ts, digits=3)} (T = {pm(s.t_fit, digits=2)}); "
               f"{s.ts_gain.text(3)}", s.ts_gain.verdict(), note, [p["tokens"], p["over"]]),
        claim_row(f"Table 3 EN-DE: label smoothing (alpha {setup.alpha:g}, as the paper's row) calibrates about as "
               f"well as temperature scaling (LS - TS ECE within ±{LS_TS_MARGIN:g})", "0.019 (alpha 0.1) vs 0.018",
               f"{pm(s.ece_ls, digits=3)} vs {pm(s.ece_ts, digits=3)}; {s.ls_vs_ts.text(3)}",
               s.ls_vs_ts.verdict(LS_TS_MARGIN), note, [p["tokens"], p["over"]]),
        claim_row("Temperature scaling the hard-target model does not recover the LS BLEU (Figure 4; "
               "LS at T = 1 - hard at its best T)", "best hard-target BLEU over T stays below LS",
               f"best hard {pm(s.best_hard_bleu, digits=2)} vs LS {pm(s.bleu_ls, digits=2)}; {s.ts_gap.text(2)}",
               s.ts_gap.verdict(), note, [p["bleu"], p["t_grid"]]),
        claim_row("The ECE minimum predicts the best-BLEU temperature better than the NLL minimum "
               "(Figure 4; |T_NLL - T_BLEU| - |T_ECE - T_BLEU|)", "slightly better",
               f"best-BLEU T {pm(s.t_best_bleu, digits=2)}; min-ECE T {pm(s.t_min_ece, digits=2)}; "
               f"min-NLL T {pm(s.t_min_nll, digits=2)}; {s.ece_closer.text(2)}", s.ece_closer.verdict(), note,
               [p["bleu"], p["t_grid"]]),
    ]

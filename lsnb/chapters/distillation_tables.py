"""Chapter 4's experiments summarised: the Hinton et al. errors (:func:`hinton_summary`), Figure 5's
points on the gamma axis (:func:`figure5_rows`, :func:`figure5_summary`) and the follow-up of
Chandrasegaran et al. (:func:`followup_summary`), each difference signed so that > 0 is what the paper
(or the follow-up) found, with its Welch t-interval over seeds (:mod:`lsnb.methods.stats`, the book's
one verdict rule). The runs are :mod:`lsnb.chapters.distillation`'s.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..book.glue import pm
from ..engine.runs import split_logits
from ..methods.distillation import smoothness_index
from ..methods.metrics import mean_and_spread
from ..methods.stats import Comparison, compare


@dataclass(frozen=True)
class HintonSummary:
    """The Hinton et al. experiment (sec. 4): test errors (%) per seed of its five networks, keyed by
    the names of :func:`lsnb.chapters.distillation.hinton_runs`, and the differences the paper's claims are about
    (:func:`lsnb.methods.stats.compare`, signed so that > 0 is what the paper found)."""

    errors: dict

    @property
    def named(self) -> dict:
        """The errors by role: ``teacher`` (dropout), ``ls_teacher``, ``student`` (of the dropout teacher),
        ``ls_student`` and ``alone`` (the student trained on the labels)."""
        roles = {}
        for name, errors in self.errors.items():
            role = ("alone" if name.startswith("student alone") else
                    ("ls_student" if "LS" in name else "student") if name.startswith("student of") else
                    "ls_teacher" if "LS" in name else "teacher")
            if role in roles:
                raise ValueError(f"two Hinton networks play the role {role!r}: {list(self.errors)}")
            roles[role] = errors
        missing = {"teacher", "ls_teacher", "student", "ls_student", "alone"} - set(roles)
        if missing:
            raise ValueError(f"the Hinton networks {list(self.errors)} lack {', '.join(sorted(missing))}")
        return roles

    @property
    def teacher_gain(self) -> Comparison:
        """The label-smoothed teacher's lower error (> 0: it is the better teacher)."""
        e = self.named
        return compare(e["teacher"], e["ls_teacher"])

    @property
    def student_loss(self) -> Comparison:
        """Its student's higher error (> 0: the paper's finding)."""
        e = self.named
        return compare(e["ls_student"], e["student"])

    @property
    def teacher_lead(self) -> Comparison:
        """The dropout teacher's lower error than the student trained alone (> 0: it knows more)."""
        e = self.named
        return compare(e["alone"], e["teacher"])

    @property
    def distillation_gain(self) -> Comparison:
        """The dropout teacher's student's lower error than the student trained alone (> 0: distillation
        passes something on, Hinton et al.'s finding and the premise of the paper's)."""
        e = self.named
        return compare(e["alone"], e["student"])


def hinton_rows(runs: dict) -> list:
    """The Hinton et al. table: per network its training (images, epochs, regularisation -- dropout, label
    smoothing, shifts --, teacher temperature) and test error (%) as mean ± sd over seeds."""
    rows = []
    for name, rs in runs.items():
        c = rs[0].config
        errors = [100 * (1 - r.metrics["test_accuracy"]) for r in rs]
        dropout, regularisation = c.model_kwargs.get("dropout", 0.0), []
        if dropout:
            regularisation.append(f"dropout {dropout:g}")
        if c.alpha:
            regularisation.append(f"LS {c.alpha:g}")
        if c.augment != "none":
            regularisation.append({"shift2": "±2 px shifts"}.get(c.augment, c.augment))
        rows.append({"network": name, "hidden": "-".join(map(str, c.model_kwargs["hidden"])),
                     "images": c.n_train or "all", "epochs": c.epochs,
                     "regularisation": ", ".join(regularisation) or "none",
                     "distilled at T": f"{c.distill_temperature:g}" if c.teacher else "-",
                     "test error (%)": pm(errors, digits=2), "seeds": len(errors)})
    return rows


def hinton_summary(runs: dict) -> HintonSummary:
    """:class:`HintonSummary` of :func:`lsnb.chapters.distillation.hinton_runs`' networks."""
    return HintonSummary({name: [100 * (1 - r.metrics["test_accuracy"]) for r in rs] for name, rs in runs.items()})


def teacher_gamma(teacher, temperature: float = 1.0) -> float:
    """:func:`smoothness_index` of a finished teacher's targets at ``temperature`` over its training set."""
    logits, labels = split_logits(teacher, "train")
    return smoothness_index(logits, labels, temperature)


def figure5_rows(curves: dict, teachers: dict) -> list:
    """Figure 5's points from :func:`lsnb.chapters.distillation.figure5_runs`: curve, knob (alpha or T), seed, gamma,
    test accuracy (%).

    gamma is the knob alpha where the targets are label-smoothed (curves (1) and (2)); for
    a student distilled at T it is its teacher's :func:`teacher_gamma` at T (curve (3): the
    hard-target teacher of the same seed, ``teachers[(0.0, seed)]``; curve (4): the teacher
    of that alpha, at T = 1).
    """
    rows = []
    for curve, points in curves.items():
        for knob, run in points:
            seed = run.config.seed
            if curve.startswith("(3)"):
                gamma = teacher_gamma(teachers[(0.0, seed)], knob)
            elif curve.startswith("(4)"):
                gamma = teacher_gamma(teachers[(knob, seed)], 1.0)
            else:
                gamma = knob
            rows.append({"curve": curve, "knob": knob, "seed": seed, "gamma": gamma,
                         "accuracy": 100 * run.metrics["test_accuracy"]})
    return rows


def best_point(rows: list, curve: str) -> dict | None:
    """The point of the curve whose name starts with ``curve`` with the highest accuracy averaged over
    seeds (the first one on a tie): ``{"curve", "knob", "gamma", "accuracy"}`` (means) and
    ``"accuracies"`` (one per seed); None when there is no such curve."""
    points = [r for r in rows if r["curve"].startswith(curve)]
    if not points:
        return None
    by_knob = {}
    for r in points:
        by_knob.setdefault(r["knob"], []).append(r)
    best = []
    for knob, rs in by_knob.items():
        accs = [r["accuracy"] for r in rs]
        best.append({"curve": rs[0]["curve"], "knob": knob, "gamma": mean_and_spread([r["gamma"] for r in rs])[0],
                     "accuracy": mean_and_spread(accs)[0], "accuracies": accs})
    return max(best, key=lambda r: r["accuracy"])


def figure5_table(rows: list) -> list:
    """Figure 5's points as a table: per curve and knob, gamma and test accuracy (%), mean ± sd over seeds."""
    groups = {}
    for r in rows:
        groups.setdefault((r["curve"], r["knob"]), []).append(r)
    return [{"curve": curve, "knob (alpha or T)": f"{knob:g}", "gamma": pm([r["gamma"] for r in rs], digits=3),
             "test accuracy (%)": pm([r["accuracy"] for r in rs], digits=2), "seeds": len(rs)}
            for (curve, knob), rs in groups.items()]


@dataclass(frozen=True)
class Figure5Summary:
    """The best points of Figure 5's curves (2), (3) and (4) (None: no label-smoothed teacher), each the
    knob with the best accuracy averaged over seeds, and the paper's two claims about them
    (:func:`lsnb.methods.stats.compare` on the per-seed accuracies at those knobs; choosing the best knob of
    each curve first favours neither side)."""

    best2: dict
    best3: dict
    best4: dict | None
    teacher_lead: Comparison | None = None  # the hard-target teacher over the student trained alone (> 0: ahead)
    alone: list | None = None        # the student trained on hard labels (curve (2) at alpha 0), per seed

    @property
    def distill_works(self) -> Comparison | None:
        """The best distilled student (3) over the student trained alone on hard labels (> 0: distillation
        from this teacher passes something on, the premise of the paper's Figure 5 claims)."""
        return None if not self.alone else compare(self.best3["accuracies"], self.alone)

    @property
    def distill_gain(self) -> Comparison:
        """Distillation from the hard-target teacher over training the student with label smoothing."""
        return compare(self.best3["accuracies"], self.best2["accuracies"])

    @property
    def ls_teacher_loss(self) -> Comparison | None:
        """Training the student with label smoothing over a label-smoothed teacher's student (> 0: the
        paper's "label-smoothed teachers are no better")."""
        return None if self.best4 is None else compare(self.best2["accuracies"], self.best4["accuracies"])


def figure5_summary(rows: list) -> Figure5Summary:
    """:class:`Figure5Summary` of :func:`figure5_rows`, with the hard-target teacher's lead over the
    student trained on hard labels (curve (1) against curve (2) at alpha = 0, per seed): the setting
    distillation needs."""
    def at_zero(curve):
        return [r["accuracy"] for r in sorted(rows, key=lambda r: r["seed"])
                if r["curve"].startswith(curve) and r["knob"] == 0.0]
    teachers, students = at_zero("(1)"), at_zero("(2)")
    lead = compare(teachers, students) if teachers and students else None
    return Figure5Summary(best_point(rows, "(2)"), best_point(rows, "(3)"), best_point(rows, "(4)"), lead,
                          students or None)


@dataclass(frozen=True)
class FollowupSummary:
    """Chandrasegaran et al.'s comparison per temperature: ``{T: Comparison}``, the label-smoothed
    teacher's student minus the hard-target teacher's (percentage points over seeds, > 0: the LS
    teacher's is better), in the order of the grid (T = 1 first)."""

    gaps: dict

    @property
    def first(self) -> tuple:
        """``(T, Comparison)`` at the grid's first temperature (T = 1 in the book's grids)."""
        return next(iter(self.gaps.items()))

    @property
    def later(self) -> list:
        """``[(T, Comparison)]`` at every later (larger) temperature of the grid."""
        return list(self.gaps.items())[1:]

    @property
    def helps_first(self) -> str:
        """The follow-up's finding at the first T, that the LS teacher helps: a verdict."""
        return self.first[1].verdict()

    def hurts(self, T: float) -> Comparison:
        """The hard-target teacher's student over the LS teacher's at ``T`` (> 0: the LS teacher hurts,
        their finding at T >= 2)."""
        return _negated(self.gaps[float(T)])


def _negated(c: Comparison) -> Comparison:
    return Comparison(-c.difference, -c.high, -c.low, c.df, c.n_b, c.n_a, c.confidence)


def followup_table(rows: list, summary: FollowupSummary) -> list:
    """The follow-up as a table: per temperature, both students' accuracy (mean ± sd over seeds), the
    difference with its 95 % interval, and Chandrasegaran et al.'s finding at that T (helps at T = 1, hurts
    above). The verdicts are the claims' (:func:`lsnb.chapters.distillation.followup_claims`), premised on the setting."""
    out = []
    for i, (T, c) in enumerate(summary.gaps.items()):
        acc = {a: [r["student accuracy (%)"] for r in rows if r["T"] == T and r["teacher alpha"] == a]
               for a in sorted({r["teacher alpha"] for r in rows})}
        out.append({"T": f"{T:g}", **{f"student of the alpha = {a:g} teacher (%)": pm(v, digits=2)
                                      for a, v in acc.items()},
                    "LS teacher's - hard teacher's (points)": c.text(2),
                    "their finding": "LS teacher helps" if i == 0 else "LS teacher hurts"})
    return out


def followup_summary(rows: list, alphas, temperatures) -> FollowupSummary:
    """:class:`FollowupSummary` of :func:`lsnb.chapters.distillation.followup_rows` (the teachers' ``alphas``: 0 and
    the label smoothing compared with it, the largest)."""
    ls, hard = max(alphas), 0.0

    def accuracies(T, a):
        return [r["student accuracy (%)"] for r in rows if r["T"] == T and r["teacher alpha"] == a]

    return FollowupSummary({float(T): compare(accuracies(T, ls), accuracies(T, hard)) for T in temperatures})

"""Chapter 4 (sec. 4 of the paper): the networks it distils, and its rows of the scorecard.

:func:`distillation_setup` turns a profile's :class:`~lsnb.engine.profiles.DistillProfile` into the
configs of the paper's sec. 4; :func:`hinton_runs`, :func:`figure5_runs` and :func:`followup_rows`
train them. :mod:`lsnb.chapters.distillation_tables` summarises what they measured and
:mod:`lsnb.chapters.information` is Figure 6; :func:`distillation_claims` reads the claims off both.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ..book.glue import pm
from ..book.results import Claim
from ..engine import grid
from ..engine.profiles import get_profile
from ..engine.recipes import alexnet_student, fcn_config, resnet_config, student_config
from ..methods.stats import NOT_TESTABLE, Premise, compare, from_verdict
from .paper import CHANDRASEGARAN, TEACHER_MATCH, claim_row, setting


@dataclass(frozen=True)
class DistillationSetup:
    """The networks and grids of chapter 4 (sec. 4 of the paper) for one profile.

    ``hinton_*``: the MNIST experiment of Hinton et al. (teacher with dropout and shifts;
    the same teacher with label smoothing instead of dropout; the 800-800 student).
    ``teacher``/``student``: the Figure 5 pair (paper: ResNet-56 -> AlexNet on CIFAR-10),
    as functions ``(alpha=, seed=) -> TrainConfig``. ``mi_*``: Figure 6.
    """

    hinton_teacher: object
    hinton_ls_teacher: object
    hinton_student: object
    teacher: object
    student: object
    alphas: tuple
    temperatures: tuple
    hinton_temperature: float
    followup_alphas: tuple
    followup_temperatures: tuple
    followup_seeds: int
    mi_examples: int
    mi_samples: int
    mi_classes: tuple
    mi_sample_counts: tuple
    mi_augment: str | None = None    # Figure 6's noise (None: each teacher's training augmentation)


HINTON_TEMPERATURE = 20.0        # Hinton et al. (2015) distil the MNIST student at T = 20
FOLLOWUP_ALPHAS = (0.0, 0.1)     # Chandrasegaran et al. (2022): teachers with and without LS
MI_CLASSES = (0, 1)              # Figure 6's two classes (Fashion-MNIST: T-shirt/top vs Trouser)


def distillation_setup(profile: str, dataset: str | None = None, epochs: int | None = None) -> DistillationSetup:
    """Chapter 4's configs from the profile's :class:`~lsnb.engine.profiles.DistillProfile`.

    The Hinton et al. experiment uses their fully connected networks everywhere (the
    teachers train longer than chapter 1's FCNs where the profile says so: dropout and
    shifts train slowly; the LS teacher, without dropout, for fewer epochs where the profile
    says so, so that the two teachers' accuracies match). Figures 5 and 6 use a ResNet teacher: ResNet-56 -> AlexNet on
    CIFAR-10 on ``paper`` (the paper's pair); on ``smoke``/``cpu`` the 800-800 student on
    the profile's convolutional subset of Fashion-MNIST, because the 1200-1200 FCN teacher
    is no more accurate than its student there. ``dataset`` replaces the profile's dataset
    except where the profile fixes the pair's dataset; ``epochs`` (None: the profile's
    schedules) sets that of every network.
    """
    p = get_profile(profile)
    d = p.distill
    fcn = functools.partial(fcn_config, profile, dataset=dataset, epochs=epochs or d.hinton_teacher_epochs)
    def hinton_student(**kwargs):  # on the first hinton_student_n_train of the teachers' images (None: all)
        cfg = student_config(profile, dataset=dataset, epochs=epochs or d.hinton_student_epochs, **kwargs)
        return cfg.with_(n_train=d.hinton_student_n_train or cfg.n_train)

    pair_dataset = d.dataset or dataset or p.dataset
    student_recipe = {"fcn": student_config, "alexnet": alexnet_student}[d.student]

    def teacher(**kwargs):
        cfg = resnet_config(profile, dataset=pair_dataset, depth=d.teacher_depth, epochs=epochs or d.teacher_epochs,
                            **kwargs).with_(snapshots=d.snapshots)
        return cfg.with_(augment=d.teacher_augment) if d.teacher_augment else cfg

    def student(**kwargs):  # the first student_n_train of the teacher's images, where its logits are the targets
        return student_recipe(profile, dataset=pair_dataset, epochs=epochs or d.student_epochs,
                              **kwargs).with_(n_train=d.student_n_train or p.conv_n_train)

    return DistillationSetup(
        hinton_teacher=fcn, hinton_student=hinton_student,
        hinton_ls_teacher=functools.partial(fcn, dropout=0.0, epochs=epochs or d.hinton_ls_teacher_epochs
                                            or d.hinton_teacher_epochs),
        teacher=teacher, student=student, alphas=d.alphas, temperatures=d.temperatures,
        hinton_temperature=HINTON_TEMPERATURE, followup_alphas=FOLLOWUP_ALPHAS,
        followup_temperatures=d.followup_temperatures, followup_seeds=d.followup_seeds,
        mi_examples=d.mi_examples, mi_samples=d.mi_samples, mi_classes=MI_CLASSES,
        mi_sample_counts=d.mi_sample_counts, mi_augment=d.mi_augment)


def hinton_runs(ds: DistillationSetup, alpha: float, seeds, runs_dir=None) -> dict:
    """The Hinton et al. experiment (sec. 4), trained or loaded: ``{network: runs, one per seed}``.

    The teacher with dropout and its twin with label smoothing ``alpha`` instead of
    dropout, each one's student distilled at ``ds.hinton_temperature``, and the student
    trained on the labels alone, in that order.
    """
    teachers = {"teacher (dropout)": [ds.hinton_teacher(alpha=0.0, seed=s) for s in seeds],
                f"teacher (LS {alpha:g}, no dropout)": [ds.hinton_ls_teacher(alpha=alpha, seed=s) for s in seeds]}
    runs = {name: grid.train_many(cfgs, runs_dir=runs_dir) for name, cfgs in teachers.items()}
    for name, cfgs in teachers.items():
        runs[f"student of {name}"] = grid.train_many(
            [ds.hinton_student(teacher=c, temperature=ds.hinton_temperature, seed=c.seed) for c in cfgs],
            runs_dir=runs_dir)
    runs["student alone (labels)"] = grid.train_many([ds.hinton_student(seed=s) for s in seeds], runs_dir=runs_dir)
    return runs


def figure5_runs(ds: DistillationSetup, seeds, runs_dir=None) -> tuple[dict, dict]:
    """Figure 5's networks (sec. 4) on every seed, trained or loaded: ``(teachers, curves)``.

    ``teachers``: ``{(alpha, seed): run}`` of the teacher trained with label smoothing alpha;
    ``curves``: ``{curve: [(knob, run)]}`` for the paper's four curves -- (1) those
    teachers (knob alpha), (2) the student trained with label smoothing alpha, (3) the
    student distilled from the hard-target teacher of its seed at temperature T (knob T),
    (4) the student distilled at T = 1 from each label-smoothed teacher (knob: its alpha).
    """
    keys = [(a, s) for a in ds.alphas for s in seeds]
    teachers = dict(zip(keys, grid.train_many([ds.teacher(alpha=a, seed=s) for a, s in keys], runs_dir=runs_dir)))
    plans = {"(2) student, LS alpha": [(a, ds.student(alpha=a, seed=s)) for a in ds.alphas for s in seeds],
             "(3) student of hard teacher at T": [(T, ds.student(teacher=teachers[(0.0, s)].config, temperature=T,
                                                                  seed=s)) for T in ds.temperatures for s in seeds],
             "(4) student of LS teacher, T = 1": [(a, ds.student(teacher=teachers[(a, s)].config, temperature=1.0,
                                                                  seed=s)) for a in ds.alphas if a > 0 for s in seeds]}
    trained = grid.train_many([cfg for plan in plans.values() for _, cfg in plan], runs_dir=runs_dir)
    curves, i = {"(1) teacher, LS alpha": [(a, run) for (a, _), run in teachers.items()]}, 0
    for name, plan in plans.items():
        curves[name] = [(knob, run) for (knob, _), run in zip(plan, trained[i:i + len(plan)])]
        i += len(plan)
    return teachers, curves


def followup_rows(ds: DistillationSetup, seeds, runs_dir=None) -> list:
    """The follow-up of Chandrasegaran et al. (2022) at small scale, trained or loaded: one row per student.

    Teachers with each of ``ds.followup_alphas`` (the first ``ds.followup_seeds`` seeds),
    each distilled into the student at each of ``ds.followup_temperatures``; a row holds
    the teacher's alpha, T, the seed and the student's test accuracy (%).
    """
    plan = [(a, T, ds.teacher(alpha=a, seed=s)) for a in ds.followup_alphas for T in ds.followup_temperatures
            for s in seeds[:ds.followup_seeds]]
    grid.train_many(list({t.digest(): t for _, _, t in plan}.values()), runs_dir=runs_dir)
    students = grid.train_many([ds.student(teacher=t, temperature=T, seed=t.seed) for _, T, t in plan],
                               runs_dir=runs_dir)
    return [{"teacher alpha": a, "T": T, "seed": t.seed, "student accuracy (%)": 100 * run.metrics["test_accuracy"]}
            for (a, T, t), run in zip(plan, students)]


def hinton_premises(hinton) -> dict:
    """The Hinton et al. experiment's premises: ``"lead"`` (the dropout teacher more accurate than the
    student trained alone), ``"works"`` (its student, distilled, better than the student trained alone)
    and ``"matched"`` (the two teachers within :data:`TEACHER_MATCH` points of each other)."""
    return {"lead": from_verdict("the dropout teacher is ahead of the student trained alone", hinton.teacher_lead,
                                 unit=" points"),
            "works": from_verdict("distillation works: its student beats the student trained alone",
                                  hinton.distillation_gain, unit=" points"),
            "matched": from_verdict(f"the two teachers are matched in accuracy (within ±{TEACHER_MATCH:g} points)",
                                    hinton.teacher_gain, unit=" points", margin=TEACHER_MATCH)}


def hinton_claims(setup, hinton, dataset: str) -> list:
    """The Hinton et al. experiment (sec. 4; ``hinton``: :class:`lsnb.chapters.distillation_tables.HintonSummary`, on ``dataset``):
    the setting (the teacher ahead, distillation working), the LS teacher's accuracy, and the paper's claim
    about its student, premised on the setting and on teachers of matched accuracy."""
    e = hinton.named
    note = setting(setup, dataset, "mnist")
    hp = hinton_premises(hinton)
    return [
        Claim("Hinton setup: the dropout teacher is more accurate than the student trained alone "
              "(the setting distillation needs; student - teacher error)", "0.67 % vs 1.46 % (Hinton et al., MNIST)",
              f"{pm(e['teacher'], digits=2)} % vs {pm(e['alone'], digits=2)} %; "
              f"{hinton.teacher_lead.text(2)} points", hinton.teacher_lead.verdict(), note),
        Claim("Hinton setup: distilling the dropout teacher beats training the student alone (student alone - "
              "distilled student error)", "1.46 % -> 0.74 % (MNIST)",
              f"{pm(e['alone'], digits=2)} % -> {pm(e['student'], digits=2)} %; "
              f"{hinton.distillation_gain.text(2)} points", hinton.distillation_gain.verdict(), note),
        Claim("Hinton setup: LS teacher more accurate than the dropout teacher (test error, dropout - LS)",
              "0.67 % -> 0.59 % (MNIST)", f"{pm(e['teacher'], digits=2)} % -> {pm(e['ls_teacher'], digits=2)} %; "
              f"{hinton.teacher_gain.text(2)} points", hinton.teacher_gain.verdict(), note),
        claim_row("Hinton setup: the LS teacher's student is worse (its error - the dropout teacher's student's)",
               "0.74 % -> 0.91 % (MNIST)", f"{pm(e['student'], digits=2)} % -> {pm(e['ls_student'], digits=2)} %; "
               f"{hinton.student_loss.text(2)} points", hinton.student_loss.verdict(), note,
               [hp["lead"], hp["works"], hp["matched"]]),
    ]


def figure5_premises(figure5) -> dict:
    """Figure 5's premises: ``"lead"`` (the hard-target teacher ahead of the student trained alone) and
    ``"works"`` (the best distilled student (3) ahead of it)."""
    lead, works = figure5.teacher_lead, figure5.distill_works
    lead_text = "the hard-target teacher is ahead of the student trained alone"
    works_text = "distillation works: the best distilled student (3) beats the student trained alone"
    return {"lead": from_verdict(lead_text, lead, unit=" points") if lead is not None
            else Premise(lead_text, False, "not measured"),
            "works": from_verdict(works_text, works, unit=" points") if works is not None
            else Premise(works_text, False, "not measured")}


def figure5_claims(setup, figure5, dataset: str) -> list:
    """Figure 5 (``figure5``: :class:`lsnb.chapters.distillation_tables.Figure5Summary`, on ``dataset``): the setting and the
    paper's two claims about the curves, premised on it (:func:`figure5_premises`)."""
    note = setting(setup, dataset, "cifar10")
    b2, b3, b4 = figure5.best2, figure5.best3, figure5.best4
    fp = figure5_premises(figure5)
    lead = figure5.teacher_lead
    claims = [
        Claim("Figure 5 setup: the hard-target teacher is more accurate than the student trained alone "
              "(the setting distillation needs; teacher - student)", "ResNet-56 ahead of AlexNet (CIFAR-10)",
              f"{lead.text(2)} points" if lead is not None else "(not measured)",
              lead.verdict() if lead is not None else NOT_TESTABLE, note),
        claim_row("Figure 5: distillation from a hard teacher beats training the student with LS (best (3) - best (2))",
               "curve (3) above curve (2)",
               f"(3) {b3['accuracy']:.2f} % at T = {b3['knob']:g} vs (2) {b2['accuracy']:.2f} % at alpha = "
               f"{b2['knob']:g}; {figure5.distill_gain.text(2)} points", figure5.distill_gain.verdict(), note,
               [fp["lead"], fp["works"]]),
    ]
    if b4 is not None:
        claims.append(claim_row(
            "Figure 5: LS teachers are no better than training the student with LS (best (2) - best (4))",
            "curve (4) at or below curve (2)",
            f"(2) {b2['accuracy']:.2f} % vs (4) {b4['accuracy']:.2f} % (alpha = {b4['knob']:g} teacher); "
            f"{figure5.ls_teacher_loss.text(2)} points", figure5.ls_teacher_loss.verdict(), note,
            [fp["lead"], fp["works"]]))
    return claims


def followup_claims(setup, followup, figure5, dataset: str) -> list:
    """Chandrasegaran et al. (2022) at small scale (``followup``: :class:`lsnb.chapters.distillation_tables.FollowupSummary`),
    one claim per temperature: the LS teacher's student better at the first T (1), worse at every
    larger one; premised as Figure 5's claims are (:func:`figure5_premises`: its teacher ahead of the
    student trained alone, and distillation from it working)."""
    note = setting(setup, dataset, "cifar10")
    fp = figure5_premises(figure5)
    claims = []
    for i, (T, c) in enumerate(followup.gaps.items()):
        helps = i == 0
        theirs = CHANDRASEGARAN.get(T)
        quoted = (f"ImageNet: {theirs[1]:.2f} vs {theirs[0]:.2f} % ({theirs[1] - theirs[0]:+.2f} points)" if theirs
                  else "not in their table (worse at T = 2 and 3)")
        claims.append(claim_row(
            f"Chandrasegaran et al.: an LS teacher's student is {'better' if helps else 'worse'} at T = {T:g} "
            "(LS teacher's - hard's)", quoted, f"{c.text(2)} points",
            c.verdict() if helps else followup.hurts(T).verdict(), note, [fp["lead"], fp["works"]]))
    return claims


def figure6_claims(setup, mi, dataset: str, mi_similar=None) -> list:
    """Figure 6 (``mi``: ``(hard, ls)``, the estimates at the end of training per seed, nats; ``mi_similar``:
    the same on the two most similar classes, or None): one claim per pair of classes."""
    note = setting(setup, dataset, "cifar10")
    claims = []
    for label, pair in (("", mi), (", two similar classes", mi_similar)):
        if pair is None:
            continue
        gap = compare(*pair)
        claims.append(Claim(
            f"Figure 6: LS erases information about the example{label} (I(X;Y) at the end of training, hard - LS)",
            "ends just above log 2 with LS, higher without",
            f"{pm(pair[0], digits=3)} vs {pm(pair[1], digits=3)} nats (log 2 = {math.log(2):.3f}); {gap.text(3)}",
            gap.verdict(), note))
    return claims


def distillation_claims(setup, hinton, hinton_data: str, figure5, figure5_data: str, followup, mi,
                        mi_similar=None) -> list:
    """Chapter 4 (sec. 4), every claim in the chapter's order: :func:`hinton_claims`, :func:`figure5_claims`,
    :func:`followup_claims` and :func:`figure6_claims`."""
    return (hinton_claims(setup, hinton, hinton_data) + figure5_claims(setup, figure5, figure5_data)
            + followup_claims(setup, followup, figure5, figure5_data)
            + figure6_claims(setup, mi, figure5_data, mi_similar))

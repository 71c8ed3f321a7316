"""Profiles: how big the book's experiments are.

* ``smoke``  -- tiny slices and one epoch: every code path in seconds (CI, golden notebooks);
* ``cpu``    -- the default: real results on Fashion-MNIST on a laptop, offline;
* ``paper``  -- the paper's data and schedules, for one GPU (Müller et al. 2019, sec. 2-4).

Everything that differs between profiles is a field of :class:`Profile` (with the
distillation and translation grids in :class:`DistillProfile` and
:class:`TranslationProfile`), so a new profile is one row of :data:`PROFILE_TABLE`.
The recipes of :mod:`lsnb.engine.recipes` read that row and return a validated
:class:`~lsnb.engine.config.TrainConfig`.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass


PROFILES = ("smoke", "cpu", "gpu", "paper")


def check_profile(profile) -> str:
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is unknown: use one of {', '.join(PROFILES)}")
    return profile


@dataclass(frozen=True)
class DistillProfile:
    """Chapter 4's networks and grids (paper sec. 4) on one profile.

    Figure 5's pair is a ResNet teacher of ``teacher_depth`` (None: the profile's
    ResNet depth) and a ``student`` ("alexnet": the paper's AlexNet; "fcn": the
    800-800 net), both on ``dataset`` (None: the profile's dataset).
    """

    snapshots: int                   # weight snapshots of the Figure 5/6 teachers (Figure 6's time axis)
    hinton_teacher_epochs: int | None  # the Hinton et al. FCN teachers (None: the profile's epochs)
    teacher_epochs: int | None       # the Figure 5/6 ResNet teachers (None: the profile's ResNet epochs)
    dataset: str | None
    teacher_depth: int | None
    student: str
    alphas: tuple                    # Figure 5, curves (1), (2), (4)
    temperatures: tuple              # Figure 5, curve (3)
    followup_temperatures: tuple     # Chandrasegaran et al. (2022): alpha in {0, 0.1} x these T
    followup_seeds: int
    mi_examples: int                 # Figure 6: N training examples of two classes
    mi_samples: int                  # Figure 6: L augmentations per example
    mi_sample_counts: tuple = (4, 8, 16, 32, 64)  # Figure 6's bias check: the final estimate at each L
    hinton_student_n_train: int | None = None  # the Hinton students' transfer set: the first n of the teachers'
    hinton_student_epochs: int | None = None   # the Hinton students (None: the profile's epochs)
    teacher_augment: str | None = None  # the Figure 5/6 teachers' augmentation (None: the ResNet recipe's crops+flips)
    mi_augment: str | None = None       # Figure 6's noise (None: the teachers' training augmentation)
    student_epochs: int | None = None   # the Figure 5 students (None: the student recipe's epochs)
    student_n_train: int | None = None  # the Figure 5 students' transfer set: the first n of the teachers' images
    hinton_ls_teacher_epochs: int | None = None  # the Hinton LS teacher (None: the dropout teacher's epochs)


@dataclass(frozen=True)
class TranslationProfile:
    """Chapter 3b's Transformer (Vaswani et al. 2017) and its Figure 4 grid on one profile."""

    dataset: str
    size: tuple                      # (name, value) pairs: d_model, heads, layers, ffn
    epochs: int
    n_train: int | None
    n_val: int
    n_test: int | None
    batch_size: int
    lr: float
    temperatures: tuple              # Figure 4: beam search at each
    dropout: float = 0.1
    # Trained to memorise its subset (the over-fitted regime of sec. 3, as Table 2 on cpu): the next-token
    # claims are then tested where the hard-target model memorised its training pairs.
    memorise: bool = False


@dataclass(frozen=True)
class Profile:
    """How big the book's experiments are (see the module docstring)."""

    name: str
    dataset: str
    seeds: int
    epochs: int
    n_train: int | None
    n_val: int
    n_test: int | None
    fcn_hidden: int
    student_hidden: int
    alphas: tuple
    device_note: str
    alexnet_dataset: str
    alexnet_epochs: int
    resnet_dataset: str
    resnet_depth: int
    resnet_epochs: int
    resnet_bn_decay: float           # TF's 0.997 needs the paper's 70k steps; short schedules use 0.9
    conv_n_train: int | None
    distill: DistillProfile
    translation: TranslationProfile
    # Table 2's networks (chapters 1-3) as their recipes train them (True), or in the over-confident regime
    # of the paper's sec. 3 (False): no augmentation, no dropout, on a subset of table2_n_train images,
    # trained until the training set is memorised (the epochs are then the profile's table2_epochs).
    table2_augment: bool = True
    table2_n_train: int | None = None
    table2_epochs: tuple = ()        # (("FCN", epochs), ("AlexNet", ...), ("ResNet", ...)) where not augmented
    # Where not augmented, changes to a network's recipe that it needs to memorise its subset in table2_epochs:
    # ((model, ((TrainConfig field, value), ...)), ...).
    table2_changes: tuple = ()
    sweep_models: tuple = ("FCN", "AlexNet")  # the Table 2 networks swept over alpha (chapters 2 and 3), one seed
    # Chapter 3 tunes label smoothing on validation as temperature scaling is tuned: these alphas are trained
    # on every seed beside the chapter's alpha for the calibration_models, and each seed's alpha is the one
    # with the lowest validation ECE (the paper's Table 3 uses 0.05 and 0.1).
    calibration_alphas: tuple = (0.05,)
    calibration_models: tuple = ("FCN", "AlexNet", "ResNet")
    # The convolutional networks and the Transformer validate after every epoch (their training curves), or
    # only after the last where that pass would cost as much as the training (cpu: small subsets, many
    # epochs). The FCN always does: its validation pass is cheap and chapter 1 draws its curves.
    validate_every_epoch: bool = True
    # Chapter 5's transfer test (Kornblith et al. 2021): the Table 2 networks trained again on half the classes,
    # with and without label smoothing, every seed, and probed on the other half.
    transfer_models: tuple = ("FCN", "AlexNet", "ResNet")
    # Chapter 5's attacks (Fu et al. 2020): every network attacked on this many of the first test images.
    attack_images: int = 1000




PROFILE_TABLE = {
    "smoke": Profile(
        "smoke", "fashion_mnist", seeds=2, epochs=1, n_train=2000, n_val=500, n_test=1000,
        fcn_hidden=64, student_hidden=48, alphas=(0.0, 0.1), device_note="any CPU, seconds",
        alexnet_dataset="fashion_mnist", alexnet_epochs=1, resnet_dataset="fashion_mnist", resnet_depth=8,
        resnet_epochs=1, resnet_bn_decay=0.9, conv_n_train=2000,
        distill=DistillProfile(snapshots=2, hinton_teacher_epochs=None, teacher_epochs=None, dataset=None,
                               teacher_depth=None, student="fcn", alphas=(0.0, 0.1), temperatures=(1.0, 3.0),
                               followup_temperatures=(1.0, 3.0), followup_seeds=2, mi_examples=60, mi_samples=8),
        translation=TranslationProfile("en_de", (("d_model", 64), ("heads", 2), ("layers", 1), ("ffn", 128)),
                                       epochs=1, n_train=2000, n_val=100, n_test=100, batch_size=64, lr=7e-4,
                                       temperatures=(0.8, 1.0), memorise=True),
        table2_augment=False, attack_images=100),
    # A 2-core CPU (bf16 where it has native bf16, else fp32). Each claim in its regime, every setting below
    # chosen in one-seed trials before the grid (3 seeds per verdict), in fp32 unless a line says bf16:
    # * Table 2's networks memorise a 2,000-image subset (the over-confident regime of sec. 3). AlexNet with
    #   the tutorial's plain SGD at batch 128 reached 79 % training accuracy in 25 epochs (81 % with momentum,
    #   85 % with Adam, 86 % at batch 32, 92 % with the lr drops moved to 80/90 %); at batch 32 with momentum
    #   0.9, lr 0.05 and the drops at 80/90 % it reached 96.8 % in 20 epochs (fitted T 1.51).
    # * The convolutional networks and the Transformer validate after their last epoch only: on 2,000 images
    #   AlexNet's per-epoch validation pass took 25 s of a 58 s run (bf16).
    # * The Hinton teachers learn 10,000 images, the dropout teacher for 30 epochs and the LS teacher for 15,
    #   where their accuracy matches (one seed: 84.0 vs 83.8 %; at 30 epochs the LS teacher led by 2.2 points).
    #   Their students learn the first 1,000 images for 80 epochs: on 2,000 for 40 epochs the dropout
    #   teacher's student was behind the student trained alone (82.0 vs 82.4 %); on 1,000 for 80 it is ahead
    #   (82.0 vs 80.7 %), for 40 it is level (80.3 %).
    # * Figure 5/6's teacher is a ResNet-8 trained 16 epochs on 5,000 images without augmentation (with crops
    #   and flips it fell behind the student trained alone, 78.9 vs 84.3 %; a 10-epoch teacher taught no
    #   student better than the student alone, -0.08 points [-0.92, +0.76] over 3 seeds). Its students are
    #   the 800-800 net on the first 500 of its images for 40 epochs: on all 5,000 every distilled student was
    #   below the student trained alone (83.1-84.2 vs 84.3 %); on 1,000 the best distilled student led it by
    #   +1.10 points [-0.15, +2.34] over 3 seeds (fp32), too close to call; on 500 by +1.74 [+0.88, +2.61]
    #   (T = 2; bf16, 3 seeds). Figure 6's noise is +-2 px shifts.
    # * Chapter 3b's Transformer (d 128, 2 layers, no dropout) memorises 1,000 pairs in 25 epochs at batch
    #   32: on 1,500 pairs one seed reached 99.9 % training next-token accuracy, fitted T 1.74 (143 s); it
    #   predicts 13 % of test tokens and does not translate. 30,000 pairs for one epoch (d 256) was neither
    #   fitted nor over-confident (T 1.00, 16 % of test tokens).
    # * Chapter 5 (fp32, cold, alone): with FCN and ResNet-8 transfer networks and 500 attacked images it took
    #   9.7 min -- the ResNet-8's six 5-class runs and probes 3.3 min (probe hard - LS -1.01 [-5.64, +3.63]
    #   points, 3 seeds), AlexNet's attacks 2.2 of 3.2; so the FCN alone is pretrained and 400 images attacked.
    "cpu": Profile(
        "cpu", "fashion_mnist", seeds=3, epochs=15, n_train=10000, n_val=2000, n_test=None,
        fcn_hidden=1200, student_hidden=800, alphas=(0.0, 0.05, 0.1, 0.2), device_note="2-core CPU",
        alexnet_dataset="fashion_mnist", alexnet_epochs=25, resnet_dataset="fashion_mnist", resnet_depth=8,
        resnet_epochs=25, resnet_bn_decay=0.9, conv_n_train=5000,
        distill=DistillProfile(snapshots=8, hinton_teacher_epochs=30, teacher_epochs=16, dataset=None,
                               teacher_depth=None, student="fcn", alphas=(0.0, 0.1, 0.2),
                               temperatures=(1.0, 2.0, 4.0, 8.0), followup_temperatures=(1.0, 2.0, 3.0, 8.0),
                               followup_seeds=3, mi_examples=400, mi_samples=16, mi_sample_counts=(4, 8, 16, 32),
                               hinton_student_n_train=1000, hinton_student_epochs=80, teacher_augment="none",
                               mi_augment="shift2", student_epochs=40, student_n_train=500,
                               hinton_ls_teacher_epochs=15),
        translation=TranslationProfile("en_de", (("d_model", 128), ("heads", 4), ("layers", 2), ("ffn", 512)),
                                       epochs=25, n_train=1000, n_val=1000, n_test=500, batch_size=32, lr=1e-3,
                                       temperatures=(0.7, 1.0, 1.4), dropout=0.0, memorise=True),
        table2_augment=False, table2_n_train=2000, table2_epochs=(("FCN", 40), ("AlexNet", 20), ("ResNet", 25)),
        table2_changes=(("AlexNet", (("batch_size", 32), ("momentum", 0.9), ("lr", 0.05),
                                     ("milestones", (0.8, 0.9)))),),
        sweep_models=("FCN",), validate_every_epoch=False, transfer_models=("FCN",), attack_images=400),
    # One H100/H200-class GPU, the GPU edition made chapter group by chapter group (make edition / make gpu-check),
    # each group within 6 minutes. The paper's networks: AlexNet and ResNet-56 on CIFAR-10 (LSNB_CIFAR10), the
    # Hinton et al. FCNs on Fashion-MNIST, ResNet-56 -> AlexNet for Figure 5, a Transformer-base on en_de; 3
    # seeds for every verdict. Regimes, measured on an H200: ResNet-56 with the paper's recipe for 20 epochs is
    # over-confident; a Transformer-base for 8 epochs on en_de reaches BLEU in the teens. Batch-norm decay 0.99:
    # TF's 0.997 would average over ~330 steps, two epochs of the subset.
    # Minutes per group: README, "How long" (estimated from throughputs measured on one H200).
    "gpu": Profile(
        "gpu", "fashion_mnist", seeds=3, epochs=15, n_train=20000, n_val=5000, n_test=None,
        fcn_hidden=1200, student_hidden=800, alphas=(0.0, 0.05, 0.1, 0.2),
        device_note="one H100/H200-class GPU, minutes per chapter",
        alexnet_dataset="cifar10", alexnet_epochs=12, resnet_dataset="cifar10", resnet_depth=56,
        resnet_epochs=20, resnet_bn_decay=0.99, conv_n_train=15000,
        distill=DistillProfile(snapshots=10, hinton_teacher_epochs=40, teacher_epochs=10, dataset="cifar10",
                               teacher_depth=56, student="alexnet", alphas=(0.0, 0.1, 0.3),
                               temperatures=(1.0, 3.0, 8.0), followup_temperatures=(1.0, 2.0, 3.0), followup_seeds=3,
                               mi_examples=600, mi_samples=32, student_epochs=8),
        translation=TranslationProfile("en_de", (("d_model", 512), ("heads", 8), ("layers", 6), ("ffn", 2048)),
                                       epochs=6, n_train=None, n_val=1000, n_test=None, batch_size=128, lr=5e-4,
                                       temperatures=(0.6, 0.8, 1.0, 1.2, 1.4, 1.7)),
        calibration_models=("FCN", "ResNet")),
    # The paper's settings: the TF tutorial AlexNet on CIFAR-10 and the TF official ResNet-56 v2 on
    # CIFAR-100 (182 epochs, lr x0.1 at epochs 91 and 136); ResNet-56 -> AlexNet on CIFAR-10 for
    # Figure 5; a Transformer-base-sized model on Multi30k (WMT14 is out of reach of one GPU in hours).
    "paper": Profile(
        "paper", "mnist", seeds=5, epochs=60, n_train=None, n_val=5000, n_test=None,
        fcn_hidden=1200, student_hidden=800, alphas=(0.0, 0.05, 0.1, 0.2), device_note="one GPU",
        alexnet_dataset="cifar10", alexnet_epochs=256, resnet_dataset="cifar100", resnet_depth=56,
        resnet_epochs=182, resnet_bn_decay=0.997, conv_n_train=None,
        distill=DistillProfile(snapshots=40, hinton_teacher_epochs=None, teacher_epochs=None, dataset="cifar10",
                               teacher_depth=56, student="alexnet", alphas=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
                               temperatures=(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
                               followup_temperatures=(1.0, 2.0, 3.0, 8.0), followup_seeds=3,
                               mi_examples=600, mi_samples=100),
        translation=TranslationProfile("multi30k", (("d_model", 512), ("heads", 8), ("layers", 6), ("ffn", 2048)),
                                       epochs=30, n_train=None, n_val=1014, n_test=None, batch_size=128, lr=5e-4,
                                       temperatures=(0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7))),
}


def get_profile(name: str) -> Profile:
    """The profile ``name``; the `gpu` profile's CIFAR-10 as ``$LSNB_CIFAR10`` names it when this is called."""
    p = PROFILE_TABLE[check_profile(name)]
    return with_cifar10(p, os.environ.get("LSNB_CIFAR10", "cifar10")) if p.name == "gpu" else p


def with_cifar10(p: Profile, cifar10: str) -> Profile:
    """``p`` with ``cifar10`` as the CIFAR-10 of its convolutional networks: torchvision's copy ("cifar10",
    downloaded into $LSNB_DATA), or, on a machine without network, a class-per-folder copy such as
    ``imagefolder:data/cifar10-jpeg`` (README)."""
    return dataclasses.replace(p, alexnet_dataset=cifar10, resnet_dataset=cifar10,
                               distill=dataclasses.replace(p.distill, dataset=cifar10))

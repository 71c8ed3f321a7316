import pytest
import torch

from lsnb.chapters import common as chapters
from lsnb.engine import config, profiles, recipes, train
from lsnb.methods.losses import label_smoothing_loss
from lsnb.engine import tasks
from lsnb.chapters import distillation
from lsnb.engine import teachers


@pytest.mark.parametrize("bad", [1.5, 1.0, -0.1, "0.1", True, None])
def test_alpha_outside_range_names_alpha(bad):
    with pytest.raises(ValueError, match=r"^alpha=.*0 <= alpha < 1"):
        chapters.setup("cpu", alpha=bad)


@pytest.mark.parametrize("kwargs, name", [
    ({"dataset": "imagenet"}, "dataset"), ({"epochs": 0}, "epochs"), ({"epochs": -3}, "epochs"),
    ({"epochs": 2.5}, "epochs"), ({"n_seeds": 0}, "n_seeds"), ({"seed": -1}, "seed"),
])
def test_bad_parameters_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}="):
        chapters.setup("cpu", **kwargs)


def test_unknown_profile_lists_the_choices():
    with pytest.raises(ValueError, match=r"profile='tpu' is unknown: use one of smoke, cpu, gpu, paper"):
        chapters.setup("tpu")


def test_error_message_is_one_line():
    with pytest.raises(ValueError) as err:
        chapters.setup("cpu", alpha=1.5)
    assert "\n" not in str(err.value)


def test_setup_takes_profile_defaults():
    s = chapters.setup("cpu", alpha=0.1, seed=3)
    p = profiles.get_profile("cpu")
    assert s.dataset == p.dataset == "fashion_mnist"
    assert s.seeds == tuple(range(3, 3 + p.seeds)) and s.epochs is None  # each network keeps its schedule
    assert recipes.fcn_config("cpu", epochs=s.epochs).epochs == p.epochs
    assert chapters.setup("paper").dataset == "mnist"
    assert chapters.setup("cpu", dataset="imagefolder:/some/where").dataset == "imagefolder:/some/where"


def test_config_hash_is_stable_and_sensitive():
    a = recipes.fcn_config("cpu", alpha=0.1)
    assert a.digest() == recipes.fcn_config("cpu", alpha=0.1).digest()
    assert a.digest() != a.with_(alpha=0.0).digest()
    assert a.digest() != a.with_(seed=1).digest()
    assert config.TrainConfig.from_dict(a.to_dict()) == a


@pytest.mark.parametrize("field, value", [("lr", 0.0), ("schedule", "cosine"), ("milestones", (0.8, 0.5)),
                                          ("augment", "mixup"), ("grad_clip", -1.0), ("n_val", -1)])
def test_trainconfig_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=rf"^{field}="):
        recipes.fcn_config("smoke").with_(**{field: value})


DATASET_SHAPES = {"fashion_mnist": (1, 28, 28), "mnist": (1, 28, 28), "cifar10": (3, 32, 32), "cifar100": (3, 32, 32)}
NUM_CLASSES = {"fashion_mnist": 10, "mnist": 10, "cifar10": 10, "cifar100": 100}


BUILDERS = [recipes.fcn_config, recipes.alexnet_config, recipes.resnet_config]


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_every_profile_config_builds_and_takes_training_steps(profile, builder):
    """Each profile's configs build their model and take two SGD steps on CPU with the right shapes."""
    torch.manual_seed(0)
    cfg = builder(profile, alpha=0.1)
    shape, k = DATASET_SHAPES[cfg.dataset], NUM_CLASSES[cfg.dataset]
    model = tasks.new_model(cfg, shape, k)
    opt = train.make_optimizer(model, cfg)
    x = torch.randint(0, 256, (8, *shape), dtype=torch.uint8)
    y = torch.randint(0, k, (8,))
    before = [p.detach().clone() for p in model.parameters()]
    from lsnb.data.augment import prepare_batch
    for _ in range(2):
        logits = model(prepare_batch(x, cfg.augment, True, torch.Generator().manual_seed(0)))
        assert logits.shape == (8, k)
        loss = label_smoothing_loss(logits, y, cfg.alpha)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert model.features(prepare_batch(x, cfg.augment, False, None)).shape == (8, model.head.in_features)


def test_gpu_profile_trains_the_papers_networks_with_seeds_for_every_verdict():
    """The `gpu` profile (GPU edition): AlexNet and ResNet-56 on CIFAR-10, ResNet-56 -> AlexNet for Figure 5, a
    Transformer-base on the offline en_de corpus, a Hinton teacher trained longer than its student, 3 seeds."""
    p = profiles.get_profile("gpu")
    assert recipes.alexnet_config("gpu").dataset == recipes.resnet_config("gpu").dataset == "cifar10"
    assert recipes.resnet_config("gpu").model_kwargs["depth"] == 56
    ds = distillation.distillation_setup("gpu")
    assert (ds.teacher().model, ds.teacher().model_kwargs["depth"], ds.student().model) == ("resnet", 56, "alexnet")
    assert ds.teacher().dataset == ds.student().dataset == "cifar10"
    assert ds.hinton_teacher().epochs > ds.hinton_student().epochs
    assert ds.hinton_teacher().model_kwargs["hidden"] == (1200, 1200)
    assert p.seeds >= 3 and ds.followup_seeds >= 3
    t = recipes.transformer_config("gpu")
    assert t.dataset == "en_de" and t.model_kwargs["d_model"] == 512 and t.model_kwargs["layers"] == 6
    assert 1.0 in p.translation.temperatures
    # Chandrasegaran et al.'s temperatures, each its own claim
    assert {1.0, 2.0, 3.0} <= set(ds.followup_temperatures)


def test_gpu_profile_reads_an_offline_cifar10_copy_from_the_environment(monkeypatch):
    """LSNB_CIFAR10 names the `gpu` profile's CIFAR-10 (an imagefolder copy on a machine without network),
    read when a config is built."""
    monkeypatch.setenv("LSNB_CIFAR10", "imagefolder:data/cifar10-jpeg")
    ds = distillation.distillation_setup("gpu")
    out = [recipes.alexnet_config("gpu").dataset, recipes.resnet_config("gpu").dataset, ds.teacher().dataset,
           ds.student().dataset, recipes.fcn_config("gpu").dataset]
    assert out == ["imagefolder:data/cifar10-jpeg"] * 4 + ["fashion_mnist"]
    monkeypatch.delenv("LSNB_CIFAR10")
    assert recipes.alexnet_config("gpu").dataset == "cifar10"


def test_paper_resnet_drops_the_learning_rate_near_epochs_91_and_136_of_182():
    """The TF official ResNet schedule the paper trains with (sec. 2): lr 0.1, x0.1 at epoch 91 and 136
    (here at fractions 0.5 and 0.75 of training: epoch 136.5, half an epoch after TF's)."""
    res = recipes.resnet_config("paper")
    steps_per_epoch = 50_000 // res.batch_size
    total = res.epochs * steps_per_epoch
    lr_at = lambda epoch: res.lr * train.lr_factor(res, round(epoch * steps_per_epoch), total)
    assert [lr_at(e) for e in (0, 90.9, 91.1, 136.4, 136.6)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])
    model = tasks.new_model(res, (3, 32, 32), 100)
    decayed, rest = train.param_groups(model, res.weight_decay)
    bn = {id(p) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters()}
    assert decayed["weight_decay"] == 2e-4 and not bn & {id(p) for p in decayed["params"]}
    assert len(decayed["params"]) + len(bn) == len(list(model.parameters()))  # L2 on all but batch norm
    assert sum(p.numel() for p in model.parameters()) == 855_834 + 90 * 65  # ResNet-56 v2 (widths 16/32/64), 100-class head


def test_paper_alexnet_decays_only_the_two_hidden_dense_layers():
    alex = recipes.alexnet_config("paper")
    model = tasks.new_model(alex, (3, 32, 32), 10)
    decayed, _ = train.param_groups(model, alex.weight_decay)
    assert decayed["weight_decay"] == 0.004 and [p.shape for p in decayed["params"]] == [(384, 2304), (192, 384)]
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    from lsnb.data.augment import prepare_batch
    assert prepare_batch(x, alex.augment, True, torch.Generator().manual_seed(0)).shape == (2, 3, 24, 24)


def test_paper_fcn_is_hinton_1200_1200():
    cfg = recipes.fcn_config("paper")
    model = tasks.new_model(cfg, (1, 28, 28), 10)
    n = sum(p.numel() for p in model.parameters())
    assert n == 784 * 1200 + 1200 + 1200 * 1200 + 1200 + 1200 * 10 + 10


@pytest.mark.parametrize("model, dataset, says", [
    ("fcn", "en_de", "is a translation corpus"), ("resnet", "multi30k", "is a translation corpus"),
    ("transformer", "fashion_mnist", "is an image dataset, but the Transformer translates"),
    ("transformer", "imagefolder:/data/x", "is an image dataset")])
def test_a_model_refuses_data_of_the_other_task(model, dataset, says):
    with pytest.raises(ValueError, match=f"dataset={dataset!r} {says}"):
        config.TrainConfig(model=model, dataset=dataset)


def test_a_chapter_takes_only_datasets_of_its_task():
    with pytest.raises(ValueError, match="dataset='en_de' is a translation corpus .* use one of fashion_mnist"):
        chapters.setup("smoke", dataset="en_de")
    with pytest.raises(ValueError, match="dataset='mnist' is an image dataset"):
        chapters.setup("smoke", dataset="mnist", task="translation")
    assert chapters.setup("smoke", dataset="en_de", task="translation").dataset == "en_de"


@pytest.mark.parametrize("epochs", [0, -3, 2.5, True])
def test_setup_refuses_epochs_that_are_not_positive_whole_numbers(epochs):
    with pytest.raises(ValueError, match=f"epochs={epochs!r} is not allowed"):
        chapters.setup("smoke", epochs=epochs)


def test_an_epochs_override_reaches_every_network_of_chapter_4():
    ds = distillation.distillation_setup("cpu", epochs=2)
    nets = [ds.hinton_teacher(), ds.hinton_ls_teacher(), ds.hinton_student(), ds.teacher(), ds.student(),
            ds.student(teacher=ds.teacher(), temperature=2.0)]
    assert {c.epochs for c in nets} == {2}
    assert distillation.distillation_setup("cpu").hinton_teacher().epochs == profiles.get_profile("cpu").distill.hinton_teacher_epochs


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_every_distillation_student_may_learn_from_its_teacher(profile):
    """The Hinton students (a transfer set among the teachers' images) and the Figure 5 students pass the
    teacher check that training applies, on every profile."""
    from lsnb.chapters import common as chapters
    from lsnb.methods import distillation as distill
    ds = distillation.distillation_setup(profile)
    for teacher in (ds.hinton_teacher(alpha=0.0, seed=0), ds.hinton_ls_teacher(alpha=0.1, seed=0)):
        teachers.check_teacher(teacher, ds.hinton_student(teacher=teacher, temperature=20.0, seed=0))
    fig5 = ds.teacher(alpha=0.0, seed=0)
    teachers.check_teacher(fig5, ds.student(teacher=fig5, temperature=1.0, seed=0))


def test_cpu_table2_networks_train_in_the_over_confident_regime():
    """Chapter 3 needs over-confident hard-target networks: on cpu, Table 2's networks memorise a small
    subset without augmentation or dropout; on gpu and paper they keep the paper's recipes."""
    for name in recipes.TABLE2_MODELS:
        cfg = recipes.table2_config(name, "cpu")
        assert cfg.augment == "none" and cfg.n_train == 2000
        assert dict(cfg.model_args).get("dropout", 0.0) == 0.0
        for other in ("gpu", "paper"):
            assert recipes.table2_config(name, other) == recipes.TABLE2_MODELS[name](other)
    with pytest.raises(ValueError, match="not a Table 2 network"):
        recipes.table2_config("VGG", "cpu")


def test_cpu_regime_changes_are_confined_to_what_needs_them():
    """AlexNet's memorising recipe on cpu (batch 32, momentum, late lr drops) leaves the other Table 2
    networks and every other profile's AlexNet alone; the Hinton LS teacher trains for its own epochs
    (matching the dropout teacher's accuracy); the Figure 5 students learn a prefix of the teachers' images."""
    alex, resnet = recipes.table2_config("AlexNet", "cpu"), recipes.table2_config("ResNet", "cpu")
    assert (alex.batch_size, alex.momentum, alex.lr, alex.milestones, alex.epochs) == (32, 0.9, 0.05, (0.8, 0.9), 20)
    assert alex.weight_decay == recipes.alexnet_config("cpu").weight_decay
    assert (resnet.batch_size, resnet.momentum) == (128, 0.9)
    assert recipes.table2_config("AlexNet", "smoke").batch_size == 128
    ds = distillation.distillation_setup("cpu")
    assert (ds.hinton_teacher().epochs, ds.hinton_ls_teacher().epochs) == (30, 15)
    assert ds.hinton_ls_teacher().model_args == ds.hinton_teacher().with_(model_args=(("hidden", (1200, 1200)),
                                                                                       ("dropout", 0.0))).model_args
    assert ds.student().n_train == 500 < ds.teacher().n_train == 5000
    gpu = distillation.distillation_setup("gpu")
    assert gpu.hinton_ls_teacher().epochs == gpu.hinton_teacher().epochs


def test_cpu_transformer_memorises_a_small_subset():
    cfg = recipes.transformer_config("cpu")
    assert (cfg.n_train, cfg.epochs, cfg.batch_size, dict(cfg.model_args)["dropout"]) == (1000, 25, 32, 0.0)
    assert profiles.get_profile("cpu").translation.memorise and not profiles.get_profile("gpu").translation.memorise
    assert dict(recipes.transformer_config("gpu").model_args)["dropout"] == 0.1

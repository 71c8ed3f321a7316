"""Chapter 5's methods against their definitions, brute force and well-kept libraries (torchmetrics,
scikit-learn), each on a case with a known answer."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import binary_auroc, binary_roc

from lsnb.data import augment as aug, images as data
from lsnb.engine.config import TrainConfig
from lsnb.methods import attacks, collapse, probe, selective


def random_logits(seed, n=400, k=10, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g, dtype=torch.float64) * scale
    labels = torch.where(torch.rand(n, generator=g) < 0.7, logits.argmax(1), torch.randint(0, k, (n,), generator=g))
    return logits, labels


# ----------------------------------------------------------------------------- selective classification

def brute_aurc(score, correct):
    """Xia et al.'s definition: sort by score (distinct here), risk r_i of the top i, trapezoid from (0, 0)."""
    order = sorted(range(len(score)), key=lambda i: -float(score[i]))
    errors, risks = 0, [0.0]
    for i, j in enumerate(order, 1):
        errors += int(not correct[j])
        risks.append(errors / i)
    n = len(score)
    return sum((risks[i] + risks[i + 1]) / 2 / n for i in range(n))


@pytest.mark.parametrize("seed", range(3))
def test_aurc_is_the_trapezoid_of_the_risk_coverage_curve(seed):
    logits, labels = random_logits(seed)
    score, correct = selective.msp_score(logits), logits.argmax(1) == labels
    assert selective.aurc(score, correct) == pytest.approx(brute_aurc(score.tolist(), correct.tolist()), abs=1e-12)


def test_aurc_known_answers():
    correct = torch.tensor([True] * 6 + [False] * 4)
    # the best ranking (every error last): risk 0 up to coverage 0.6, then e/(6+e) for the e errors accepted
    best = torch.arange(10, 0, -1).double()
    oracle = sum((a + b) / 2 for a, b in zip([0] * 7 + [1 / 7, 2 / 8, 3 / 9], [0] * 6 + [1 / 7, 2 / 8, 3 / 9, 0.4])) / 10
    assert selective.aurc(best, correct) == pytest.approx(oracle)
    # every score tied: every order is as likely, the risk is the error rate at every coverage
    assert selective.aurc(torch.zeros(10), correct) == pytest.approx(0.4 * (1 - 1 / 20))
    # the worst ranking: errors first
    assert selective.aurc(-best, correct) > selective.aurc(torch.zeros(10), correct) > selective.aurc(best, correct)


def test_ties_are_the_mean_over_orders():
    correct = torch.tensor([True, False, True, True, False])
    score = torch.tensor([2.0, 1.0, 1.0, 1.0, 0.0])
    orders = [p for p in itertools.permutations(range(1, 4))]
    mean = 0.0
    for p in orders:  # the three tied examples in every order: their distinct scores in that order
        s = score.clone()
        for rank, i in enumerate(p):
            s[i] = 1.0 + 0.1 * (len(p) - rank)
        mean += selective.aurc(s, correct) / len(orders)
    assert selective.aurc(score, correct) == pytest.approx(mean)


def test_msp_score_keeps_apart_what_float32_rounds_to_one():
    logits = torch.tensor([[40.0, 0.0], [50.0, 0.0]])
    assert F.softmax(logits, 1).max(1).values.tolist() == [1.0, 1.0]
    low, high = selective.msp_score(logits).tolist()
    assert low < high < 0
    assert math.exp(low) == pytest.approx(1 / (1 + math.exp(-40)))


def test_pnorm_score_by_hand_and_choice_of_p():
    z = torch.tensor([[3.0, 0.0, 0.0]])  # centred: (2, -1, -1)
    assert selective.pnorm_score(z, 2).item() == pytest.approx(2 / math.sqrt(6))
    assert selective.pnorm_score(z, 1).item() == pytest.approx(0.5)
    assert selective.pnorm_score(z + 7, 2).item() == pytest.approx(2 / math.sqrt(6))  # shift invariant
    with pytest.raises(ValueError, match="p=0"):
        selective.pnorm_score(z, 0)
    logits, labels = random_logits(0)
    p = selective.choose_p(logits, labels)
    correct = logits.argmax(1) == labels
    best = min([selective.aurc(selective.msp_score(logits), correct)]
               + [selective.aurc(selective.pnorm_score(logits, q), correct) for q in selective.P_GRID])
    chosen = selective.msp_score(logits) if p is None else selective.pnorm_score(logits, p)
    assert selective.aurc(chosen, correct) == pytest.approx(best)


@pytest.mark.parametrize("seed", range(3))
def test_auroc_matches_torchmetrics_and_sklearn(seed):
    from sklearn.metrics import roc_auc_score
    logits, labels = random_logits(seed)
    score, correct = selective.msp_score(logits), logits.argmax(1) == labels
    score = (score * 4).round() / 4  # with ties, which count one half
    ours = selective.auroc(score, correct)
    assert ours == pytest.approx(binary_auroc(score, correct.long()).item(), abs=1e-6)
    assert ours == pytest.approx(roc_auc_score(correct.numpy(), score.numpy()), abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_fpr95_is_the_roc_point_where_the_true_positive_rate_first_reaches_95(seed):
    logits, labels = random_logits(seed, n=2000)
    score, correct = selective.msp_score(logits), logits.argmax(1) == labels
    fpr, tpr, _ = binary_roc(score, correct.long())
    i = int(torch.nonzero(tpr >= 0.95)[0])
    assert selective.fpr_at_95_tpr(score, correct) == pytest.approx(fpr[i].item(), abs=1e-6)
    assert selective.fpr_at_95_tpr(torch.tensor([3.0, 2.0, 1.0]), torch.tensor([True, True, False])) == 0.0


# ----------------------------------------------------------------------------- neural collapse, class separation

def simplex_features(k=4, d=6, per_class=5, noise=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    etf = torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))[0].T  # orthonormal rows
    means = (etf - etf.mean(0)) * 3  # centred orthonormal rows: a simplex ETF
    labels = torch.arange(k).repeat_interleave(per_class)
    return means[labels] + noise * torch.randn(len(labels), d, generator=g, dtype=torch.float64), labels, means


def test_a_collapsed_simplex_has_zero_nc_numbers():
    x, y, means = simplex_features()
    assert collapse.nc1(x, y, 4) == pytest.approx(0, abs=1e-12)
    assert collapse.equinorm(x, y, 4) == pytest.approx(0, abs=1e-12)
    assert collapse.equiangularity(x, y, 4) == pytest.approx(0, abs=1e-12)
    assert collapse.etf_distance(x, y, 4) == pytest.approx(0, abs=1e-12)
    assert collapse.self_duality(x, y, 5 * means) == pytest.approx(0, abs=1e-12)
    noisy, y, _ = simplex_features(noise=0.5)
    assert collapse.nc1(noisy, y, 4) > 0.01


def test_nc1_against_numpy():
    x, y, _ = simplex_features(noise=0.7, seed=3)
    xn, yn = x.numpy(), y.numpy()
    mu = np.stack([xn[yn == c].mean(0) for c in range(4)])
    sw = sum(np.outer(v - mu[c], v - mu[c]) for v, c in zip(xn, yn)) / len(xn)
    sb = (mu - mu.mean(0)).T @ (mu - mu.mean(0)) / 4
    assert collapse.nc1(x, y, 4) == pytest.approx(np.trace(sw @ np.linalg.pinv(sb)) / 4, rel=1e-9)


def test_class_separation_is_kornblith_r2_of_cosine_distances():
    from sklearn.metrics.pairwise import cosine_distances
    g = torch.Generator().manual_seed(0)
    y = torch.tensor([0] * 7 + [1] * 4 + [2] * 9)  # unequal classes: each weighted equally
    x = torch.randn(len(y), 5, generator=g, dtype=torch.float64) + 2 * F.one_hot(y, 5).double()
    d = cosine_distances(x.numpy())
    k, yn = 3, y.numpy()
    within = sum(d[np.ix_(yn == c, yn == c)].mean() for c in range(k)) / k
    total = sum(d[np.ix_(yn == a, yn == b)].mean() for a in range(k) for b in range(k)) / k ** 2
    assert collapse.class_separation(x, y, k) == pytest.approx(1 - within / total, rel=1e-9)


# ----------------------------------------------------------------------------- linear probe

def test_logistic_fit_matches_sklearn():
    from sklearn.linear_model import LogisticRegression
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (300,), generator=g)
    x = torch.randn(300, 6, generator=g, dtype=torch.float64) + F.one_hot(y, 6).double()
    lam = 0.01
    w, b = probe.fit_logistic(x, y, 3, lam)
    ref = LogisticRegression(C=1 / (lam * len(x)), tol=1e-10, max_iter=10_000).fit(x.numpy(), y.numpy())
    ours = F.softmax(x @ w.T + b, 1).numpy()
    assert np.abs(ours - ref.predict_proba(x.numpy())).max() < 1e-5


def test_linear_probe_separates_separable_classes_and_not_noise():
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 4, (500,), generator=g)
    signal = torch.randn(500, 8, generator=g) + 4 * F.one_hot(y, 8).float()
    assert probe.linear_probe(signal[:300], y[:300], signal[300:], y[300:])["accuracy"] > 0.95
    noise = torch.randn(500, 8, generator=g)
    assert probe.linear_probe(noise[:300], y[:300], noise[300:], y[300:])["accuracy"] < 0.45


# ----------------------------------------------------------------------------- attacks

def linear_model(seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(3, 12, generator=g)
    return (lambda x: x.flatten(1) @ w.T), w


def test_fgsm_is_a_step_along_the_sign_of_the_gradient():
    f, w = linear_model()
    x = torch.full((2, 1, 3, 4), 0.5)
    y = torch.tensor([0, 2])
    p = F.softmax(f(x).double(), 1)
    grad = (p - F.one_hot(y, 3).double()) @ w.double()  # d CE / d x of a linear model
    assert torch.allclose(attacks.fgsm(f, x, y, 0.1).flatten(1), (0.5 + 0.1 * grad.sign()).float())


def test_pgd_stays_in_the_ball_and_beats_a_linear_model():
    f, _ = linear_model()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 3, 4, generator=g)
    y = f(x).argmax(1)
    adv = attacks.pgd(f, x, y, 0.3, steps=20, generator=torch.Generator().manual_seed(1))
    assert (adv - x).abs().max() <= 0.3 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert attacks.accuracy_on(f, x, y) == 1.0
    assert attacks.accuracy_on(f, adv, y) < attacks.accuracy_on(f, attacks.pgd(f, x, y, 0.05, steps=20), y) < 1.0
    with pytest.raises(ValueError, match="steps"):
        attacks.pgd(f, x, y, 0.1, steps=0)


@pytest.mark.parametrize("augment", ["none", "shift2", "cifar", "alexnet"])
def test_the_attacks_test_view_is_prepare_batch_at_test_time(augment):
    x = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    ours = aug.test_view(x.float() / 255, augment)
    assert torch.allclose(ours, aug.prepare_batch(x, augment, False, None), atol=1e-4)


# ----------------------------------------------------------------------------- a class subset

def test_a_class_subset_keeps_those_classes_relabelled(tmp_path, monkeypatch):
    from test_data import write_idx
    d = tmp_path / "debian"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("train", 120), ("t10k", 30)):
        write_idx(d / f"{name}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(d / f"{name}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", d)
    root = tmp_path / "root"
    full = data.load("fashion_mnist", root=root, n_val=20)
    part = data.load("fashion_mnist", root=root, n_val=20, classes=(7, 2), n_train=10)
    assert part.classes == (full.classes[7], full.classes[2])
    assert sorted(set(part.train.y.tolist())) == [0, 1] and len(part.train) == 10
    assert part.test.y.tolist() == [1, 0, 1, 0, 1, 0]
    # the validation images are those of the full split in those classes, the training images too
    keep = (full.val.y == 7) | (full.val.y == 2)
    assert torch.equal(part.val.x, full.val.x[keep])
    assert torch.equal(part.val.y, (full.val.y[keep] == 2).long())
    flat = lambda s: {bytes(x.numpy()) for x in s.x}
    assert flat(part.train) <= flat(full.train)
    with pytest.raises(ValueError, match="10 classes"):
        data.load("fashion_mnist", root=root, n_val=20, classes=(3, 10))


def test_classes_config_is_checked_and_keeps_old_digests():
    cfg = TrainConfig(model="fcn", dataset="fashion_mnist")
    assert cfg.with_(classes=()).digest() == cfg.digest()
    assert cfg.with_(classes=(0, 1)).digest() != cfg.digest()
    assert TrainConfig.from_dict(cfg.with_(classes=(3, 1)).to_dict()).classes == (3, 1)
    for bad in [(1,), (1, 1), (-1, 2), (True, 2)]:
        with pytest.raises(ValueError, match="classes="):
            cfg.with_(classes=bad)

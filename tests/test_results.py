import pytest

from lsnb import results
from lsnb.results import Claim


def test_scorecard_lists_every_claim_of_every_chapter(tmp_path):
    results.write_chapter_results("02_b", "2. B", "profile='cpu'", [Claim("c2", "p2", "o2", "differs", "why")], {},
                                  tmp_path)
    results.write_chapter_results("01_a", "1. A", "profile='smoke'", [Claim("c|1", "p1", "o1", "agrees")],
                                  {"x": [1, 2]}, tmp_path)
    text = results.render_scorecard(tmp_path)
    assert text.index("## 1. A") < text.index("## 2. B")
    assert "| c\\|1 | p1 | o1 | agrees |" in text
    assert "| c2 | p2 | o2 | differs (why) |" in text
    assert "Run: profile='smoke'" in text


def test_claim_verdicts_are_checked():
    with pytest.raises(ValueError, match="verdict="):
        Claim("c", "p", "o", "roughly")


def test_cli(tmp_path, capsys):
    assert results.main([str(tmp_path), str(tmp_path / "out.md")]) == 1
    assert "execute the chapters first" in capsys.readouterr().err
    results.write_chapter_results("01_a", "1. A", "s", [Claim("c", "p", "o", "agrees")], {}, tmp_path)
    assert results.main([str(tmp_path), str(tmp_path / "out.md")]) == 0
    assert "| c | p | o | agrees |" in (tmp_path / "out.md").read_text()
    assert results.main([]) == 2


def test_verdicts_weigh_differences_against_seed_noise():
    from lsnb.metrics import difference_and_noise
    diff, noise = difference_and_noise([1.0, 1.2, 1.1], [0.5, 0.7, 0.6])
    assert diff == pytest.approx(0.5) and noise == pytest.approx(2 * (2 * 0.01 / 3) ** 0.5)
    assert results.verdict(diff, noise) == "agrees" and results.verdict(-diff, noise) == "differs"
    assert results.verdict(0.05, noise) == "within noise"
    # single values borrow a spread measured elsewhere; without one the margin is 0
    assert difference_and_noise([2.0], [1.0], spread=1.0) == pytest.approx((1.0, 2 * 2 ** 0.5))
    assert difference_and_noise([2.0], [1.0]) == (1.0, 0.0)
    Claim("c", "p", "o", "within noise")

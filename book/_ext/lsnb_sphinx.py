"""The book's own Sphinx settings that _config.yml cannot express.

* Figures carry the name of the paper's figure they reproduce in their caption ("Paper
  Figure 2: ..."). Sphinx would also number every figure through the whole book ("Fig. 6"),
  numbers that clash with the paper's (the paper's Figure 1 would be the book's Fig. 4), so
  figures get no number: they are referred to with ``{ref}`` and a title, never ``{numref}``
  (a ``{numref}`` to a figure fails the strict build). Equations keep their book-wide numbers.
* One citation style: the text cites author-year (``bibtex_reference_style: author_year``,
  "[Müller et al., 2019]" with ``{cite:p}``, "Müller et al. [2019]" with ``{cite:t}``), and the
  reference list is labelled and sorted the same way (the pybtex style ``lsnb_author_year``,
  chosen by ``bibtex_default_style``) instead of pybtex's default "[MullerKH19]".
"""
from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearTitleSorting


def drop_figure_numbers(app, env):
    """After Sphinx has numbered the enumerable nodes (event ``env-get-updated``), forget the figures'."""
    for numbers in env.toc_fignumbers.values():
        numbers.pop("figure", None)
    return []


def _surname(person) -> str:
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


class AuthorYearLabels(BaseLabelStyle):
    """Labels as the text cites: "Barber and Agakov, 2003", "Müller et al., 2019"."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [_surname(p) for p in people]
            who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2
                   else f"{names[0]} et al." if names else entry.fields.get("title", entry.key))
            yield f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    """pybtex's unsrt entries, labelled by :class:`AuthorYearLabels`, sorted by author, year, title."""

    default_label_style = AuthorYearLabels
    default_sorting_style = AuthorYearTitleSorting


def setup(app):
    register_plugin("pybtex.style.formatting", "lsnb_author_year", AuthorYearStyle)
    app.connect("env-get-updated", drop_figure_numbers, priority=900)  # after Sphinx's own collector (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

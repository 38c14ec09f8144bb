"""The verb and the noun of a step description, and top-K vocabularies of them.

VideoBERT (Sun et al. 2019, sec. 4.2) labels YouCook2's segments by running "an off-the-shelf
part-of-speech tagger on the ground truth captions to retrieve the 100 most common nouns and 45
most common verbs". No tagger model can be fetched at run time here (NLTK's and spaCy's are
separate downloads), so this module is a **rule-based stand-in** that needs no model, written
for YouCook2's sentences, which are imperative instructions ("add the chopped onions to the
pan"):

- **verb**: the first word, after leading connectives and adverbs ("then", "now", "gently",
  any "-ly" word); none when that word is a determiner, pronoun or preposition (a sentence that
  is not an instruction, "the chicken is fried");
- **noun**: the head (last word) of the first noun phrase after the verb, a noun phrase being a
  run of words that are not function words, numbers or "-ly" adverbs, and singularised
  ("onions" -> "onion"). A measure followed by "of" gives way to what it measures ("2 cups
  of flour" -> "flour", "a pinch of salt" -> "salt").

It has no dictionary, so a word is not known to be a noun: "stir fry the vegetables" gives
(stir, fry). On YouCook2's short instructions such slips are rare, and a step whose verb or
noun is not among the K most common is left out of classification and counted (see
``youcook2``), so an odd parse falls out rather than becoming a class.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

DEFAULT_VERBS = 45  # the paper's vocabulary sizes
DEFAULT_NOUNS = 100


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TOKEN = re.compile(r"[a-z]+(?:['-][a-z]+)*|\d+(?:[./]\d+)*|[^\sa-z\d]")

# Words that open an instruction before its verb.
_LEAD = _words("""
then now next first second third finally lastly also again just and so afterwards
meanwhile here please simply still""")

# Words that are never part of a noun phrase (and cannot be the verb of an instruction).
_FUNCTION = _words("""
a an the this that these those some any each every all both either neither another other
more most much many few little less several such no
my your his her its our their it them they we you i he she me us him one ones
in on into onto over under out up down off of at by for from with without to as about
through around across along between inside outside onto near top bottom together apart
back away aside until till while when where before after again once
and or but nor so then than if because also too very well really just now here there
is are was were be been being am will would should could can may might must shall do does
did done has have had let get gets make sure using use
""")

# Measures: "<measure> of X" names X.
_MEASURES = _words("""
cup tablespoon teaspoon tbsp tsp pinch piece slice bit handful amount spoon spoonful dash
drizzle splash bunch clove sprinkle layer lot half quarter pound ounce oz gram kg g ml liter
litre can sheet strip stick drop touch couple knob sprig head stalk portion serving part
""")

_IRREGULAR = {"leaves": "leaf", "halves": "half", "knives": "knife", "loaves": "loaf",
              "shelves": "shelf", "calves": "calf", "teeth": "tooth", "feet": "foot",
              "children": "child", "geese": "goose", "mice": "mouse"}
_IE_PLURALS = _words("cookies brownies veggies smoothies pies calories goodies ties")
_SAME = _words("""
hummus asparagus couscous molasses swiss grits series species chaos bass citrus octopus
cactus lotus tofu sushi pasta rice""")


def tokens(sentence: str) -> list[str]:
    """Lower-cased words, numbers and punctuation marks, in order."""
    return _TOKEN.findall(sentence.lower())


def singular(word: str) -> str:
    """A plural noun's singular by English spelling rules ("tomatoes" -> "tomato",
    "berries" -> "berry", "slices" -> "slice"); other words unchanged."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in _SAME or len(word) < 4 or not word.endswith("s"):
        return word
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-1] if word in _IE_PLURALS else word[:-3] + "y"
    if word.endswith(("oes", "ches", "shes", "xes", "sses", "zzes")):
        return word[:-2]
    return word[:-1]


def _is_word(token: str) -> bool:
    return token[0].isalpha()


def _adverb(token: str) -> bool:
    return token.endswith("ly") and len(token) > 4


def _content(token: str) -> bool:
    return _is_word(token) and token not in _FUNCTION and not _adverb(token)


def _phrases(words: list[str]) -> Iterable[tuple[str, int]]:
    """``(head, index after the phrase)`` of each noun phrase, left to right."""
    i = 0
    while i < len(words):
        if not _content(words[i]):
            i += 1
            continue
        j = i
        while j + 1 < len(words) and _content(words[j + 1]):
            j += 1
        yield words[j], j + 1
        i = j + 1


def verb_noun(sentence: str) -> tuple[str | None, str | None]:
    """``(verb, noun)`` of an instruction, either None when the rules find none (see the
    module docstring)."""
    words = tokens(sentence)
    i = 0
    while i < len(words) and (words[i] in _LEAD or _adverb(words[i]) or not _is_word(words[i])):
        i += 1
    if i == len(words) or words[i] in _FUNCTION:
        return None, None
    verb, rest = words[i], words[i + 1 :]
    for head, after in _phrases(rest):
        noun = singular(head)
        if noun in _MEASURES and after < len(rest) and rest[after] == "of":
            continue  # "2 cups of flour": the next phrase is what is measured
        return verb, noun
    return verb, None


def top_k(counts: Counter[str], k: int) -> list[str]:
    """The ``k`` most frequent labels, ties broken alphabetically (the same list every run)."""
    return [label for label, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]

"""Captioning figures with the standard COCO caption evaluation code (``pycocoevalcap``).

BLEU-3, BLEU-4, METEOR, ROUGE-L and CIDEr, computed exactly as ``COCOEvalCap.evaluate`` does:
captions are lower-cased and tokenised by the Stanford PTB tokenizer (punctuation removed),
then scored by pycocoevalcap's own ``Bleu(4)``, ``Meteor``, ``Rouge`` and ``Cider``. Values are
on pycocoevalcap's scale: BLEU/METEOR/ROUGE-L in [0, 1], CIDEr in [0, 10] (papers often print
them x100). SPICE is not computed (it downloads Stanford CoreNLP models at run time).

Java: the PTB tokenizer and METEOR 1.5 are Java programs whose jars ship inside the
pycocoevalcap wheel (nothing is downloaded). Without a working ``java`` on PATH we raise
:class:`JavaNotFoundError` rather than return partial figures: tokenisation needs Java too, so
numbers computed without it would not be comparable with anyone else's.

CIDEr's document frequencies come from the references of the evaluated set itself, so it is
only meaningful over many items (with a single item every n-gram has IDF 0 and CIDEr is 0).

Micro and macro, as YouCook2's leaderboard reports them (``Yc2cEval`` of its evaluation code):
**micro** scores all segments as one corpus (what ``evaluate`` returns); **macro** scores each
video's segments as a corpus of their own (CIDEr's document frequencies from that video's
references alone) and averages those scores over the videos (``evaluate_grouped``).

Use :func:`caption_metrics` for one evaluation, or :class:`CaptionScorer` as a context manager
to keep one METEOR process (about 7 s to start, 2 GB heap) across several evaluations.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

METRIC_NAMES = ("BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr")
JAVA_HINT = "install a Java runtime (Debian/Ubuntu: apt-get install default-jre-headless)"


class JavaNotFoundError(RuntimeError):
    """``java`` is missing or broken; pycocoevalcap's tokenizer and METEOR need it."""


@functools.lru_cache(maxsize=1)
def java_version() -> str:
    """First line of ``java -version``; raises :class:`JavaNotFoundError` if Java is unusable."""
    java = shutil.which("java")
    if java is None:
        raise JavaNotFoundError(
            "caption metrics need `java` on PATH (pycocoevalcap's PTB tokenizer and METEOR "
            f"are Java programs); {JAVA_HINT}"
        )
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise JavaNotFoundError(f"`{java} -version` failed: {err}; {JAVA_HINT}") from None
    text = (done.stderr or done.stdout).strip()
    if done.returncode != 0:
        raise JavaNotFoundError(f"`{java} -version` exited {done.returncode}: {text}; {JAVA_HINT}")
    return text.splitlines()[0] if text else "java"


def _tokenizer_module():
    try:
        from pycocoevalcap.tokenizer import ptbtokenizer
    except ImportError as err:
        raise ImportError(
            "caption metrics need the `pycocoevalcap` package: pip install pycocoevalcap"
        ) from err
    return ptbtokenizer


def ptb_tokenize(captions: Mapping[Hashable, Sequence[str]]) -> dict[Hashable, list[str]]:
    """Tokenise like pycocoevalcap's ``PTBTokenizer.tokenize`` (same jar, flags, punctuation).

    Differences, none of which changes a token: the input is ``{id: [caption, ...]}`` (plain
    strings, not ``{"caption": ...}`` dicts); the temporary file goes to the system temp
    folder, not into site-packages (which may be read-only); every run of whitespace,
    including vertical tab, form feed and Unicode line separators that Java would treat as a
    line break, becomes one space, so each caption stays on exactly one line.
    """
    java_version()
    ptb = _tokenizer_module()
    jar = Path(ptb.__file__).with_name(ptb.STANFORD_CORENLP_3_4_1_JAR)
    ids = [key for key, caps in captions.items() for _ in caps]
    lines = [" ".join(str(c).split()) for caps in captions.values() for c in caps]
    if not lines:
        return {key: [] for key in captions}
    fd, tmp = tempfile.mkstemp(prefix="ptb-", suffix=".txt")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write("\n".join(lines).encode("utf-8"))
        cmd = ["java", "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer"]
        done = subprocess.run(
            [*cmd, "-preserveLines", "-lowerCase", tmp], capture_output=True, check=False
        )
    finally:
        os.remove(tmp)
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise RuntimeError(f"PTB tokenizer ({jar.name}) exited {done.returncode}: {err}")
    out = done.stdout.decode("utf-8", "replace").split("\n")
    if len(out) < len(lines) or any(line.strip() for line in out[len(lines) :]):
        raise RuntimeError(
            f"PTB tokenizer returned {len(out)} lines for {len(lines)} captions; "
            "cannot match its output to the captions"
        )
    tokenized: dict[Hashable, list[str]] = {key: [] for key in captions}
    for key, line in zip(ids, out, strict=False):
        words = [w for w in line.rstrip().split(" ") if w not in ptb.PUNCTUATIONS]
        tokenized[key].append(" ".join(words))
    return tokenized


@dataclasses.dataclass
class CaptionEvaluation:
    """Corpus-level figures (``METRIC_NAMES``) and the same figures for every item id."""

    corpus: dict[str, float]
    per_item: dict[Hashable, dict[str, float]]


@dataclasses.dataclass
class GroupedEvaluation:
    """Micro (every item as one corpus) and macro (the mean over groups of each group's own
    corpus score) figures, and each group's."""

    micro: CaptionEvaluation
    macro: dict[str, float]
    per_group: dict[Hashable, dict[str, float]]


class CaptionScorer:
    """Holds one METEOR process; use as ``with CaptionScorer() as s: s.evaluate(refs, cands)``.

    The process is started on first use and always ended by :meth:`close` (also called on
    leaving the ``with`` block), even when scoring fails half-way.
    """

    def __init__(self) -> None:
        self._meteor: Any = None

    def __enter__(self) -> CaptionScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def evaluate(
        self, references: Mapping[Hashable, Sequence[str]], candidates: Mapping[Hashable, str],
        meteor: bool = True,
    ) -> CaptionEvaluation:
        """Score ``candidates[id]`` against ``references[id]`` (one or more strings) per id.

        ``meteor=False`` leaves METEOR out (its figures are NaN): its JVM takes seconds to
        start, which a quick figure of BLEU and CIDEr need not pay.
        """
        refs, cands = self._validated(references, candidates)
        if meteor:
            self._start_meteor()  # the JVM loads its paraphrase table while we tokenise
        return self._scored(ptb_tokenize(refs), ptb_tokenize(cands), meteor)

    def evaluate_grouped(
        self, references: Mapping[Hashable, Sequence[str]], candidates: Mapping[Hashable, str],
        groups: Mapping[Hashable, Hashable],
    ) -> GroupedEvaluation:
        """Micro and macro figures; ``groups[id]`` is the item's group (its video). Tokenised
        once for all groups: a Java start per video would cost more than the scoring."""
        refs, cands = self._validated(references, candidates)
        missing = [k for k in cands if k not in groups]
        if missing:
            raise ValueError(f"{len(missing)} candidate id(s) have no group (first: "
                             f"{missing[:5]})")
        self._start_meteor()
        gts, res = ptb_tokenize(refs), ptb_tokenize(cands)
        members: dict[Hashable, list[Hashable]] = {}
        for key in gts:
            members.setdefault(groups[key], []).append(key)
        per_group = {group: self._scored({k: gts[k] for k in keys},
                                         {k: res[k] for k in keys}).corpus
                     for group, keys in members.items()}
        macro = {name: sum(g[name] for g in per_group.values()) / len(per_group)
                 for name in METRIC_NAMES}
        return GroupedEvaluation(self._scored(gts, res), macro, per_group)

    def _scored(self, gts: dict[Hashable, list[str]], res: dict[Hashable, list[str]],
                meteor: bool = True) -> CaptionEvaluation:
        """pycocoevalcap's scorers on tokenised references and candidates."""
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge

        bleu, bleu_items = Bleu(4).compute_score(gts, res, verbose=0)
        meteor_score, meteor_items = (self._meteor_score(gts, res) if meteor
                                      else (float("nan"), [float("nan")] * len(gts)))
        rouge, rouge_items = Rouge().compute_score(gts, res)
        cider, cider_items = Cider().compute_score(gts, res)
        corpus = {
            "BLEU-3": bleu[2],
            "BLEU-4": bleu[3],
            "METEOR": meteor_score,
            "ROUGE-L": rouge,
            "CIDEr": cider,
        }
        columns = {
            "BLEU-3": bleu_items[2],
            "BLEU-4": bleu_items[3],
            "METEOR": meteor_items,
            "ROUGE-L": rouge_items,
            "CIDEr": cider_items,
        }
        per_item = {
            key: {name: float(columns[name][i]) for name in METRIC_NAMES}
            for i, key in enumerate(gts)
        }
        return CaptionEvaluation({k: float(v) for k, v in corpus.items()}, per_item)

    def close(self) -> None:
        """End the METEOR process (if any) and release its pipes."""
        meteor, self._meteor = self._meteor, None
        if meteor is None:
            return
        proc = meteor.meteor_p
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):  # stdin may report a broken pipe
                    pipe.close()
        if meteor.lock.locked():  # a failure mid-score left it held; Meteor.__del__ takes it
            meteor.lock.release()

    @staticmethod
    def _validated(
        references: Mapping[Hashable, Sequence[str]], candidates: Mapping[Hashable, str]
    ) -> tuple[dict[Hashable, list[str]], dict[Hashable, list[str]]]:
        """Check the inputs; return them in pycocoevalcap's ``{id: [str, ...]}`` form."""
        if not candidates:
            raise ValueError("no candidate captions to score")
        missing = [k for k in candidates if k not in references]
        extra = [k for k in references if k not in candidates]
        if missing or extra:
            raise ValueError(
                f"references and candidates must have the same ids; {len(missing)} candidate "
                f"id(s) lack references (first: {missing[:5]}), {len(extra)} reference id(s) "
                f"lack a candidate (first: {extra[:5]})"
            )
        refs: dict[Hashable, list[str]] = {}
        for key in candidates:
            value = references[key]
            group = [value] if isinstance(value, str) else list(value)
            if not group or not all(isinstance(r, str) for r in group):
                raise ValueError(f"references[{key!r}] must be a non-empty list of strings")
            refs[key] = group
        cands = {}
        for key, value in candidates.items():
            if not isinstance(value, str):
                raise ValueError(
                    f"candidates[{key!r}] must be one string, got {type(value).__name__}"
                )
            cands[key] = [value]
        return refs, cands

    def _start_meteor(self) -> None:
        if self._meteor is None:
            java_version()
            from pycocoevalcap.meteor.meteor import Meteor

            self._meteor = Meteor()

    def _meteor_score(
        self, gts: dict[Hashable, list[str]], res: dict[Hashable, list[str]]
    ) -> tuple[float, list[float]]:
        self._start_meteor()
        try:
            score, scores = self._meteor.compute_score(gts, res)
        except (ValueError, OSError) as err:  # the jar died or printed something unexpected
            proc = self._meteor.meteor_p
            proc.kill()  # so reading its stderr below cannot block
            proc.wait()
            stderr = proc.stderr.read().decode("utf-8", "replace").strip()[-2000:]
            self.close()
            raise RuntimeError(
                f"METEOR (pycocoevalcap meteor-1.5.jar) failed: {err}; its stderr: {stderr}"
            ) from err
        return float(score), [float(s) for s in scores]


def caption_metrics(
    references: Mapping[Hashable, Sequence[str]], candidates: Mapping[Hashable, str]
) -> dict[str, float]:
    """``{"BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"}`` of candidates vs references.

    references: ``{id: [reference caption, ...]}`` (a single string is accepted too).
    candidates: ``{id: generated caption}``, with exactly the ids of ``references``.
    """
    with CaptionScorer() as scorer:
        return scorer.evaluate(references, candidates).corpus

"""The Python API on raw video: a trained model folder, then a video in, answers out.

    from videobert.api import Pipeline
    pipe = Pipeline.from_pretrained("demo_out/runs/full/model")
    pipe.classify("cooking.mp4", verbs=["cut", "fry"], nouns=["egg", "onion"], window=3.0)
    pipe.storyboard("fry the egg").words        # visual words the model imagines
    pipe.caption("cooking.mp4", window=3.0)     # needs MODEL/captioner (make demo saves one)
    pipe.summarize("cooking.mp4").steps         # key steps: span, caption, representative clip
    pipe.qa("cooking.mp4", "what is being cut?", choices=["egg", "onion"]).answer
    pipe.embed(text="fry the egg"), pipe.embed(video="cooking.mp4")

A ``video`` is a file path, an open PyAV container (its file is read), or clips already decoded
(uint8 ``(n_clips, frames, H, W, 3)``, a NumPy array or a torch tensor).
Decoding, features and the assignment to visual words use the settings the model's codebook
recorded (clip grid, backbone, weights, input size, normalisation), exactly as
``videobert prepare`` does: the words of a file are the words ``prepare`` writes for it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

Video = Any  # a path, a PyAV input container, or uint8 clips (NumPy or torch)


@dataclasses.dataclass(frozen=True)
class VideoWords:
    """A video's clips as visual words."""

    words: np.ndarray  # (n_clips,) int64 codebook indices
    clip_seconds: float
    # (n_clips, F) normalised clip features, for a model that reads them beside the words
    features: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)
    # (n_clips, F) the backbone's features as the features stage stores them (captioning)
    raw_features: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)
    # (n_clips, H, W, 3) uint8: each clip's middle frame (the index's thumbnails)
    thumbnails: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)

    def span(self, first: int, last: int) -> tuple[float, float]:
        return first * self.clip_seconds, (last + 1) * self.clip_seconds

    def window(self, first: int, last: int) -> VideoWords:
        """Clips ``first..last`` (inclusive), times measured from the first."""
        cut = slice(first, last + 1)
        def part(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[cut]

        return VideoWords(self.words[cut], self.clip_seconds, part(self.features),
                          part(self.raw_features), part(self.thumbnails))

    def clips(self, first: int = 0, last: int | None = None) -> Any:  # -> tasks.inputs.Clips
        from videobert.tasks.inputs import Clips

        w = self.window(first, len(self.words) - 1 if last is None else last)
        return Clips(tuple(int(x) for x in w.words), w.features)


@dataclasses.dataclass(frozen=True)
class Prediction:
    """Zero-shot verb and noun of one stretch of video, best first, with probabilities (a
    softmax over the candidates given)."""

    start: float  # seconds
    end: float
    verbs: list[tuple[str, float]]
    nouns: list[tuple[str, float]]

    @property
    def verb(self) -> str:
        return self.verbs[0][0]

    @property
    def noun(self) -> str:
        return self.nouns[0][0]


@dataclasses.dataclass(frozen=True)
class Caption:
    start: float  # seconds
    end: float
    text: str


@dataclasses.dataclass(frozen=True)
class Summary:
    """A video's key steps (``tasks.summarize.KeyStep``: span, caption, representative clip)
    with each step's thumbnail (the middle frame of its representative clip)."""

    steps: list[Any]
    duration: float  # seconds
    thumbnails: list[np.ndarray] = dataclasses.field(default_factory=list, repr=False)


@dataclasses.dataclass(frozen=True)
class Answer:
    """Answers to one question, best first, with probabilities (a softmax over the choices
    given; without choices, each word's probability in its ``[MASK]`` slot), and the stretch
    of video they were read from."""

    question: str
    kind: str  # tasks.qa.KINDS
    answers: list[tuple[str, float]]
    start: float
    end: float

    @property
    def answer(self) -> str:
        return self.answers[0][0]


def clip_spans(n: int, clip_seconds: float, window: float | None) -> list[tuple[int, int]]:
    """(first, last) clips of each stretch of ``window`` seconds; the whole video for None."""
    per = n if window is None else max(1, math.ceil(window / clip_seconds - 1e-9))
    return [(lo, min(n, lo + per) - 1) for lo in range(0, n, per)]


def _ranked(labels: Sequence[str], scores: np.ndarray, top_k: int) -> list[tuple[str, float]]:
    p = np.exp(scores - scores.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")[:top_k]
    return [(labels[i], float(p[i])) for i in order]


class Pipeline:
    """A model folder with everything needed to read new video (load it once, use it often)."""

    def __init__(self, model_dir: Path, model: Any, tokenizer: Any, device: str) -> None:
        from videobert.artifacts.codebook import CodebookFolder
        from videobert.prepare import recorded_settings
        from videobert.visual_words.hkmeans import Codebook

        self.model_dir, self.model, self.tokenizer = model_dir, model, tokenizer
        self.device = device
        self.codebook_folder = CodebookFolder.open(model_dir / "codebook")
        self.codebook = Codebook.load(model_dir / "codebook")
        self.ingest, self.features = recorded_settings(model_dir)
        self._backbone: Any = None
        self._captioner: Any = None

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | None = None) -> Pipeline:
        from videobert.cli_options import resolve_device
        from videobert.tasks.inputs import load_model_folder

        device = resolve_device(device)
        model, tokenizer, _ = load_model_folder(folder, device)
        return cls(Path(folder), model, tokenizer, device)

    # -- video -> visual words ------------------------------------------------------------------

    @property
    def backbone(self) -> Any:
        if self._backbone is None:  # built on first use: text-only calls never load I3D
            from videobert.features.backbones import build_backbone

            self._backbone = build_backbone(self.features.backbone, self.features.weights,
                                            self.features.size, self.device,
                                            self.features.motion,
                                            self.features.frame_stride)
        return self._backbone

    def clips(self, video: Video) -> np.ndarray:
        """uint8 ``(n_clips, frames, size, size, 3)`` clips on the model's clip grid."""
        if isinstance(video, torch.Tensor):
            video = video.detach().cpu().numpy()
        if not isinstance(video, np.ndarray | str | Path):
            name = getattr(video, "name", None)  # an av.container.InputContainer
            if not isinstance(name, str) or not Path(name).is_file():
                raise TypeError(f"a video is a path, a PyAV container of a file, or uint8 "
                                f"clips; got {type(video).__name__}")
            video = name
        if isinstance(video, np.ndarray):
            if video.ndim != 5 or video.dtype != np.uint8 or video.shape[-1] != 3:
                raise ValueError(f"clips must be uint8 (n_clips, frames, H, W, 3), got "
                                 f"{video.dtype} {video.shape}")
            return video
        from videobert.ingest.video import iter_clips

        grid = self.ingest
        clips = list(iter_clips(video, fps=grid.fps, clip_frames=grid.clip_frames,
                                size=self.features.size, crop=True,
                                min_last_clip=grid.min_last_clip))
        if not clips:
            raise ValueError(f"{video}: no clip of {grid.clip_frames} frames at {grid.fps:g} fps "
                             "could be decoded")
        return np.stack(clips)

    @torch.inference_mode()
    def clip_features(self, video: Video) -> np.ndarray:
        """``(n_clips, D)`` float32, rounded through float16 as the features stage stores them
        (so the words below equal ``prepare``'s)."""
        return self._features_of(self.clips(video))

    @torch.inference_mode()
    def _features_of(self, clips: np.ndarray) -> np.ndarray:
        from videobert.features.extract import forward_clips, resolve_precision

        device = torch.device(self.device)
        precision = resolve_precision(self.features.precision, device, self.features.size)
        size = self.features.batch_size
        rows = [forward_clips(self.backbone, torch.from_numpy(clips[i : i + size]), device,
                              precision) for i in range(0, len(clips), size)]
        return np.concatenate(rows).astype(np.float16).astype(np.float32)

    def clip_words(self, video: Video) -> VideoWords:
        from videobert.artifacts.features import normalize_video

        clips = self.clips(video)
        feats = self._features_of(clips)
        normalized = normalize_video(feats, self.codebook_folder.normalize,
                                     self.codebook_folder.blocks)
        words = self.codebook.assign(normalized)
        reads = self.model.config.clip_feature_dim
        return VideoWords(np.asarray(words, np.int64), self.ingest.clip_frames / self.ingest.fps,
                          normalized.astype(np.float16) if reads else None, feats,
                          clips[:, clips.shape[1] // 2].copy())

    # -- tasks ----------------------------------------------------------------------------------

    def classify(self, video: Video | VideoWords, verbs: Sequence[str], nouns: Sequence[str],
                 window: float | None = None, top_k: int = 5) -> list[Prediction]:
        """Zero-shot verb and noun, for the whole video (``window=None``) or for each stretch
        of ``window`` seconds (the prompt "now let me show you how to [MASK] the [MASK]")."""
        from videobert.tasks.inputs import appearance_view, motion_view
        from videobert.tasks.zero_shot import (
            DEFAULT_TEMPLATE,
            Template,
            appearance_width_of,
            candidate_pieces,
            score_candidates,
        )

        if not verbs or not nouns:
            raise ValueError("classify needs at least one verb and one noun")
        vw = video if isinstance(video, VideoWords) else self.clip_words(video)
        spans = clip_spans(len(vw.words), vw.clip_seconds, window)
        template = Template.parse(DEFAULT_TEMPLATE, self.tokenizer)
        verb_p = candidate_pieces(self.tokenizer, verbs, "verb")
        noun_p = candidate_pieces(self.tokenizer, nouns, "noun")
        clips = [vw.clips(lo, hi) for lo, hi in spans]
        width = appearance_width_of(self.model.config.clip_feature_dim,
                                    self.codebook_folder.blocks)
        if width and vw.features is not None:  # one stream per slot, as evaluate reads them
            verb_s, _ = score_candidates(self.model, template, verb_p, noun_p,
                                         [motion_view(c, width) for c in clips])
            _, noun_s = score_candidates(self.model, template, verb_p, noun_p,
                                         [appearance_view(c, width) for c in clips])
        else:
            verb_s, noun_s = score_candidates(self.model, template, verb_p, noun_p, clips)
        return [Prediction(*vw.span(lo, hi), _ranked(verbs, verb_s[i], top_k),
                           _ranked(nouns, noun_s[i], top_k))
                for i, (lo, hi) in enumerate(spans)]

    @property
    def can_caption(self) -> bool:
        from videobert.tasks.captioner import CAPTIONER_DIR

        return (self.model_dir / CAPTIONER_DIR / "config.json").is_file()

    def caption(self, video: Video | VideoWords, window: float | None = None) -> list[Caption]:
        """A sentence for the whole video (``window=None``) or for each stretch of ``window``
        seconds, from the captioner kept in the model folder (``MODEL/captioner``, which
        ``videobert evaluate --save-captioner`` and ``make demo`` write)."""
        self._load_captioner()  # before decoding: a model without one fails at once
        vw = video if isinstance(video, VideoWords) else self.clip_words(video)
        spans = clip_spans(len(vw.words), vw.clip_seconds, window)
        texts = self._caption_spans(vw, spans)
        return [Caption(*vw.span(lo, hi), text) for (lo, hi), text in zip(spans, texts,
                                                                           strict=True)]

    def _load_captioner(self) -> Any:
        from videobert.tasks.captioner import CAPTIONER_DIR, SavedCaptioner

        if self._captioner is None:
            self._captioner = SavedCaptioner.load(self.model_dir / CAPTIONER_DIR, self.device)
        return self._captioner

    def _caption_spans(self, vw: VideoWords, spans: Sequence[tuple[int, int]]) -> list[str]:
        from videobert.tasks.captioner import caption_spans

        if vw.raw_features is None:
            raise ValueError("caption needs the clips' features: pass a video, or the "
                             "VideoWords that clip_words(video) returns")
        return caption_spans(self._load_captioner(), self.model, self.tokenizer, vw.words,
                             vw.features, vw.raw_features, spans)

    def summarize(self, video: Video | VideoWords, max_steps: int | None = None,
                  penalty: float | None = None, verbs: Sequence[str] | None = None,
                  nouns: Sequence[str] | None = None) -> Summary:
        """The key steps of a video (``tasks.summarize``): where the model's clip embeddings
        change, each captioned by MODEL/captioner, or, without one, "VERB the NOUN" from
        zero-shot classification over ``verbs`` and ``nouns``."""
        from videobert.tasks.summarize import (
            DEFAULT_PENALTY,
            SummarizeConfig,
            summarize_clips,
            zero_shot_captioner,
        )

        if not self.can_caption and not (verbs and nouns):
            raise ValueError(f"{self.model_dir} has no captioner (MODEL/captioner): pass "
                             "verbs and nouns to caption the key steps zero-shot")
        vw = video if isinstance(video, VideoWords) else self.clip_words(video)
        clips = vw.clips()
        if self.can_caption:
            def caption(spans):
                return self._caption_spans(vw, spans)
        else:
            caption = zero_shot_captioner(self.model, self.tokenizer, clips, verbs, nouns)
        config = SummarizeConfig(penalty=DEFAULT_PENALTY if penalty is None else penalty,
                                 max_steps=max_steps)
        duration = len(vw.words) * vw.clip_seconds
        steps = summarize_clips(self.model, self.tokenizer, clips, vw.clip_seconds, caption,
                                config, duration)
        thumbs = [] if vw.thumbnails is None else [vw.thumbnails[s.frame_clip] for s in steps]
        return Summary(steps, duration, thumbs)

    def qa(self, video: Video | VideoWords, question: str,
           choices: Sequence[str] | None = None, top_k: int = 5,
           verbs: Sequence[str] | None = None) -> Answer:
        """Answer "what is being cut?", "what is done to the tomato?" or "what comes after
        you cut the tomato?" (``tasks.qa``): the most likely of ``choices`` (for the last
        kind, each "VERB the NOUN"), or without choices the most likely words (fill-in).
        ``verbs``: the verbs a participle may be of (default: undo the suffix rules)."""
        from videobert.tasks.qa import (
            choice_scores,
            fill_in,
            parse_question,
            reading,
            with_choices,
        )
        from videobert.tasks.summarize import SummarizeConfig, segment_video

        q = parse_question(question, verbs, self.tokenizer)
        vw = video if isinstance(video, VideoWords) else self.clip_words(video)
        clips = vw.clips()
        spans = (segment_video(self.model, self.tokenizer, clips, SummarizeConfig())[0]
                 if q.kind == "next" else None)
        read = reading(self.model, self.tokenizer, q, clips, spans)
        if choices:
            scores = choice_scores(self.model, [with_choices(self.tokenizer, q, read.cloze,
                                                             choices)])[0]
            answers = _ranked(list(choices), scores, len(choices))
        else:
            words = fill_in(self.model, self.tokenizer, [read.cloze], top_k)[0]
            if q.kind == "next":  # pairs of the top verbs and nouns, by joint probability
                pairs = [(f"{v} the {n}", pv * pn) for v, pv in words["verb"]
                         for n, pn in words["noun"]]
                answers = sorted(pairs, key=lambda a: -a[1])[:top_k]
            else:
                answers = words[q.kind]
        return Answer(question, q.kind, answers, *vw.span(read.first_clip, read.last_clip))

    def storyboard(self, text: str, n_words: int = 8) -> Any:
        """The visual words the model predicts after "now let me show you how to TEXT"
        (``.words``; ``videobert.tasks.text_to_video.render_generation`` draws them)."""
        from videobert.tasks.text_to_video import generate_visual_words
        from videobert.vocab import PROMPT

        return generate_visual_words(self.model, self.tokenizer, f"{PROMPT} {text}", n_words)

    def embed(self, text: str | None = None, video: Video | VideoWords | None = None
              ) -> np.ndarray:
        """A unit-length embedding (D,) of a sentence, a video, or both together: the mean
        last hidden state over the content tokens (what retrieval's embedding score uses)."""
        from videobert.tasks import inputs

        if text is None and video is None:
            raise ValueError("embed needs text, video or both")
        layout = self.model.layout
        text_ids = inputs.encode_text(self.tokenizer, text) if text is not None else None
        visual = None
        if video is not None:
            vw = video if isinstance(video, VideoWords) else self.clip_words(video)
            limit = inputs.max_length(self.model) - (len(text_ids or []) + 3)
            visual = vw.clips(0, min(len(vw.words), max(1, limit)) - 1)
        if visual is None:
            example = inputs.text_sequence(layout, text_ids)
        else:
            example = inputs.clips_sequence(layout, text_ids or [], visual)
        vector = inputs.pooled_states(self.model, [example])[0]
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    def search(self, text: str, index: Any, k: int = 5) -> list[Any]:
        """The ``k`` indexed windows closest to ``text`` (``index``: a ``videobert.index.
        ClipIndex`` or its folder; ``videobert index add`` builds one)."""
        from videobert.index import ClipIndex

        index = index if isinstance(index, ClipIndex) else ClipIndex.open(index)
        return index.search(self, text, k)

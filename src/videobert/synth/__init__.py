"""The built-in synthetic instructional-video dataset (the demo's data).

Multi-step "how-to" videos where each step is a verb (a motion over time) done to a noun (an
object told apart by appearance), with noisy ASR-like narration, ground truth, and a split whose
validation videos hold verb-noun combinations never seen in training. Entry point:
``videobert.synth.generate(out_dir)`` or ``videobert synth OUT``.
"""

from videobert.synth.dataset import SynthError, generate
from videobert.synth.nouns import NOUNS
from videobert.synth.plan import plan_dataset
from videobert.synth.verbs import VERBS

__all__ = ["NOUNS", "VERBS", "SynthError", "generate", "plan_dataset"]

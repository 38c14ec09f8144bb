"""Diagnostics that separate the causes when a figure sits at chance or at its baseline.

- ``oracle``: a codebook read off the ground truth (perfect visual words), to test the recipe
  apart from the features and the clustering;
- ``reliance``: how often the model's masked-word predictions change when its visual words are
  swapped for another step's or removed (does it read the video at all?);
- ``codebook_info``: purity and normalised mutual information of the visual words against the
  step labels, and a linear probe on bags of visual words beside the probe on raw features.
"""

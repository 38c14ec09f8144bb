"""Clip features: 3D-CNN backbones (I3D, S3D) and the sharded, resumable extraction stage.

Importing this package loads nothing heavy; import the submodules you need:
``videobert.features.backbones`` (``build_backbone``), ``videobert.features.extract``
(``run_features``), ``videobert.features.i3d`` (the PyTorch port of DeepMind's I3D).
"""

"""Typed readers and writers of the stage folders (docs/formats.md): a stage format is parsed
here and nowhere else."""

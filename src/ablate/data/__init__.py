"""Datasets, vocabularies and batching for ablate."""
